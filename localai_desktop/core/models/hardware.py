"""What this computer can run: RAM, GPU and VRAM, and a plain verdict for each model file.

The rule (see FACTS.md): a model runs fully on the GPU when what it needs fits in 90% of VRAM,
partly on the GPU when it fits in 90% of RAM + VRAM, and is too large otherwise. On Apple
Silicon RAM and VRAM are one pool, of which macOS lets the GPU use only a part.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, TypeVar

import psutil

from localai_desktop.core.models.gguf_info import GgufInfo
from localai_desktop.core.models.quantization import (
    GOOD_QUALITY_FLOOR,
    SENSIBLE_CEILING,
    quant_rank,
)

log = logging.getLogger(__name__)

Verdict = Literal["gpu", "partial", "cpu", "too_large"]
VERDICT_LABELS: dict[str, str] = {
    "gpu": "Runs fully on the GPU",
    "partial": "Runs partly on the GPU",
    "cpu": "Runs on the CPU",
    "too_large": "Too large for this computer",
}
_VERDICT_PREFERENCE = {"gpu": 0, "partial": 1, "cpu": 2}

USABLE_SHARE = 0.9  # beyond 90% of memory the system starts swapping
COMPUTE_OVERHEAD = 1.12  # llama.cpp's compute buffers; the same factor as gguf_info
KV_BYTES_PER_ELEMENT = 2  # F16 cache, llama.cpp's default
# When a model's layer shapes are unknown: about the 75th percentile of current models
# (Llama 3.1 8B needs 128 KiB per token, Qwen2.5 7B 56 KiB, Gemma 2 9B 336 KiB).
ESTIMATED_KV_BYTES_PER_TOKEN_PER_BILLION = 24 * 1024
_NVIDIA_SMI_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_bytes: int
    backend: str  # "cuda" or "metal"


@dataclass(frozen=True)
class Machine:
    """The memory facts a verdict needs; tests build synthetic ones."""

    ram_bytes: int
    gpus: tuple[Gpu, ...] = ()
    unified_memory: bool = False  # Apple Silicon: the GPU's memory is part of the RAM
    gpu_offload_supported: bool = False  # whether this llama.cpp build can use the GPU
    cpu_cores: int = 0

    @property
    def vram_bytes(self) -> int:
        return sum(gpu.memory_bytes for gpu in self.gpus)

    @property
    def can_use_gpu(self) -> bool:
        return self.gpu_offload_supported and self.vram_bytes > 0

    def describe(self) -> str:
        """One line for people: "16.0 GB RAM, Apple M2 (10.7 GB usable by the GPU)"."""
        from localai_desktop.core.common.units import format_bytes

        text = f"{format_bytes(self.ram_bytes)} RAM"
        for gpu in self.gpus:
            shared = " usable by the GPU" if self.unified_memory else ""
            text += f", {gpu.name} ({format_bytes(gpu.memory_bytes)}{shared})"
        if self.gpus and not self.gpu_offload_supported:
            text += "; this build of the app runs models on the CPU only"
        return text

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["vram_bytes"] = self.vram_bytes
        data["can_use_gpu"] = self.can_use_gpu
        data["description"] = self.describe()
        return data


@dataclass(frozen=True)
class ModelFacts:
    """What the memory estimate needs to know about a model besides its file size.

    The layer shapes give the KV cache exactly; without them (a catalog entry browsed
    offline) the cache is estimated from the parameter count.
    """

    parameter_count: int = 0
    context_length: int = 0
    block_count: int = 0
    head_count_kv: int = 0
    key_length: int = 0  # per head
    value_length: int = 0  # per head

    @classmethod
    def from_gguf_info(cls, info: GgufInfo) -> ModelFacts:
        head_dim = info.embedding_length // info.head_count if info.head_count else 0
        return cls(
            parameter_count=info.parameter_count,
            context_length=info.context_length,
            block_count=info.block_count,
            head_count_kv=info.head_count_kv,
            key_length=info.key_length or head_dim,
            value_length=info.value_length or head_dim,
        )

    @property
    def knows_layer_shapes(self) -> bool:
        return bool(self.block_count and self.head_count_kv and self.key_length + self.value_length)

    @property
    def kv_bytes_per_token(self) -> int:
        if self.knows_layer_shapes:
            per_layer = self.head_count_kv * (self.key_length + self.value_length)
            return self.block_count * per_layer * KV_BYTES_PER_ELEMENT
        billions = self.parameter_count / 1e9
        return max(8 * 1024, int(billions * ESTIMATED_KV_BYTES_PER_TOKEN_PER_BILLION))


def effective_context(facts: ModelFacts, n_ctx: int) -> int:
    """n_ctx as llama.cpp reads it: 0 or less means the model's training context."""
    if n_ctx > 0:
        return n_ctx
    return facts.context_length or 4096


def memory_needed_bytes(file_bytes: int, facts: ModelFacts, n_ctx: int) -> int:
    """Weights + F16 KV cache for n_ctx tokens + compute buffers (as gguf_info estimates)."""
    kv_cache = facts.kv_bytes_per_token * effective_context(facts, n_ctx)
    return int((file_bytes + kv_cache) * COMPUTE_OVERHEAD)


def fit_verdict(file_bytes: int, facts: ModelFacts, n_ctx: int, machine: Machine) -> Verdict:
    """ "gpu", "partial", "cpu" or "too_large" for a model file on this machine."""
    needed = memory_needed_bytes(file_bytes, facts, n_ctx)
    if machine.can_use_gpu:
        if needed <= USABLE_SHARE * machine.vram_bytes:
            return "gpu"
        # Unified memory is one pool: the GPU's share is inside the RAM, not added to it.
        total = (
            machine.ram_bytes if machine.unified_memory else machine.ram_bytes + machine.vram_bytes
        )
        return "partial" if needed <= USABLE_SHARE * total else "too_large"
    return "cpu" if needed <= USABLE_SHARE * machine.ram_bytes else "too_large"


class QuantOption(Protocol):
    @property
    def quantization(self) -> str: ...

    @property
    def total_bytes(self) -> int: ...


Option = TypeVar("Option", bound=QuantOption)


def recommend_quant(
    options: Sequence[Option], facts: ModelFacts, n_ctx: int, machine: Machine
) -> Option | None:
    """The download to suggest: a quant from Q4_K_M to Q8_0 that fits, else the nearest.

    Within a band, a file that runs fully on the GPU beats one that only partly does (it is
    several times faster), and then the higher quality wins. On the CPU alone the whole file
    is read for every token, so the band's smallest (Q4_K_M: the fastest at good quality) wins.
    Below the band the highest quality that fits is taken; above it (16-bit files) the
    smallest. None when nothing fits.
    """
    floor, ceiling = quant_rank(GOOD_QUALITY_FLOOR), quant_rank(SENSIBLE_CEILING)
    assert floor is not None and ceiling is not None
    good, above, below, unknown = [], [], [], []
    for option in options:
        verdict = fit_verdict(option.total_bytes, facts, n_ctx, machine)
        if verdict == "too_large":
            continue
        rank = quant_rank(option.quantization)
        entry = (_VERDICT_PREFERENCE[verdict], rank or 0, option)
        if rank is None:
            unknown.append(entry)
        elif rank < floor:
            below.append(entry)
        elif rank > ceiling:
            above.append(entry)
        else:
            good.append(entry)
    if good and min(e[0] for e in good) == _VERDICT_PREFERENCE["cpu"]:
        return min(good, key=lambda e: (e[1], e[2].total_bytes))[2]
    for band, best_first in ((good, True), (below, True), (above, False)):
        if band:
            band.sort(key=lambda e: (e[0], -e[1] if best_first else e[1], e[2].total_bytes))
            return band[0][2]
    if unknown:
        return min(unknown, key=lambda e: (e[0], e[2].total_bytes))[2]
    return None


# -- detection ------------------------------------------------------------------------------


def detect_machine() -> Machine:
    """This computer: RAM from psutil, NVIDIA GPUs from nvidia-smi, Apple Silicon from sysctl."""
    ram = int(psutil.virtual_memory().total)
    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    offload = llama_build_can_offload()
    apple_chip = _apple_silicon_chip()
    if apple_chip is not None:
        gpu = Gpu(apple_chip, apple_gpu_working_set(ram), "metal")
        return Machine(ram, (gpu,), True, offload, cores)
    return Machine(ram, nvidia_gpus(), False, offload, cores)


def llama_build_can_offload() -> bool:
    """Whether the installed llama.cpp was built with a GPU backend (CUDA, Metal, Vulkan)."""
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except Exception as error:  # a broken install must not break the hardware report
        log.warning("Could not ask llama.cpp about GPU offload: %s", error)
        return False


def nvidia_gpus() -> tuple[Gpu, ...]:
    """NVIDIA GPUs and their memory, from nvidia-smi when it is installed."""
    program = shutil.which("nvidia-smi")
    if program is None:
        return ()
    try:
        result = subprocess.run(
            [program, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=_NVIDIA_SMI_TIMEOUT_S,
            check=False,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("nvidia-smi did not answer: %s", error)
        return ()
    if result.returncode != 0:
        log.info("nvidia-smi failed (%s): %s", result.returncode, result.stderr.strip())
        return ()
    return parse_nvidia_smi(result.stdout)


def parse_nvidia_smi(text: str) -> tuple[Gpu, ...]:
    """Lines of "name, MiB" as printed by --query-gpu=name,memory.total --format=csv,nounits."""
    gpus = []
    for line in text.splitlines():
        name, _, mib = line.rpartition(",")
        try:
            memory = int(float(mib.strip()) * 1024 * 1024)
        except ValueError:
            continue
        if name.strip() and memory > 0:
            gpus.append(Gpu(name.strip(), memory, "cuda"))
    return tuple(gpus)


def apple_gpu_working_set(ram_bytes: int) -> int:
    """How much of the unified memory Metal lets the GPU use by default.

    macOS's recommendedMaxWorkingSetSize, which llama.cpp logs at start: two thirds of the
    memory on Macs with up to 36 GB, three quarters above. An approximation of Apple's rule.
    """
    share = 2 / 3 if ram_bytes <= 36 * 1024**3 else 3 / 4
    return int(ram_bytes * share)


def _apple_silicon_chip() -> str | None:
    """The chip name ("Apple M2") on Apple Silicon, also under Rosetta; None elsewhere."""
    if platform.system() != "Darwin":
        return None
    if _sysctl("hw.optional.arm64") != "1":
        return None
    return _sysctl("machdep.cpu.brand_string") or "Apple Silicon GPU"


def _sysctl(key: str) -> str:
    try:
        result = subprocess.run(
            ["sysctl", "-n", key], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""
