"""The evaluation's own overhead over plain generation of the same answers.

Both paths load stories260K, search the collection for the questions that name one, build the
same prompts and generate the same answers (same seed); the evaluation also scores each answer,
runs the grounding check, samples memory on a thread and commits each result to the database.
Rounds are interleaved (plain, evaluation, evaluation, plain, ...). Wall time and this process's
CPU time are both reported: the machine is shared, and CPU time is what the work itself costs.
Usage: python bench/bench_evaluation.py [--questions 20] [--max-tokens 128] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import (
    SHARED_MODELS,
    STORIES_260K,
    ForeignLoad,
    machine_line,
    markdown_table,
    median,
    quiet_llama_logs,
    save_json,
)
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.documents.grounding import ground_retrieved, retrieve
from localai_desktop.core.evaluation.runner import Evaluator
from localai_desktop.core.evaluation.store import EvalStore
from localai_desktop.core.evaluation.testset import TestQuestion, parse_jsonl
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.inference.prompt import plan_prompt
from tests.support import documents_support as docs


def questions(count: int) -> list[TestQuestion]:
    lines = []
    for i in range(count):
        if i % 2:
            lines.append(
                f'{{"id": "d{i}", "question": "How quickly are antibiotics given in sepsis? ({i})",'
                ' "collection": "Ward", "expect": {"contains": ["one hour"]},'
                ' "source": {"file": "guideline.pdf", "page": 7}}'
            )
        else:
            lines.append(
                f'{{"id": "p{i}", "question": "Tell me story {i}.",'
                ' "expect": {"contains": ["the"]}}'
            )
    return parse_jsonl("\n".join(lines))


def plain(
    chat: ChatService, ws: Workspace, qs: list[TestQuestion], settings: GenerationSettings
) -> int:
    """Generate the answers as the evaluation does, and nothing else."""
    engine = chat.engine
    engine.unload()
    model = ws.registry.get("st")
    n_ctx = chat.context_length_for(model, settings)
    chat.load_model(model, n_ctx)
    tokens = 0
    for q in qs:
        turns = [ChatTurn("user", q.question)]
        if q.collection:
            retrieval = retrieve(ws.documents, q.question, [q.collection])
            turns, _facts = ground_retrieved(
                turns,
                retrieval,
                tokenize=engine.tokenize,
                n_ctx=n_ctx,
                max_tokens=settings.max_tokens,
            )
        plan = plan_prompt(
            turns,
            engine.formatter,
            engine.tokenize,
            n_ctx=n_ctx,
            max_tokens=settings.max_tokens,
            bos_token_ids=engine.bos_token_ids,
        )
        pieces: list[str] = []
        stats = engine.generate(plan, settings, pieces.append)
        tokens += stats.completion_tokens
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    quiet_llama_logs()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as folder:
        ws = Workspace.open(Path(folder) / "data")
        ws.registry.import_model(
            SHARED_MODELS / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False
        )
        ws.registry.import_model(STORIES_260K, name="st", probe=False)
        ws.documents.create("Ward")
        pdf = docs.write_pdf(Path(folder) / "guideline.pdf", docs.GUIDELINE_PAGES)
        ws.documents.add_paths("Ward", [pdf])
        ws.documents.index("Ward")
        chat = ChatService(ws.conversations, ws.registry, LlamaEngine(), ws.adapters, ws.documents)
        evaluator = Evaluator(EvalStore(ws.db), ws.registry, ws.adapters, ws.documents, chat)
        qs = questions(args.questions)
        settings = GenerationSettings(max_tokens=args.max_tokens, seed=7)
        targets = evaluator.targets_for(["st"])
        plain(chat, ws, qs[:2], settings)  # warm both paths once
        samples: dict[str, list[tuple[float, float, float]]] = {"plain": [], "evaluation": []}
        order = ["plain", "evaluation"]
        for round_index in range(args.rounds):
            for path in order if round_index % 2 == 0 else order[::-1]:
                load = ForeignLoad()
                cpu0, t0 = time.process_time(), time.perf_counter()
                if path == "plain":
                    plain(chat, ws, qs, settings)
                else:
                    run = evaluator.prepare("bench", qs, targets, settings)
                    evaluator.run(run.id)
                wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                samples[path].append((wall, cpu, load.stop()))
        chat.engine.unload()
        ws.close()
    rows = []
    base_wall = median(s[0] for s in samples["plain"]) or 1.0
    base_cpu = median(s[1] for s in samples["plain"]) or 1.0
    for path, values in samples.items():
        wall = median(v[0] for v in values) or 0.0
        cpu = median(v[1] for v in values) or 0.0
        rows.append(
            [
                path,
                f"{wall:.2f}",
                f"{1000 * wall / len(qs):.0f}",
                f"{(wall / base_wall - 1) * 100:+.1f}%",
                f"{cpu:.2f}",
                f"{(cpu / base_cpu - 1) * 100:+.1f}%",
                f"{max(v[2] for v in values):.0%}",
            ]
        )
    print(
        f"\n{len(qs)} questions (half from the collection), up to {args.max_tokens} tokens each, "
        f"{args.rounds} rounds, medians:\n"
    )
    print(
        markdown_table(
            [
                "path",
                "wall s",
                "ms/answer",
                "wall vs plain",
                "CPU s",
                "CPU vs plain",
                "foreign load (max)",
            ],
            rows,
        )
    )
    save_json("evaluation_overhead", {"args": vars(args), "samples": samples})


if __name__ == "__main__":
    main()
