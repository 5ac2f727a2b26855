"""In-app quantizing (F16 -> Q4_K_M) against llama.cpp's own `llama-quantize`, same file, same run.

    .venv/bin/python bench/bench_quantize.py --llama-quantize /tmp/llama/build/bin/llama-quantize

Makes a random-weight F16 llama (rows of 1024, 12 layers, ~140M parameters, 280 MB) once in
bench/models/, then alternates: the app's `quantize_model` on a fresh data folder (the child
process: Python start, llama_model_quantize, then the check that the copy answers, then the
registry) and `llama-quantize SRC DST Q4_K_M` (same thread count: all cores, both). Reports the
time to a quantized file (app: from the call to the child's "quantized" event; llama-quantize:
the process's wall time) and, apart, the app's whole job with its check and registration.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (
    BENCH_DIR,
    STORIES_260K,
    ForeignLoad,
    fmt,
    machine_line,
    markdown_table,
    median,
    save_json,
    wait_for_quiet,
)


def make_source() -> Path:
    from tests.support import gguf_factory

    path = BENCH_DIR / "models" / "random-llama-140m-F16.gguf"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        gguf_factory.write_random_llama(
            path,
            tokenizer_from=STORIES_260K,
            n_embd=1024,
            n_layers=12,
            n_head=16,
            n_head_kv=4,
            n_ff=2816,
            dtype="f16",
            name="Random Llama 140M F16",
        )
    return path


def run_app(source: Path) -> tuple[float, float]:
    from localai_desktop.core.datafolder.workspace import Workspace
    from localai_desktop.core.quantize.runner import quantize_model

    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.open(Path(folder) / "data")
        try:
            model = workspace.registry.import_model(source, probe=False)
            quantized_at: list[float] = []

            def progress(stage: str, _done: int, _total: int) -> None:
                if stage == "checking" and not quantized_at:
                    quantized_at.append(time.perf_counter())

            started = time.perf_counter()
            quantize_model(workspace.registry, model.id, "Q4_K_M", progress=progress)
            ended = time.perf_counter()
        finally:
            workspace.close()
    return quantized_at[0] - started, ended - started


def run_llama_quantize(tool: Path, source: Path) -> float:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "out-Q4_K_M.gguf"
        started = time.perf_counter()
        subprocess.run(
            [str(tool), str(source), str(target), "Q4_K_M"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llama-quantize", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quiet-wait", type=float, default=15.0)
    parser.add_argument(
        "--source",
        type=Path,
        help="an F16 GGUF to quantize instead of the 273 MB one made here (the app's fixed "
        "cost, a Python child importing llama_cpp, about 0.2 s, weighs less on a real model)",
    )
    args = parser.parse_args()
    source = args.source or make_source()
    print(machine_line())
    print(f"source: {source.name}, {source.stat().st_size / 1e6:.0f} MB")
    rows: list[dict[str, float]] = []
    for round_no in range(args.rounds):
        order = ("app", "tool") if round_no % 2 == 0 else ("tool", "app")
        record: dict[str, float] = {}
        for which in order:
            wait_for_quiet(max_wait_s=args.quiet_wait)
            load = ForeignLoad()
            if which == "app":
                record["app_quantized_s"], record["app_total_s"] = run_app(source)
            else:
                record["tool_s"] = run_llama_quantize(args.llama_quantize, source)
            record[f"{which}_foreign_load"] = load.stop()
        record["ratio"] = record["app_quantized_s"] / record["tool_s"]
        rows.append(record)
        print(
            f"round {round_no + 1}: app {record['app_quantized_s']:.2f} s "
            f"(whole job {record['app_total_s']:.2f} s), llama-quantize {record['tool_s']:.2f} s, "
            f"ratio {record['ratio']:.3f}, foreign load {record['app_foreign_load']:.0%} / "
            f"{record['tool_foreign_load']:.0%}",
            flush=True,
        )
    table = [
        [
            "app: quantize_model, to the quantized file",
            fmt(median(r["app_quantized_s"] for r in rows), 2),
            fmt(median(r["ratio"] for r in rows), 3),
            f"{median(r['app_foreign_load'] for r in rows):.0%}",
        ],
        [
            "app: whole job (+ check that it answers, registry)",
            fmt(median(r["app_total_s"] for r in rows), 2),
            fmt(median(r["app_total_s"] / r["tool_s"] for r in rows), 3),
            "",
        ],
        [
            f"baseline: {args.llama_quantize.name} (same file, Q4_K_M)",
            fmt(median(r["tool_s"] for r in rows), 2),
            "1.000",
            f"{median(r['tool_foreign_load'] for r in rows):.0%}",
        ],
    ]
    print(
        markdown_table(["path", "seconds (median)", "÷ baseline (paired)", "foreign load"], table)
    )
    save_json("quantize", rows)


if __name__ == "__main__":
    main()
