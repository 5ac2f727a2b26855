"""Quantization names: read them from GGUF file names and rank them from smallest to best."""

from __future__ import annotations

import re

# From the fewest bits per weight to the most, which is also from lowest to highest quality.
# Names within one bit width follow llama.cpp's own size order (quantize --help).
QUANT_ORDER: tuple[str, ...] = (
    "IQ1_S",
    "IQ1_M",
    "TQ1_0",
    "TQ2_0",
    "IQ2_XXS",
    "IQ2_XS",
    "IQ2_S",
    "IQ2_M",
    "Q2_K_S",
    "Q2_K",
    "Q2_K_L",
    "IQ3_XXS",
    "IQ3_XS",
    "Q3_K_S",
    "IQ3_S",
    "IQ3_M",
    "Q3_K_M",
    "Q3_K",
    "Q3_K_L",
    "Q3_K_XL",
    "IQ4_XS",
    "Q4_0",
    "IQ4_NL",
    "Q4_1",
    "Q4_K_S",
    "MXFP4",
    "Q4_K_M",
    "Q4_K",
    "Q4_K_L",
    "Q4_K_XL",
    "Q5_0",
    "Q5_1",
    "Q5_K_S",
    "Q5_K_M",
    "Q5_K",
    "Q5_K_L",
    "Q5_K_XL",
    "Q6_K",
    "Q6_K_L",
    "Q6_K_XL",
    "Q8_0",
    "Q8_K_XL",
    "BF16",
    "F16",
    "F32",
)
_RANK = {name: index for index, name in enumerate(QUANT_ORDER)}

# Recommendations stay between these: below Q4_K_M answers get noticeably worse, and above
# Q8_0 a file is twice the size and slower for no difference a person would notice.
GOOD_QUALITY_FLOOR = "Q4_K_M"
SENSIBLE_CEILING = "Q8_0"

UNKNOWN_QUANT = "unknown"

_SPLIT_SUFFIX = re.compile(r"-\d{5}-of-\d{5}$", re.IGNORECASE)
_QUANT_IN_NAME = re.compile(
    r"(?<![A-Za-z0-9])(I?Q\d(?:_[A-Z0-9]+)*|T?Q\d_\d|MXFP4|BF16|FP?16|FP?32)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_ALIASES = {"FP16": "F16", "FP32": "F32"}


def normalize_quant(name: str) -> str:
    """The canonical spelling of a quantization name ("q4_k_m" -> "Q4_K_M", "fp16" -> "F16")."""
    upper = name.strip().upper()
    return _ALIASES.get(upper, upper)


def quantization_from_filename(filename: str) -> str:
    """The quantization written in a GGUF file name, or "unknown".

    "qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf" -> "Q4_K_M"; the last match wins because
    model names contain things that look alike ("Qwen2", "Q3 2024") before the quant tag.
    """
    stem = filename.rsplit("/", 1)[-1]
    if stem.lower().endswith(".gguf"):
        stem = stem[: -len(".gguf")]
    stem = _SPLIT_SUFFIX.sub("", stem)
    matches = _QUANT_IN_NAME.findall(stem)
    return normalize_quant(matches[-1]) if matches else UNKNOWN_QUANT


def quant_rank(name: str) -> int | None:
    """Position in QUANT_ORDER (higher is better quality); None for names it does not know."""
    return _RANK.get(normalize_quant(name))


def is_known_quant(name: str) -> bool:
    return quant_rank(name) is not None


# Average bits per weight of whole files (llama.cpp's quantize table, measured on Llama 3 8B),
# for an estimate before the Hub has said the real size. Small models with large vocabularies
# come out bigger than this, since their embedding table is a larger share of the weights.
APPROX_BITS_PER_WEIGHT = {
    "Q2_K": 3.35,
    "Q3_K_S": 3.5,
    "Q3_K_M": 3.91,
    "Q3_K_L": 4.27,
    "IQ4_XS": 4.25,
    "Q4_0": 4.55,
    "Q4_K_S": 4.58,
    "Q4_K_M": 4.89,
    "Q5_0": 5.54,
    "Q5_K_S": 5.54,
    "Q5_K_M": 5.7,
    "Q6_K": 6.56,
    "Q8_0": 8.5,
    "BF16": 16.0,
    "F16": 16.0,
    "F32": 32.0,
}


def estimated_file_bytes(parameter_count: int, quant: str) -> int | None:
    """About how large a GGUF of this many parameters is in this quantization; None if unknown."""
    bits = APPROX_BITS_PER_WEIGHT.get(normalize_quant(quant))
    return int(parameter_count * bits / 8) if bits else None
