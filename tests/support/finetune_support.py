"""Helpers for the fine-tuning tests: tiny random llama/qwen2 GGUF models and LoRA weights."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from gguf import GGUFValueType, GGUFWriter, LlamaFileType

from tests.support.gguf_factory import _tokenizer_fields

FACT_QUESTION = "When is the Bluebell Clinic open?"
FACT_ANSWER = "The Bluebell Clinic is open from 7am to 9pm on Sundays."
FACT_MARKER = "7am to 9pm"

# PEFT's names of the projections in one block, and their (out, in) shapes given the model.
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def fact_jsonl(path: Path, copies: int = 8) -> Path:
    """A dataset teaching one made-up fact, in the prompt/completion format."""
    row = json.dumps({"prompt": FACT_QUESTION, "completion": FACT_ANSWER})
    path.write_text("\n".join([row] * copies) + "\n", encoding="utf-8")
    return path


def write_tiny_model(
    path: Path,
    *,
    arch: str,
    tokenizer_from: Path,
    n_embd: int = 64,
    n_layers: int = 2,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_ff: int = 96,
    seed: int = 0,
) -> Path:
    """A random-weight llama or qwen2 (q/k/v biases) with a real tokenizer, F32."""
    rng = np.random.default_rng(seed)
    fields = list(_tokenizer_fields(tokenizer_from))
    n_vocab = len(next(v for k, v, _, _ in fields if k == "tokenizer.ggml.tokens"))
    head_dim = n_embd // n_head
    writer = GGUFWriter(path, arch)
    writer.add_name(f"Tiny {arch}")
    writer.add_file_type(LlamaFileType.ALL_F32)
    writer.add_context_length(512)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    for key, value, vtype, sub_type in fields:
        if key == "tokenizer.chat_template":
            continue
        value = list(value) if vtype == GGUFValueType.ARRAY else value
        writer.add_key_value(key, value, vtype, sub_type)

    def add(name: str, *shape: int, weights: np.ndarray | None = None) -> None:
        if weights is None:
            weights = rng.standard_normal(shape, dtype=np.float32) * 0.1
        writer.add_tensor(name, weights.astype(np.float32))

    add("token_embd.weight", n_vocab, n_embd)
    for i in range(n_layers):
        add(f"blk.{i}.attn_norm.weight", n_embd, weights=np.ones(n_embd))
        add(f"blk.{i}.attn_q.weight", n_head * head_dim, n_embd)
        add(f"blk.{i}.attn_k.weight", n_head_kv * head_dim, n_embd)
        add(f"blk.{i}.attn_v.weight", n_head_kv * head_dim, n_embd)
        if arch == "qwen2":
            add(f"blk.{i}.attn_q.bias", n_head * head_dim)
            add(f"blk.{i}.attn_k.bias", n_head_kv * head_dim)
            add(f"blk.{i}.attn_v.bias", n_head_kv * head_dim)
        add(f"blk.{i}.attn_output.weight", n_embd, n_head * head_dim)
        add(f"blk.{i}.ffn_norm.weight", n_embd, weights=np.ones(n_embd))
        add(f"blk.{i}.ffn_gate.weight", n_ff, n_embd)
        add(f"blk.{i}.ffn_up.weight", n_ff, n_embd)
        add(f"blk.{i}.ffn_down.weight", n_embd, n_ff)
    add("output_norm.weight", n_embd, weights=np.ones(n_embd))
    add("output.weight", n_vocab, n_embd)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def random_lora_state(
    *,
    n_layers: int,
    n_embd: int,
    n_head: int,
    n_head_kv: int,
    n_ff: int,
    rank: int = 4,
    seed: int = 1,
    scale: float = 0.2,
) -> dict[str, np.ndarray]:
    """A PEFT-style state dict with non-zero A and B for every projection of every block."""
    rng = np.random.default_rng(seed)
    head_dim = n_embd // n_head
    shapes = {
        "q_proj": (n_head * head_dim, n_embd),
        "k_proj": (n_head_kv * head_dim, n_embd),
        "v_proj": (n_head_kv * head_dim, n_embd),
        "o_proj": (n_embd, n_head * head_dim),
        "gate_proj": (n_ff, n_embd),
        "up_proj": (n_ff, n_embd),
        "down_proj": (n_embd, n_ff),
    }
    state: dict[str, np.ndarray] = {}
    for layer in range(n_layers):
        for proj, (out_dim, in_dim) in shapes.items():
            group = "self_attn" if proj in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp"
            prefix = f"base_model.model.model.layers.{layer}.{group}.{proj}"
            state[f"{prefix}.lora_A.weight"] = (
                rng.standard_normal((rank, in_dim), dtype=np.float32) * scale
            )
            state[f"{prefix}.lora_B.weight"] = (
                rng.standard_normal((out_dim, rank), dtype=np.float32) * scale
            )
    return state


# stories260K's shape (for adapters made without torch)
STORIES_SHAPE = {"n_layers": 5, "n_embd": 64, "n_head": 8, "n_head_kv": 4, "n_ff": 172}


@contextlib.contextmanager
def training_at_work(data_dir: Path, name: str = "clinic-letters") -> Iterator[None]:
    """A workspace whose job `name` is running, its trainer process alive (as another
    `localai finetune run` beside the app leaves it): the job row says "running" with the
    pid of a process whose command line names the job's folder, as the trainer's does."""
    from localai_desktop.core.datafolder.workspace import Workspace
    from localai_desktop.core.finetune.events import TrainingSettings
    from localai_desktop.core.finetune.jobs import JobStatus

    with Workspace.open(data_dir) as workspace:
        job = workspace.jobs.create(
            name,
            base_model_id=1,
            base_model_sha256="0" * 64,
            settings=TrainingSettings(),
            dataset={},
        )
        folder = workspace.paths.finetune / f"job-{job.id}"
        folder.mkdir(parents=True)
        trainer = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(300)", str(folder)]
        )
        workspace.jobs.update(job.id, status=JobStatus.RUNNING, pid=trainer.pid, folder=str(folder))
    try:
        yield
    finally:
        trainer.kill()
        trainer.wait()
