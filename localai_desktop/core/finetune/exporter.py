"""Write a PEFT LoRA as a GGUF adapter that llama.cpp applies to the base GGUF model.

Names: PEFT's `...layers.3.self_attn.q_proj.lora_A.weight` becomes `blk.3.attn_q.weight.lora_a`
(the gguf package's tensor-name map gives the base tensor's name). Shapes: PEFT's A (r, in)
and B (out, r) are written as they are; the GGUF writer reverses dimensions as ggml expects.

The q/k permutation: llama.cpp's converter reorders the rows of the q and k projections of
llama-architecture models (rotary halves grouped per head), and transformers undoes that
when it loads such a GGUF. A LoRA trained on transformers' layout must therefore get the same
row order on B, or the adapter is wrong by about its own size. Other architectures (qwen2,
gemma, phi3, ...) are stored unpermuted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Where transformers un-permutes q/k when loading a GGUF (its llama tensor processor).
PERMUTED_QK_ARCHITECTURES = frozenset({"llama"})  # Mistral GGUFs say "llama" too
_PEFT_PREFIX = "base_model.model."


class ExportError(Exception):
    """The trained LoRA does not map onto the base model (a bug or an unsupported layer)."""


@dataclass(frozen=True)
class BaseShape:
    """What the exporter needs to know about the base model (from its GGUF header)."""

    architecture: str
    block_count: int
    head_count: int
    head_count_kv: int


@dataclass(frozen=True)
class ExportedAdapter:
    path: Path
    tensor_count: int
    rank: int
    alpha: float


def permute_rows(weights: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """llama.cpp's converter permutation of q/k rows (convert_hf_to_gguf.LlamaModel.permute)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    rows = weights.shape[0]
    return (
        weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def gguf_tensor_name(hf_module: str, base: BaseShape) -> str:
    """`model.layers.3.self_attn.q_proj` -> `blk.3.attn_q.weight` for this architecture."""
    import gguf

    arch_ids = {name: arch for arch, name in gguf.MODEL_ARCH_NAMES.items()}
    if base.architecture not in arch_ids:
        raise ExportError(f"the gguf package does not know the architecture {base.architecture}")
    name_map = gguf.get_tensor_name_map(arch_ids[base.architecture], base.block_count)
    mapped = name_map.get_name(hf_module + ".weight", try_suffixes=(".weight",))
    if mapped is None:
        raise ExportError(f"no GGUF tensor for the layer {hf_module}")
    return mapped


def lora_pairs(state: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """PEFT state dict (get_peft_model_state_dict) -> {hf module: (A, B)}."""
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        for part in ("lora_A", "lora_B"):
            marker = f".{part}."
            if marker in key:
                module = key.split(marker)[0].removeprefix(_PEFT_PREFIX)
                pairs.setdefault(module, {})[part] = np.asarray(value, dtype=np.float32)
                break
        else:
            raise ExportError(f"unexpected tensor {key} (only LoRA A/B matrices can be exported)")
    result: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for module, parts in pairs.items():
        if set(parts) != {"lora_A", "lora_B"}:
            raise ExportError(f"the layer {module} lacks one of its LoRA matrices")
        result[module] = (parts["lora_A"], parts["lora_B"])
    return result


def export_lora_adapter(
    path: Path,
    state: Mapping[str, np.ndarray],
    base: BaseShape,
    *,
    alpha: float,
    name: str,
    metadata: Mapping[str, str] | None = None,
    atomic: bool = True,
) -> ExportedAdapter:
    """Write the adapter to `path` atomically (a partial file is never left under that name);
    atomic=False writes straight into `path`, a scratch file whose bytes are sealed after."""
    import gguf

    pairs = lora_pairs(state)
    if not pairs:
        raise ExportError("the LoRA has no layers")
    ranks = {a.shape[0] for a, _ in pairs.values()}
    if len(ranks) != 1:
        raise ExportError(f"layers have different ranks {sorted(ranks)}")
    permute = base.architecture in PERMUTED_QK_ARCHITECTURES
    path = Path(path)
    partial = path.with_name(path.name + ".part") if atomic else path
    writer = gguf.GGUFWriter(partial, base.architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    writer.add_name(name)
    for key, value in (metadata or {}).items():
        writer.add_string(key, value)
    for module in sorted(pairs, key=_layer_order):
        a, b = pairs[module]
        target = gguf_tensor_name(module, base)
        if permute and target.endswith(".attn_q.weight"):
            b = permute_rows(b, base.head_count, base.head_count)
        elif permute and target.endswith(".attn_k.weight"):
            b = permute_rows(b, base.head_count, base.head_count_kv)
        writer.add_tensor(f"{target}.lora_a", np.ascontiguousarray(a, dtype=np.float32))
        writer.add_tensor(f"{target}.lora_b", np.ascontiguousarray(b, dtype=np.float32))
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        if atomic:
            with open(partial, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(partial, path)
    except BaseException:
        if atomic:
            partial.unlink(missing_ok=True)
        raise
    return ExportedAdapter(path, 2 * len(pairs), ranks.pop(), float(alpha))


def _layer_order(module: str) -> tuple[int, str]:
    parts = module.split(".")
    numbers = [int(p) for p in parts if p.isdigit()]
    return (numbers[0] if numbers else -1, module)
