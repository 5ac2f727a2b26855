"""The app's generation against llama.cpp's own `llama-bench`, in the same run (issue 18).

Run by hand, after bench/make_models.py (--size 0.5b and --size 1b) and building llama-bench from
the llama.cpp vendored in llama-cpp-python (bench/README.md, "Building llama.cpp's own tools"):

    .venv/bin/python bench/bench_llama_bench.py --llama-bench /tmp/llama/build/bin/llama-bench \
        [--models 0.5b 1b] [--rounds 3] [--threads 2]

Two checks, each round alternating the app and llama-bench so the machine's noise falls on both:

1. Decoding: tokens/s writing 128 tokens, flash attention on, same threads, same model, same
   weight layout (llama-bench's default, repacked): the app's engine (LlamaEngine.generate, with
   its detokenising, stop strings and callbacks) against `llama-bench -p 0 -n 128`. Goal: the
   app >= 0.97x.
2. A document question end to end: a 2,048-token prompt read from an empty cache and a 200-token
   answer, in the weight layout the app chooses for document questions (core.speed.layout),
   against the better of `llama-bench -pg 2048,200 --repack 0` and `--repack 1`. Goal: the app's
   time <= the better one's.

Prints a table per model and the machine's load (the foreign share of the CPUs) per round.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

from benchlib import (  # also puts the repo on sys.path
    BENCH_DIR,
    ForeignLoad,
    machine_line,
    markdown_table,
    quiet_llama_logs,
    wait_for_quiet,
)

from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.inference.prompt import plan_prompt
from localai_desktop.core.speed.layout import Work, measure_layouts

MODELS = {
    "0.5b": BENCH_DIR / "models" / "random-qwen2-0.5b-Q4_K_M.gguf",
    "1b": BENCH_DIR / "models" / "random-qwen2-1b-Q4_K_M.gguf",
}
DECODE_TOKENS = 128
DOC_PROMPT, DOC_ANSWER = 2048, 200


def llama_bench(binary: Path, model: Path, threads: int, *extra: str) -> float:
    """Average tokens/s of one llama-bench test (one repetition), flash attention on."""
    command = [str(binary), "-m", str(model), "-t", str(threads), "-fa", "on", "-r", "1"]
    command += ["-o", "json", *extra]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=1800)
    rows = json.loads(result.stdout)
    return float(rows[-1]["avg_ts"])


def app_decode(engine: LlamaEngine, round_number: int) -> float:
    """Tokens/s of the app's engine writing DECODE_TOKENS after a short prompt."""
    settings = GenerationSettings(max_tokens=DECODE_TOKENS + 1, temperature=0.0, seed=round_number)
    plan = _plan(engine, f"Round {round_number}: tell me a story.", settings.max_tokens)
    stats = engine.generate(plan, settings, lambda _text: None)
    if stats.completion_tokens < DECODE_TOKENS or stats.tokens_per_second is None:
        raise SystemExit(
            f"the model stopped after {stats.completion_tokens} tokens; use bench/make_models.py"
        )
    # The app's own figure (its speed line): tokens after the first over the time since the
    # first, decoding only, as llama-bench's -n test. (Counting the text pieces handed to the
    # window instead undercounts: stop-string checks hold some tokens back and join them.)
    return stats.tokens_per_second


def app_document_question(engine: LlamaEngine, round_number: int) -> float:
    """Seconds for a DOC_PROMPT-token question (empty cache) and a DOC_ANSWER-token answer."""
    words = "The ward guideline says the dose is checked twice before it is given. "
    tokens_per_copy = max(1, len(engine.tokenize(words)))
    text = f"Round {round_number}. " + words * (DOC_PROMPT // tokens_per_copy + 2)
    settings = GenerationSettings(max_tokens=DOC_ANSWER, temperature=0.0, seed=round_number)
    plan = _plan(engine, text, DOC_ANSWER, prompt_tokens=DOC_PROMPT)
    started = time.perf_counter()
    stats = engine.generate(plan, settings, lambda _text: None)
    seconds = time.perf_counter() - started
    if stats.completion_tokens < DOC_ANSWER - 1:
        raise SystemExit(f"the answer stopped at {stats.completion_tokens} tokens")
    return seconds


def _plan(engine: LlamaEngine, text: str, max_tokens: int, prompt_tokens: int | None = None) -> Any:
    loaded = engine.loaded
    assert loaded is not None
    plan = plan_prompt(
        [ChatTurn("user", text)],
        engine.formatter,
        engine.tokenize,
        n_ctx=loaded.n_ctx,
        max_tokens=max_tokens,
        bos_token_ids=engine.bos_token_ids,
    )
    if prompt_tokens is not None:
        # Exactly the prompt length llama-bench reads (the plan's beginning is cut, as chat does).
        from dataclasses import replace

        plan = replace(plan, tokens=plan.tokens[-prompt_tokens:])
    return plan


def bench(name: str, path: Path, binary: Path, threads: int, rounds: int) -> list[list[Any]]:
    workspace = Workspace.open(Path(tempfile.mkdtemp(prefix="bench-layout-")))
    model = workspace.registry.import_model(path, name=name, probe=False)
    choice = measure_layouts(model, work=Work.DOCUMENTS, threads=threads)
    plain = choice.plain_is_faster
    print(f"{name}: the app chooses {choice.describe()}", flush=True)
    rows: list[list[Any]] = []
    for round_number in range(rounds):
        wait_for_quiet(max_wait_s=30)
        load = ForeignLoad()
        bench_decode = llama_bench(binary, path, threads, "-p", "0", "-n", str(DECODE_TOKENS))
        engine = LlamaEngine(n_threads=threads, flash_attn=True)
        engine.load(path, n_ctx=DOC_PROMPT + DOC_ANSWER + 64)
        decode = app_decode(engine, round_number)
        engine.unload()
        engine.load(path, n_ctx=DOC_PROMPT + DOC_ANSWER + 64, plain_buffers=plain)
        document = app_document_question(engine, round_number)
        engine.unload()
        pg = f"{DOC_PROMPT},{DOC_ANSWER}"
        bench_doc = {
            repack: (DOC_PROMPT + DOC_ANSWER)
            / llama_bench(
                binary, path, threads, "-p", "0", "-n", "0", "-pg", pg, "--repack", repack
            )
            for repack in ("0", "1")
        }
        best = min(bench_doc.values())
        rows.append(
            [
                name,
                round_number + 1,
                f"{decode:.1f}",
                f"{bench_decode:.1f}",
                f"{decode / bench_decode:.3f}",
                f"{document:.2f}",
                f"{bench_doc['0']:.2f}",
                f"{bench_doc['1']:.2f}",
                f"{document / best:.3f}",
                f"{load.stop():.0%}",
            ]
        )
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    workspace.close()
    decode_ratios = [float(r[4]) for r in rows]
    doc_ratios = [float(r[8]) for r in rows]
    rows.append(
        [
            name,
            "median",
            "",
            "",
            f"{median(decode_ratios):.3f}",
            "",
            "",
            "",
            f"{median(doc_ratios):.3f}",
            "",
        ]
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llama-bench", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=["0.5b", "1b"], choices=sorted(MODELS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    quiet_llama_logs()
    print(machine_line())
    rows: list[list[Any]] = []
    for name in args.models:
        path = MODELS[name]
        if not path.is_file():
            raise SystemExit(f"missing {path}: run bench/make_models.py --size {name}")
        rows += bench(name, path, args.llama_bench, args.threads, args.rounds)
    header = [
        "model",
        "round",
        "app decode tok/s",
        "llama-bench tg tok/s",
        "ratio (goal >= 0.97)",
        "app doc question s",
        "llama-bench pg --repack 0 s",
        "--repack 1 s",
        "app / better (goal <= 1)",
        "foreign load",
    ]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
