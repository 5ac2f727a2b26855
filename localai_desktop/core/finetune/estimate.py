"""How much memory and time a fine-tuning run needs on this computer, and a refusal if too much.

Memory: transformers dequantizes the GGUF to float32 (4 bytes per parameter); the LoRA's own
weights, gradients and Adam moments take 16 bytes per trained parameter; activations kept for
the backward pass grow with batch x length x layers x width, and the logits with the
vocabulary. Time: a LoRA step costs about 4 x parameters FLOPs per token (forward, and the
backward pass through the frozen weights without their gradients), at a speed measured here
with a short matrix multiplication.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import psutil

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.finetune.events import TrainingSettings
from localai_desktop.core.models.gguf_header import SkippedArray, parse_gguf_file
from localai_desktop.core.models.gguf_info import GgufInfo
from localai_desktop.core.models.hardware import USABLE_SHARE, Machine

RUNTIME_OVERHEAD_BYTES = 600 * 1024**2  # torch and transformers themselves
ACTIVATION_FLOATS_PER_TOKEN_PER_LAYER_PER_WIDTH = 34  # measured on llama shapes, float32
FLOPS_PER_PARAMETER_PER_TOKEN = 4.0
CPU_EFFICIENCY = 0.35  # a training step reaches about a third of a plain matmul's speed
GPU_FLOPS = {"cuda": 20e12, "mps": 4e12}  # cautious: mid-range cards, float32


class TrainingTooLargeError(LocalAIError):
    """The run would not fit in this computer's memory."""


@dataclass(frozen=True)
class TrainingEstimate:
    """A plain forecast for people; `problem` is set when the run should not be started."""

    device: str
    memory_bytes: int
    memory_available_bytes: int
    seconds: float
    tokens: int
    steps: int
    problem: str | None = None

    @property
    def fits(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        minutes = self.seconds / 60
        if minutes >= 1.5:
            duration = f"about {minutes:.0f} minutes"
        else:  # "about 0 seconds" reads as broken; the trainer's start-up alone takes longer
            duration = "about a minute" if self.seconds >= 45 else "less than a minute"
        return (
            f"About {format_bytes(self.memory_bytes)} of memory (of "
            f"{format_bytes(self.memory_available_bytes)}) and {duration} on the "
            f"{self.device.upper() if self.device != 'cpu' else 'CPU'} for {self.steps} steps."
        )

    def to_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "memory_bytes": self.memory_bytes,
            "memory_available_bytes": self.memory_available_bytes,
            "seconds": round(self.seconds, 1),
            "tokens": self.tokens,
            "steps": self.steps,
            "problem": self.problem,
        }


def vocabulary_size(info: GgufInfo) -> int:
    header, _ = parse_gguf_file(info.path)
    tokens = header.fields.get("tokenizer.ggml.tokens")
    if isinstance(tokens, SkippedArray):
        return tokens.length
    return len(tokens) if isinstance(tokens, list) else 32000


def training_device(machine: Machine) -> str:
    """The device torch will most likely pick (the child decides for sure)."""
    if any(gpu.backend == "cuda" for gpu in machine.gpus):
        return "cuda"
    if machine.unified_memory and machine.gpus:
        return "mps"
    return "cpu"


@functools.lru_cache(maxsize=1)
def cpu_flops() -> float:
    """Float32 FLOP/s of this CPU on a plain matrix product (about 0.1 s to measure)."""
    import numpy as np  # 0.15 s and 15 MiB: only when a forecast is first asked for

    size = 384
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    a @ a  # warm up the BLAS threads
    repeats, started = 0, time.perf_counter()
    while repeats < 3 or time.perf_counter() - started < 0.05:
        a @ a
        repeats += 1
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def estimate_training(
    info: GgufInfo,
    settings: TrainingSettings,
    *,
    train_tokens: int,
    validation_tokens: int,
    train_examples: int,
    longest_example: int,
    machine: Machine,
    flops: float | None = None,
) -> TrainingEstimate:
    """Memory and time for one run; `problem` says plainly why it would not fit."""
    device = training_device(machine) if settings.device == "auto" else settings.device
    width, layers = max(info.embedding_length, 1), max(info.block_count, 1)
    vocab = vocabulary_size(info)
    params = info.parameter_count
    lora_params = settings.rank * layers * width * 2 * 7  # 7 projections, A and B, about width
    length = min(max(longest_example, 1), settings.max_length)
    tokens_per_batch = settings.batch_size * length
    activations = (
        tokens_per_batch * layers * width * ACTIVATION_FLOATS_PER_TOKEN_PER_LAYER_PER_WIDTH * 4
        + tokens_per_batch * vocab * 4 * 3  # logits, their softmax and its gradient
    )
    memory = int(params * 4 + lora_params * 16 + activations + RUNTIME_OVERHEAD_BYTES)
    available = machine.vram_bytes if device == "cuda" else machine.ram_bytes
    steps = settings.epochs * -(-max(train_examples, 1) // settings.batch_size)
    tokens = settings.epochs * (train_tokens + validation_tokens)
    speed = GPU_FLOPS.get(device) or (flops or cpu_flops()) * CPU_EFFICIENCY
    seconds = FLOPS_PER_PARAMETER_PER_TOKEN * params * tokens / max(speed, 1.0)
    problem = None
    if memory > available * USABLE_SHARE:
        problem = (
            f"Training this model needs about {format_bytes(memory)} of memory, and this "
            f"computer has {format_bytes(available)}"
            f"{' on its GPU' if device == 'cuda' else ''}. Choose a smaller model, or lower "
            "the maximum length or the batch size."
        )
    return TrainingEstimate(device, memory, available, seconds, tokens, steps, problem)


def available_memory_now() -> int:
    return int(psutil.virtual_memory().available)
