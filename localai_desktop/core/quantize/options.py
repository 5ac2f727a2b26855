"""The choices "Make a smaller copy" offers for one model: size, memory, speed here, quality."""

from __future__ import annotations

from dataclasses import dataclass

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.models.hardware import ModelFacts
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.core.quantize.targets import (
    TARGETS,
    QuantTarget,
    check_can_quantize,
    expected_file_bytes,
    expected_memory_bytes,
)
from localai_desktop.core.speed.measurement import MachineSpeed
from localai_desktop.core.speed.prediction import predict_tokens_per_second

# The context the memory column is worked out for (the chat's default).
OPTIONS_CONTEXT = 4096


@dataclass(frozen=True)
class CopyOption:
    target: QuantTarget
    file_bytes: int
    memory_bytes: int
    tokens_per_second: float | None  # None for embedding models (they do not generate)
    refusal: str  # why this type cannot be made from this model; "" when it can

    @property
    def available(self) -> bool:
        return not self.refusal


def copy_options(
    model: LocalModel, speed: MachineSpeed, n_ctx: int = OPTIONS_CONTEXT
) -> list[CopyOption]:
    """One option per target type, in the order of TARGETS (largest first)."""
    facts = ModelFacts(parameter_count=model.parameter_count, context_length=model.context_length)
    options = []
    for target in TARGETS:
        try:
            check_can_quantize(model.quantization, target)
            refusal = ""
        except LocalAIError as error:
            refusal = error.what
        size = expected_file_bytes(model.parameter_count, target)
        speed_here = (
            None
            if model.is_embedding_model
            else predict_tokens_per_second(size, target.name, speed)
        )
        options.append(
            CopyOption(target, size, expected_memory_bytes(size, facts, n_ctx), speed_here, refusal)
        )
    return options
