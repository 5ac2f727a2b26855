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

# llama.cpp's effective weight bytes per second ÷ the measured float32 rate, per type family.
# Calibrated in one run on random-weight llamas (bench/bench_speed_prediction.py).
EFFICIENCY_BY_FAMILY = {
    "F32": 1.0,
    "F16": 1.0,
    "BF16": 1.0,
    "Q8": 1.0,
    "Q6": 1.0,
    "Q5": 1.0,
    "Q4": 1.0,
    "IQ": 1.0,
    "other": 1.0,
}
# A token costs this much besides reading the weights (measured on stories260K: 1 MB of
# weights, about 1,800 tokens per second).
FIXED_SECONDS_PER_TOKEN = 0.0005
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
