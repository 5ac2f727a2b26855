"""Precision and recall of "unsupported" for the grounding check on a hand-labelled set.

Each sentence of bench/grounding_check_set.py is checked as one answer sentence citing its
passage, with every passage of its document among the sources (as retrieval would give them).
Printed as a Markdown table: by words alone (the GUI's chat worker) and with MiniLM (the CLI,
Evaluate). Usage: python bench/bench_grounding_check.py [--misses]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import SHARED_MODELS, machine_line
from bench.grounding_check_set import CORPORA, ITEMS
from localai_desktop.core.documents.embedder import Embedder
from localai_desktop.core.documents.sentence_support import Embed, check_answer


def evaluate(embed: Embed | None) -> tuple[dict[str, float], list[str]]:
    tp = fp = fn = tn = 0
    misses: list[str] = []
    started = time.perf_counter()
    for corpus, cited, sentence, supported, kind in ITEMS:
        sources = [{"n": i + 1, "text": t} for i, t in enumerate(CORPORA[corpus])]
        report = check_answer(f"{sentence} [{cited}]", sources, embed=embed)
        claims = report.claims
        flagged = bool(claims) and not claims[0].supported
        if flagged and not supported:
            tp += 1
        elif flagged and supported:
            fp += 1
            misses.append(f"false alarm ({kind}): {sentence} -- {claims[0].explanation}")
        elif not flagged and not supported:
            fn += 1
            misses.append(f"missed ({kind}): {sentence}")
        else:
            tn += 1
    seconds = time.perf_counter() - started
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "ms_per_sentence": 1000 * seconds / len(ITEMS),
    }, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list every wrong verdict")
    args = parser.parse_args()
    supported = sum(1 for item in ITEMS if item[3])
    print(machine_line())
    unsupported = len(ITEMS) - supported
    print(f"\n{len(ITEMS)} sentences: {supported} supported, {unsupported} unsupported\n")
    embedder = Embedder(SHARED_MODELS / "all-MiniLM-L6-v2-Q8_0.gguf")
    rows = [("words alone", None), ("words + MiniLM", embedder.embed_texts)]
    print(
        "| check | precision (unsupported) | recall (unsupported) "
        "| TP | FP | FN | TN | ms/sentence |"
    )
    print("|---|---|---|---|---|---|---|---|")
    all_misses: dict[str, list[str]] = {}
    for name, embed in rows:
        result, misses = evaluate(embed)
        all_misses[name] = misses
        print(
            f"| {name} | {result['precision']:.2f} | {result['recall']:.2f} | {result['tp']} | "
            f"{result['fp']} | {result['fn']} | {result['tn']} | {result['ms_per_sentence']:.1f} |"
        )
    embedder.close()
    if args.misses:
        for name, misses in all_misses.items():
            print(f"\n{name}:")
            for miss in misses:
                print(f"- {miss}")


if __name__ == "__main__":
    main()
