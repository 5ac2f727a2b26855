"""The GGUF LoRA exporter: llama.cpp with the adapter computes what the merged PEFT model does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "peft", reason="the training extra is not installed: pip install -e '.[finetune]'"
)

import llama_cpp
import torch
from gguf import GGUFReader
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

from localai_desktop.core.finetune import exporter
from localai_desktop.core.finetune.exporter import BaseShape, export_lora_adapter
from localai_desktop.core.finetune.training import _lora_state, load_base_model
from tests.support.finetune_support import random_lora_state, write_tiny_model

SHAPE = {"n_layers": 2, "n_embd": 64, "n_head": 4, "n_head_kv": 2, "n_ff": 96}
RANK, ALPHA = 4, 8.0
TOKENS = [1, 72, 300, 45, 201, 17, 260, 99]


def _trained_like_peft(base: Path) -> tuple[object, dict[str, np.ndarray]]:
    """The base in transformers with a LoRA whose A and B are both non-zero."""
    torch.manual_seed(0)
    model = get_peft_model(
        load_base_model(base, "cpu"),
        LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules="all-linear", lora_dropout=0.0),
    )
    state = random_lora_state(**SHAPE, rank=RANK, scale=0.3)
    set_peft_model_state_dict(model, {k: torch.from_numpy(v) for k, v in state.items()})
    return model, _lora_state(model)


def _tiny_llama(folder: Path, tokenizer_from: Path) -> Path:
    return write_tiny_model(
        folder / "llama.gguf", arch="llama", tokenizer_from=tokenizer_from, **SHAPE
    )


def _llama_cpp_logits(model_path: Path, adapter: Path | None) -> np.ndarray:
    llm = llama_cpp.Llama(
        str(model_path),
        n_ctx=64,
        n_threads=1,
        logits_all=True,
        lora_path=str(adapter) if adapter else None,
        verbose=False,
    )
    try:
        llm.eval(TOKENS)
        return np.array(llm.scores[: len(TOKENS)], dtype=np.float32)
    finally:
        llm.close()


def _export(path: Path, state: dict[str, np.ndarray], arch: str) -> Path:
    base = BaseShape(arch, SHAPE["n_layers"], SHAPE["n_head"], SHAPE["n_head_kv"])
    return export_lora_adapter(path, state, base, alpha=ALPHA, name="test").path


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_adapter_in_llama_cpp_matches_the_merged_model(
    arch: str, tmp_path: Path, stories260k: Path
) -> None:
    base = write_tiny_model(
        tmp_path / f"{arch}.gguf", arch=arch, tokenizer_from=stories260k, **SHAPE
    )
    model, state = _trained_like_peft(base)
    adapter = _export(tmp_path / f"{arch}-lora.gguf", state, arch)
    with torch.no_grad():
        merged = model.merge_and_unload()
        expected = merged(torch.tensor([TOKENS])).logits[0].numpy()
    plain = _llama_cpp_logits(base, None)
    tuned = _llama_cpp_logits(base, adapter)
    effect = np.abs(expected - plain).max()
    error = np.abs(expected - tuned).max()
    assert effect > 0.5, "the adapter should change the logits clearly"
    assert error < 0.02 * effect + 1e-3, (arch, error, effect)


def test_merged_weights_match_base_plus_scaled_product(tmp_path: Path, stories260k: Path) -> None:
    """Weight level, for llama: unpermute(W + alpha/r x B A) as transformers loads it."""
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    base = write_tiny_model(
        tmp_path / "llama.gguf", arch="llama", tokenizer_from=stories260k, **SHAPE
    )
    model, state = _trained_like_peft(base)
    adapter = _export(tmp_path / "lora.gguf", state, "llama")
    with torch.no_grad():
        merged = model.merge_and_unload()
    base_tensors = {t.name: np.array(t.data) for t in GGUFReader(base).tensors}
    lora = {t.name: np.array(t.data) for t in GGUFReader(adapter).tensors}
    processor = LlamaTensorProcessor(
        config={"num_attention_heads": SHAPE["n_head"], "num_key_value_heads": SHAPE["n_head_kv"]}
    )
    for gguf_name, hf_name in [
        ("blk.1.attn_q.weight", "model.layers.1.self_attn.q_proj.weight"),
        ("blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"),
        ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"),
    ]:
        a, b = lora[f"{gguf_name}.lora_a"], lora[f"{gguf_name}.lora_b"]
        merged_gguf = base_tensors[gguf_name] + (ALPHA / RANK) * (b @ a)
        as_loaded = processor.process(merged_gguf, gguf_name).weights
        actual = merged.state_dict()[hf_name].numpy()
        np.testing.assert_allclose(as_loaded, actual, atol=1e-5)


def test_without_the_qk_permutation_a_llama_adapter_would_be_wrong(
    tmp_path: Path, stories260k: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: proves the comparison above can see a missing permutation."""
    base = write_tiny_model(
        tmp_path / "llama.gguf", arch="llama", tokenizer_from=stories260k, **SHAPE
    )
    model, state = _trained_like_peft(base)
    monkeypatch.setattr(exporter, "PERMUTED_QK_ARCHITECTURES", frozenset())
    adapter = _export(tmp_path / "unpermuted.gguf", state, "llama")
    with torch.no_grad():
        expected = model.merge_and_unload()(torch.tensor([TOKENS])).logits[0].numpy()
    plain = _llama_cpp_logits(base, None)
    wrong = _llama_cpp_logits(base, adapter)
    assert np.abs(expected - wrong).max() > 0.1 * np.abs(expected - plain).max()


def test_permuted_architectures_are_those_transformers_unpermutes() -> None:
    from transformers.modeling_gguf_pytorch_utils import TENSOR_PROCESSORS, LlamaTensorProcessor

    unpermuted = {arch for arch, cls in TENSOR_PROCESSORS.items() if cls is LlamaTensorProcessor}
    assert unpermuted == set(exporter.PERMUTED_QK_ARCHITECTURES)
