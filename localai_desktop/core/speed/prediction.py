"""Tokens per second a model file will generate here, from its size and quantization.

Generating one token reads every weight once, so on a CPU it is bound by how fast memory
streams the weights: tokens/s ~ effective bytes per second / bytes of weights, plus a small
fixed cost per token (the graph, sampling). The measured rate (core.speed.measurement) is for
float32 matrix-vector products; llama.cpp's quantized kernels turn it into a different
effective rate per type family, calibrated on this kind of machine (bench/README.md, "Speed
predictions").
"""

from __future__ import annotations

from localai_desktop.core.models.quantization import normalize_quant
from localai_desktop.core.speed.measurement import MachineSpeed

# Answers slower than this are too slow to read along with: the recommendation stays above it.
MIN_USEFUL_TOKENS_PER_SECOND = 8.0

# llama.cpp's effective weight bytes per second ÷ the measured float32 rate, per type family, and
# what a token costs besides reading the weights. Fitted on a quiet machine (0-1% foreign load,
# 2026-12-04 21:35, AMD EPYC VM, 2 threads; bench/bench_speed_prediction.py, bench/README.md
# "Speed predictions") on random-weight llamas of 1-240 MB; then Q4 raised from 0.5 to 0.6: in the
# two quiet runs after the fit (21:45, and 23:11 with Qwen2-shaped 0.5B, 1B and 3B files of
# 0.4-1.9 GB added) every Q4 file of 80 MB and more came out 10-30% slow, the 3B one -30%. Tiny
# files (under 50 MB) stay far off (to -46%): a token's fixed costs dominate them and the machine
# measurement itself varies between runs (47, 33 and 37 GB/s). Q8 and Q4 were measured; F16 on one
# model; Q5, Q6 and IQ lie between Q4 and Q8 by their bytes per weight and are not measured.
EFFICIENCY_BY_FAMILY = {
    "F32": 0.87,
    "F16": 0.87,
    "BF16": 0.87,
    "Q8": 0.67,
    "Q6": 0.64,
    "Q5": 0.62,
    "Q4": 0.6,
    "IQ": 0.6,
    "other": 0.62,
}
FIXED_SECONDS_PER_TOKEN = 0.00035
# Without a measurement: what one core streams for llama.cpp, and the most that more cores
# add (memory channels, not cores, are then the limit). A typical desktop of 2020-2025.
ESTIMATED_BYTES_PER_SECOND_PER_CORE = 10e9
ESTIMATED_MAX_BYTES_PER_SECOND = 60e9


def family_of(quant: str) -> str:
    """ "Q4_K_M" -> "Q4", "IQ4_XS" -> "IQ", "F16" -> "F16"; "other" for unknown names."""
    name = normalize_quant(quant)
    if name in ("F32", "F16", "BF16"):
        return name
    if name.startswith("IQ"):
        return "IQ"
    if len(name) >= 2 and name[0] == "Q" and name[1].isdigit():
        family = name[:2]
        return family if family in EFFICIENCY_BY_FAMILY else "other"
    return "other"


def estimated_speed(cpu_cores: int) -> MachineSpeed:
    """A stand-in for a computer not measured yet: a typical rate for its number of cores."""
    cores = max(1, cpu_cores)
    rate = min(ESTIMATED_MAX_BYTES_PER_SECOND, cores * ESTIMATED_BYTES_PER_SECOND_PER_CORE)
    return MachineSpeed(rate, cores, "", 0.0)


def predict_tokens_per_second(file_bytes: int, quant: str, speed: MachineSpeed) -> float:
    """Tokens per second generating with this file on the CPU of the measured computer."""
    efficiency = EFFICIENCY_BY_FAMILY[family_of(quant)]
    seconds = max(0, file_bytes) / (speed.bytes_per_second * efficiency)
    return 1.0 / (seconds + FIXED_SECONDS_PER_TOKEN)


def is_useful_speed(tokens_per_second: float) -> bool:
    return tokens_per_second >= MIN_USEFUL_TOKENS_PER_SECOND


def describe_speed(tokens_per_second: float | None) -> str:
    """ "about 12 tokens/s", "about 3 tokens/s (slow)"; "—" when unknown."""
    if tokens_per_second is None:
        return "—"
    shown = f"{tokens_per_second:.0f}" if tokens_per_second >= 10 else f"{tokens_per_second:.1f}"
    slow = "" if is_useful_speed(tokens_per_second) else " (slow)"
    return f"about {shown} tokens/s{slow}"


def predicted_speed(
    file_bytes: int, quant: str, verdict: str, speed: MachineSpeed, *, embedding: bool = False
) -> float | None:
    """Tokens/s for a file with this fit verdict; None where it is not predicted.

    Only CPU runs are predicted (the measurement is of the CPU and its memory); an embedding
    model does not generate, and a file too large for this computer does not run at all.
    """
    if embedding or verdict != "cpu":
        return None
    return predict_tokens_per_second(file_bytes, quant, speed)
