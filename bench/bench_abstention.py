"""Precision and recall of the abstain rule's detector ("the documents do not say").

Runs core/documents/abstention.is_abstention on the hand-labelled answers of
tests/core/evaluation/abstention_set.py (abstaining in many phrasings, partial answers that then
abstain; answers that say "not" and still answer, and abstentions followed by a guess) and
prints precision and recall of "abstained". No model; well under a second.
Usage: python bench/bench_abstention.py [--misses]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localai_desktop.core.documents.abstention import is_abstention
from tests.core.evaluation.abstention_set import ABSTAINING, ANSWERING


def measure() -> tuple[float, float, list[str]]:
    """Precision and recall of "abstained" on the set, and each wrong verdict."""
    tp = fp = fn = 0
    misses: list[str] = []
    for answer in ABSTAINING:
        if is_abstention(answer):
            tp += 1
        else:
            fn += 1
            misses.append(f"missed abstention: {answer}")
    for answer in ANSWERING:
        if is_abstention(answer):
            fp += 1
            misses.append(f"false abstention: {answer}")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list each wrong verdict")
    args = parser.parse_args()
    precision, recall, misses = measure()
    print(f"{len(ABSTAINING)} abstaining and {len(ANSWERING)} answering answers")
    print("| detector | precision | recall | wrong |")
    print("|---|---|---|---|")
    print(f"| is_abstention | {precision:.2f} | {recall:.2f} | {len(misses)} |")
    if args.misses:
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
