"""Predicted against measured decoding speed on the models this machine can run.

    .venv/bin/python bench/bench_speed_prediction.py [--tokens 64] [--rounds 3]

Models: stories260K (F32), and random-weight llamas made with tests/support/gguf_factory
(stories260K's vocabulary; rows of 512 to 1536; F16, Q8_0 and Q4_K_M; 20 MB to 600 MB) kept in
bench/models/, and any `--extra` files (the 0.5B, 1B and 3B Qwen2 shapes of make_models.py).
Per round: the app's machine measurement (core.speed.measurement), then each model decodes
`--tokens` tokens greedily after a 4-token prompt (llama-cpp-python, all cores, plain weight buffers
as the app loads K-quants on this VM, flash attention on). Prints the prediction
(core.speed.prediction) against the median measured tokens/s, and the efficiency per type family
that would make the prediction exact (the constants in prediction.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (
    BENCH_DIR,
    STORIES_260K,
    ForeignLoad,
    disable_extra_buffer_types,
    machine_line,
    markdown_table,
    quiet_llama_logs,
    save_json,
    wait_for_quiet,
)

SHAPES = {
    # name: (n_embd, n_layers, n_ff, types)
    "random-512x8": (512, 8, 1536, ("F16", "Q8_0", "Q4_K_M")),
    "random-1024x12": (1024, 12, 2816, ("Q8_0", "Q4_K_M")),
    "random-1536x16": (1536, 16, 4096, ("Q4_K_M",)),
}


def make_models() -> list[Path]:
    from tests.support import gguf_factory

    folder = BENCH_DIR / "models"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [STORIES_260K]
    for name, (n_embd, n_layers, n_ff, types) in SHAPES.items():
        f16 = folder / f"{name}-F16.gguf"
        if not f16.is_file():
            gguf_factory.write_random_llama(
                f16,
                tokenizer_from=STORIES_260K,
                n_embd=n_embd,
                n_layers=n_layers,
                n_head=n_embd // 64,
                n_head_kv=max(1, n_embd // 256),
                n_ff=n_ff,
                dtype="f16",
            )
        for quant in types:
            path = folder / f"{name}-{quant}.gguf"
            if quant != "F16" and not path.is_file():
                gguf_factory.quantize(f16, path, quant)
            paths.append(path)
    return paths


def decode_speed(path: Path, tokens: int) -> float:
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=512, n_threads=os.cpu_count(), flash_attn=True, verbose=False
    )
    try:
        prompt = llm.tokenize(b"Once upon a time", add_bos=True)[:4]
        stamps: list[float] = []
        for _token in llm.generate(prompt, temp=0.0):
            stamps.append(time.perf_counter())
            if len(stamps) >= tokens:
                break
        return (len(stamps) - 1) / (stamps[-1] - stamps[0])
    finally:
        llm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quiet-wait", type=float, default=15.0)
    parser.add_argument(
        "--extra",
        nargs="*",
        type=Path,
        default=[],
        help="more GGUF files to check, e.g. bench/models/random-qwen2-3b-Q4_K_M.gguf "
        "(bench/make_models.py --size 3b: a 1.9 GB file)",
    )
    args = parser.parse_args()
    from localai_desktop.core.models.gguf_info import read_gguf_info
    from localai_desktop.core.speed.measurement import measure_machine
    from localai_desktop.core.speed.prediction import (
        EFFICIENCY_BY_FAMILY,
        family_of,
        predict_tokens_per_second,
    )

    quiet_llama_logs()
    disable_extra_buffer_types()
    paths = make_models() + list(args.extra)
    print(machine_line())
    infos = {p: read_gguf_info(p) for p in paths}
    measured: dict[Path, list[float]] = {p: [] for p in paths}
    speeds, loads = [], []
    for _round in range(args.rounds):
        wait_for_quiet(max_wait_s=args.quiet_wait)
        load = ForeignLoad()
        speeds.append(measure_machine())
        for path in paths:
            measured[path].append(decode_speed(path, args.tokens))
        loads.append(load.stop())
        print(
            f"round {_round + 1}: {speeds[-1].bytes_per_second / 1e9:.2f} GB/s, "
            f"foreign load {loads[-1]:.0%}",
            flush=True,
        )
    rate = statistics.median(s.bytes_per_second for s in speeds)
    speed = speeds[0].__class__(rate, speeds[0].threads, "", 0.0)
    rows, results = [], []
    for path in paths:
        info = infos[path]
        got = statistics.median(measured[path])
        predicted = predict_tokens_per_second(info.file_size, info.quantization, speed)
        family = family_of(info.quantization)
        # The efficiency that would make this row exact (weights' share of the token's time).
        fixed = 1 / predicted - info.file_size / (rate * EFFICIENCY_BY_FAMILY[family])
        needed = info.file_size / (rate * max(1e-9, 1 / got - fixed))
        error = predicted / got - 1
        rows.append(
            [
                path.name,
                info.quantization,
                f"{info.file_size / 1e6:.1f}",
                f"{got:.1f}",
                f"{predicted:.1f}",
                f"{error:+.0%}",
                f"{needed:.2f}",
            ]
        )
        results.append({"file": path.name, "measured": got, "predicted": predicted})
    print(f"measured machine: {rate / 1e9:.2f} GB/s (median of {args.rounds})")
    print(
        markdown_table(
            ["model", "type", "MB", "tok/s measured", "tok/s predicted", "error", "efficiency"],
            rows,
        )
    )
    save_json("speed-prediction", {"rate": rate, "loads": loads, "rows": results})


if __name__ == "__main__":
    main()
