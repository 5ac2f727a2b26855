"""The types a smaller copy can be made in, and what each costs in size, memory and quality."""

from __future__ import annotations

from dataclasses import dataclass

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.models.hardware import ModelFacts, memory_needed_bytes
from localai_desktop.core.models.quantization import normalize_quant, quant_rank

# Where the quality figures come from: the table llama.cpp's quantize tool prints
# (tools/quantize/quantize.cpp, QUANT_OPTIONS: perplexity added on Llama-3-8B against F16), and
# the bits per weight of its README (tools/quantize/README.md, measured on Llama-3.1-8B), both in
# the llama.cpp vendored by llama-cpp-python 0.3.36. IQ4_XS has no perplexity figure there.
QUALITY_SOURCE = (
    "Quality figures: llama.cpp's quantize tool (perplexity added on Llama 3 8B, against the "
    "16-bit original); sizes from its README (Llama 3.1 8B)."
)


@dataclass(frozen=True)
class QuantTarget:
    """One type a model can be made smaller in."""

    name: str  # as llama.cpp spells it: "Q4_K_M"
    ftype_constant: str  # the llama_cpp module's LLAMA_FTYPE_* name
    bits_per_weight: float
    perplexity_added: float | None  # None where llama.cpp publishes no figure
    quality: str  # what a person is told

    @property
    def quality_text(self) -> str:
        if self.perplexity_added is None:
            return f"{self.quality} (no published figure)"
        return f"{self.quality} (+{self.perplexity_added:.4f} perplexity)"


TARGETS: tuple[QuantTarget, ...] = (
    QuantTarget("Q8_0", "LLAMA_FTYPE_MOSTLY_Q8_0", 8.5008, 0.0026, "practically none"),
    QuantTarget("Q6_K", "LLAMA_FTYPE_MOSTLY_Q6_K", 6.5633, 0.0217, "very small"),
    QuantTarget("Q5_K_M", "LLAMA_FTYPE_MOSTLY_Q5_K_M", 5.7036, 0.0569, "small"),
    QuantTarget("Q4_K_M", "LLAMA_FTYPE_MOSTLY_Q4_K_M", 4.8944, 0.1754, "noticeable on hard tasks"),
    QuantTarget("IQ4_XS", "LLAMA_FTYPE_MOSTLY_IQ4_XS", 4.4597, None, "a little more than Q4_K_M"),
)
TARGET_NAMES: tuple[str, ...] = tuple(t.name for t in TARGETS)
# What a copy can be made from: the 16- and 32-bit originals, and Q8_0 (which loses almost
# nothing, so requantizing it is what people do when no 16-bit file is published).
SOURCE_TYPES: tuple[str, ...] = ("F32", "F16", "BF16", "Q8_0")


def target_named(name: str) -> QuantTarget:
    """The target called `name` (any spelling); a plain error for anything else."""
    wanted = normalize_quant(name)
    for target in TARGETS:
        if target.name == wanted:
            return target
    raise LocalAIError(
        f"'{name}' is not a type the app can make a copy in.",
        f"Choose one of {', '.join(TARGET_NAMES)}.",
    )


def check_can_quantize(source_quant: str, target: QuantTarget) -> None:
    """Refuse a source that is already as small as the target, or of a type not supported."""
    source = normalize_quant(source_quant)
    if source not in SOURCE_TYPES:
        raise LocalAIError(
            f"A smaller copy can only be made from a model in {', '.join(SOURCE_TYPES)}; "
            f"this one is {source_quant}.",
            "Download the model's F16, BF16 or Q8_0 file and make the copy from that.",
        )
    source_rank, target_rank = quant_rank(source), quant_rank(target.name)
    if source_rank is not None and target_rank is not None and target_rank >= source_rank:
        raise LocalAIError(
            f"This model is already {source}; a {target.name} copy would not be smaller.",
            "Choose a smaller type (for example Q4_K_M).",
        )


def expected_file_bytes(parameter_count: int, target: QuantTarget) -> int:
    """About how large the copy will be (whole-file bits per weight, as llama.cpp measured)."""
    return int(parameter_count * target.bits_per_weight / 8)


def expected_memory_bytes(file_bytes: int, facts: ModelFacts, n_ctx: int) -> int:
    """Memory to run the copy with n_ctx tokens of context (weights, KV cache, buffers)."""
    return memory_needed_bytes(file_bytes, facts, n_ctx)
