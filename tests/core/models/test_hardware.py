"""Hardware fit: verdicts and recommendations for synthetic machines, checked against hand sums."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from localai_desktop.core.models.gguf_info import estimate_memory_bytes, read_gguf_info
from localai_desktop.core.models.gguf_prefix import model_facts_from_prefix
from localai_desktop.core.models.hardware import (
    Gpu,
    Machine,
    ModelFacts,
    apple_gpu_working_set,
    detect_machine,
    fit_verdict,
    memory_needed_bytes,
    parse_nvidia_smi,
    recommend_quant,
)

GiB = 1024**3

LAPTOP_8GB = Machine(ram_bytes=8 * GiB, cpu_cores=4)
MAC_16GB = Machine(
    ram_bytes=16 * GiB,
    gpus=(Gpu("Apple M2", apple_gpu_working_set(16 * GiB), "metal"),),
    unified_memory=True,
    gpu_offload_supported=True,
)
DESKTOP_24GB_VRAM = Machine(
    ram_bytes=32 * GiB,
    gpus=(Gpu("NVIDIA GeForce RTX 4090", 24 * GiB, "cuda"),),
    gpu_offload_supported=True,
)

# Llama 3.1 8B: 32 layers, 8 KV heads of 128 dims. Per token the F16 cache holds keys and
# values: 32 x 8 x (128 + 128) x 2 bytes = 131,072 bytes, so 8,192 tokens take exactly 1 GiB
# (the figure in FACTS.md).
LLAMA_8B = ModelFacts(
    parameter_count=8_030_000_000,
    context_length=131072,
    block_count=32,
    head_count_kv=8,
    key_length=128,
    value_length=128,
)
CONTEXT = 8192


@dataclass(frozen=True)
class Option:
    quantization: str
    total_bytes: int


def test_kv_cache_of_llama_8b_at_8k_context_is_one_gib() -> None:
    assert LLAMA_8B.kv_bytes_per_token * CONTEXT == 1 * GiB
    # Q4_K_M of 4.5 GiB: (4.5 GiB weights + 1 GiB cache) x 1.12 = 6.16 GiB.
    assert memory_needed_bytes(int(4.5 * GiB), LLAMA_8B, CONTEXT) == int(5.5 * GiB * 1.12)


@pytest.mark.parametrize(
    ("machine", "file_gib", "expected"),
    [
        # 8 GB, no GPU: the limit is 0.9 x 8 = 7.2 GiB of RAM.
        (LAPTOP_8GB, 4.5, "cpu"),  # needs (4.5 + 1) x 1.12 = 6.16 GiB
        (LAPTOP_8GB, 8.0, "too_large"),  # needs (8 + 1) x 1.12 = 10.08 GiB
        # 16 GB Apple Silicon: the GPU may use 2/3 of 16 = 10.67 GiB, 90% of that is 9.6 GiB;
        # the whole pool allows 0.9 x 16 = 14.4 GiB (unified: RAM and VRAM are not added).
        (MAC_16GB, 4.5, "gpu"),  # 6.16 <= 9.6
        (MAC_16GB, 8.0, "partial"),  # 9.6 < 10.08 <= 14.4
        (MAC_16GB, 15.0, "too_large"),  # (15 + 1) x 1.12 = 17.92 > 14.4
        # 24 GB VRAM + 32 GB RAM: 0.9 x 24 = 21.6 GiB on the GPU, 0.9 x 56 = 50.4 GiB in all.
        (DESKTOP_24GB_VRAM, 8.0, "gpu"),  # 10.08 <= 21.6
        (DESKTOP_24GB_VRAM, 15.0, "gpu"),  # 17.92 <= 21.6
        (DESKTOP_24GB_VRAM, 30.0, "partial"),  # (30 + 1) x 1.12 = 34.72: 21.6 < 34.72 <= 50.4
        (DESKTOP_24GB_VRAM, 70.0, "too_large"),  # (70 + 1) x 1.12 = 79.52 > 50.4
    ],
)
def test_fit_verdicts_for_synthetic_machines(
    machine: Machine, file_gib: float, expected: str
) -> None:
    assert fit_verdict(int(file_gib * GiB), LLAMA_8B, CONTEXT, machine) == expected


def test_a_gpu_this_build_cannot_use_counts_as_no_gpu() -> None:
    cpu_only_build = Machine(32 * GiB, DESKTOP_24GB_VRAM.gpus, gpu_offload_supported=False)
    # 10.08 GiB needed, 0.9 x 32 = 28.8 GiB of RAM: runs, but on the CPU.
    assert fit_verdict(8 * GiB, LLAMA_8B, CONTEXT, cpu_only_build) == "cpu"


# The quants of an 8B model and what each needs at 8k context, (file + 1 GiB) x 1.12:
# Q3_K_M 3.5 -> 5.04, Q4_K_M 4.5 -> 6.16, Q5_K_M 5.3 -> 7.056, Q6_K 6.2 -> 8.064,
# Q8_0 8.0 -> 10.08, F16 15.0 -> 17.92 GiB.
LLAMA_8B_QUANTS = [
    Option("Q3_K_M", int(3.5 * GiB)),
    Option("Q4_K_M", int(4.5 * GiB)),
    Option("Q5_K_M", int(5.3 * GiB)),
    Option("Q6_K", int(6.2 * GiB)),
    Option("Q8_0", 8 * GiB),
    Option("F16", 15 * GiB),
]


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        (LAPTOP_8GB, "Q4_K_M"),  # CPU only: the fastest good one (Q5_K_M would fit too)
        (MAC_16GB, "Q6_K"),  # fully on the GPU (8.06 <= 9.6) beats Q8_0 partly on it
        (DESKTOP_24GB_VRAM, "Q8_0"),  # F16 fits too, but is not worth twice the memory
        (Machine(6 * GiB), "Q3_K_M"),  # 0.9 x 6 = 5.4 GiB: only Q3_K_M (5.04) fits
    ],
)
def test_recommended_quant_fits_and_is_fast_on_this_machine(
    machine: Machine, expected: str
) -> None:
    choice = recommend_quant(LLAMA_8B_QUANTS, LLAMA_8B, CONTEXT, machine)
    assert choice is not None and choice.quantization == expected


def test_nothing_is_recommended_when_nothing_fits() -> None:
    assert recommend_quant(LLAMA_8B_QUANTS, LLAMA_8B, CONTEXT, Machine(4 * GiB)) is None


def test_a_repo_with_only_16_bit_files_gets_the_smaller_one() -> None:
    options = [Option("F32", 2 * GiB), Option("F16", 1 * GiB)]
    facts = ModelFacts(parameter_count=500_000_000)
    assert recommend_quant(options, facts, 2048, LAPTOP_8GB) == options[1]


def test_the_fit_estimate_agrees_with_the_registry_check(stories260k: Path) -> None:
    info = read_gguf_info(stories260k)
    facts = ModelFacts.from_gguf_info(info)
    assert memory_needed_bytes(info.file_size, facts, 2048) == estimate_memory_bytes(info, 2048)


def test_layer_shapes_are_read_from_the_start_of_a_gguf_file(stories260k: Path) -> None:
    expected = ModelFacts.from_gguf_info(read_gguf_info(stories260k))
    facts = model_facts_from_prefix(stories260k.read_bytes()[: 64 * 1024])
    assert facts is not None
    assert (facts.block_count, facts.head_count_kv, facts.key_length, facts.context_length) == (
        expected.block_count,
        expected.head_count_kv,
        expected.key_length,
        expected.context_length,
    )
    assert model_facts_from_prefix(b"not a gguf file") is None


def test_apple_gpu_share_is_two_thirds_up_to_36_gb_and_three_quarters_above() -> None:
    assert apple_gpu_working_set(16 * GiB) == int(16 * GiB * 2 / 3)
    assert apple_gpu_working_set(64 * GiB) == 48 * GiB


def test_nvidia_smi_output_is_parsed() -> None:
    text = "NVIDIA GeForce RTX 4090, 24564\nNVIDIA H200, 143771\n\ngarbage line\n"
    gpus = parse_nvidia_smi(text)
    assert [g.name for g in gpus] == ["NVIDIA GeForce RTX 4090", "NVIDIA H200"]
    assert gpus[0].memory_bytes == 24564 * 1024 * 1024
    assert all(g.backend == "cuda" for g in gpus)


@pytest.mark.skipif(os.name == "nt", reason="the fake nvidia-smi is a shell script")
def test_detection_finds_ram_and_an_nvidia_gpu_through_nvidia_smi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA GeForce RTX 3060, 12288'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    machine = detect_machine()
    assert machine.ram_bytes > 512 * 1024**2
    assert machine.cpu_cores >= 1
    assert machine.gpus == (Gpu("NVIDIA GeForce RTX 3060", 12288 * 1024**2, "cuda"),)
    assert not machine.unified_memory
    assert "RAM" in machine.describe() and "RTX 3060" in machine.describe()
