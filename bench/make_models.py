"""Generate the benchmark models into bench/models/: random-weight Qwen2-shaped Q4_K_M files.

Run by hand:  .venv/bin/python bench/make_models.py [--size 0.5b 1b 3b]
(0.5B: about 2 minutes, 2.5 GB of RAM; 1B: about 4 minutes, 5 GB; 3B: about 15 minutes, 9 GB)
Idempotent: a model that is already there is left alone (delete it to rebuild).
Tokens/s depends on a model's shape and quantization, not on its weights' values, so random
weights stand in for Qwen2-0.5B-Instruct: same architecture (qwen2: q/k/v biases, grouped-query
attention, tied embeddings), same sizes, same 151,936-token vocabulary size and a ChatML chat
template. The vocabulary is GPT-2's 50,257 byte-level BPE tokens (the only one of that kind in
the shared models) padded with unused tokens. Never-stop weights (see tests/gguf_factory.py)
make every answer run to its token limit, so runs are comparable.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from benchlib import REPO_ROOT, SHARED_MODELS, quiet_llama_logs  # also puts the repo on sys.path
from gguf import GGUFValueType, GGUFWriter, LlamaFileType, TokenType

from tests.support import gguf_factory

MODELS_DIR = REPO_ROOT / "bench" / "models"
GPT2_TOKENIZER = SHARED_MODELS / "ggml-vocab-gpt-2.gguf"
MODEL_0_5B = MODELS_DIR / "random-qwen2-0.5b-Q4_K_M.gguf"
MODEL_1B = MODELS_DIR / "random-qwen2-1b-Q4_K_M.gguf"

# Qwen2-0.5B's config.json (and Qwen2.5-0.5B's): hidden 896, 24 layers, 14 query heads over
# 2 KV heads, MLP 4864, vocabulary 151,936, rope theta 1e6, RMS norm eps 1e-6.
QWEN2_0_5B = {
    "n_embd": 896,
    "n_layers": 24,
    "n_head": 14,
    "n_head_kv": 2,
    "n_ff": 4864,
    "n_vocab": 151936,
    "context_length": 32768,
}
# A 1B-class model of the same family (for bench/bench_llama_bench.py): rows of 2048 (a multiple
# of 256, so Q4_K_M uses its K-quants throughout, as Llama-3.2-1B's files do), 16 layers, 16 query
# heads over 4 KV heads (head size 128), MLP 5632: about 1.03B parameters with the same vocabulary.
QWEN2_1B = {
    "n_embd": 2048,
    "n_layers": 16,
    "n_head": 16,
    "n_head_kv": 4,
    "n_ff": 5632,
    "n_vocab": 151936,
    "context_length": 32768,
}
# Qwen2.5-3B's config.json: hidden 2048, 36 layers, 16 query heads over 2 KV heads, MLP 11008:
# about 3.1B parameters, a 1.9 GB Q4_K_M file (for bench/bench_speed_prediction.py --extra:
# the prediction on a multi-GB model).
QWEN2_3B = {
    "n_embd": 2048,
    "n_layers": 36,
    "n_head": 16,
    "n_head_kv": 2,
    "n_ff": 11008,
    "n_vocab": 151936,
    "context_length": 32768,
}
MODEL_3B = MODELS_DIR / "random-qwen2-3b-Q4_K_M.gguf"
SIZES = {
    "0.5b": (QWEN2_0_5B, MODEL_0_5B),
    "1b": (QWEN2_1B, MODEL_1B),
    "3b": (QWEN2_3B, MODEL_3B),
}
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def parameter_count(shape: dict[str, int]) -> int:
    d, ff, layers = shape["n_embd"], shape["n_ff"], shape["n_layers"]
    kv = d // shape["n_head"] * shape["n_head_kv"]
    per_layer = (d * d + d) + 2 * (d * kv + kv) + d * d + 3 * d * ff + 2 * d
    return layers * per_layer + shape["n_vocab"] * d + d  # embeddings tied with the output


def qwen2_tokenizer(n_vocab: int) -> list[tuple[str, object, GGUFValueType, object]]:
    """GPT-2's tokenizer, plus ChatML's two control tokens, padded with unused tokens."""
    fields = [
        f
        for f in gguf_factory._tokenizer_fields(GPT2_TOKENIZER)
        if f[0] != "tokenizer.chat_template"
    ]
    values = {key: value for key, value, _, _ in fields}
    tokens = list(values["tokenizer.ggml.tokens"])
    types = list(values["tokenizer.ggml.token_type"])
    im_end = len(tokens) + 1
    tokens += ["<|im_start|>", "<|im_end|>"]
    types += [TokenType.CONTROL, TokenType.CONTROL]
    # UNUSED, not CONTROL: llama.cpp scans the text for every control token while tokenizing.
    tokens += [f"<|unused_{i}|>" for i in range(n_vocab - len(tokens))]
    types += [TokenType.UNUSED] * (n_vocab - len(types))
    replaced = {
        "tokenizer.ggml.tokens": tuple(tokens),
        "tokenizer.ggml.token_type": tuple(int(t) for t in types),
        "tokenizer.ggml.eos_token_id": im_end,
    }
    out = [(k, replaced.get(k, v), vt, st) for k, v, vt, st in fields]
    u32, boolean, string = GGUFValueType.UINT32, GGUFValueType.BOOL, GGUFValueType.STRING
    out = [f for f in out if f[0] != "tokenizer.ggml.add_bos_token"]
    out += [
        ("tokenizer.ggml.add_bos_token", False, boolean, None),
        ("tokenizer.ggml.padding_token_id", values["tokenizer.ggml.bos_token_id"], u32, None),
        ("tokenizer.chat_template", CHATML_TEMPLATE, string, None),
    ]
    return out


def write_random_qwen2(
    path: Path,
    shape: dict[str, int],
    seed: int = 0,
    label: str = "0.5B",
    successors: dict[int, int] | None = None,
) -> Path:
    """A qwen2 model with random F16 weights that streams plain word pieces and never stops.

    With `successors` (token id -> the token that must follow it), a copying model instead: the
    same shapes and the same work per token, but every layer's output projections are zero (the
    residual stream stays the current token's embedding) and an untied output matrix maps each
    token of the table to its successor, so greedy decoding walks the table: it repeats the
    text the table was made from, as a trained model quoting its prompt would.
    """
    rng = np.random.default_rng(seed)
    d, n_head, n_kv = shape["n_embd"], shape["n_head"], shape["n_head_kv"]
    head_dim = d // n_head
    tokenizer = qwen2_tokenizer(shape["n_vocab"])
    writer = GGUFWriter(path, "qwen2")
    writer.add_name(f"Random Qwen2 {label} (benchmark)")
    writer.add_file_type(LlamaFileType.MOSTLY_F16)
    writer.add_context_length(shape["context_length"])
    writer.add_embedding_length(d)
    writer.add_block_count(shape["n_layers"])
    writer.add_feed_forward_length(shape["n_ff"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    for key, value, vtype, sub_type in tokenizer:
        writer.add_key_value(
            key, list(value) if vtype == GGUFValueType.ARRAY else value, vtype, sub_type
        )

    def random(*shape_: int) -> np.ndarray:
        return (rng.standard_normal(shape_, dtype=np.float32) * 0.02).astype(np.float16)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)  # norms and biases stay F32, as the converter does

    # Tied embeddings: token_embd is also the output matrix. Zeroing the rows of tokens that
    # are not plain text (and scaling the final norm so the other logits spread to +-10) keeps
    # control, byte and unused tokens from ever being sampled, as gguf_factory's never_stop.
    embeddings = rng.standard_normal((shape["n_vocab"], d), dtype=np.float32) * 0.02
    embeddings[~gguf_factory._never_stop_mask(tokenizer)] = 0.0
    writer.add_tensor("token_embd.weight", embeddings.astype(np.float16))
    norm_scale = 10.0 / (0.02 * math.sqrt(d))
    if successors:
        # logits = output @ (x / rms(x) * norm_scale) with x the token's own embedding: each
        # successor's row is aimed at its predecessor's normalised embedding, logit 30 there and
        # about +-1 for any other token (random 896-dimensional directions).
        stored = embeddings.astype(np.float16).astype(np.float32)
        output = np.zeros_like(stored)
        for token, follower in successors.items():
            x = stored[token]
            if not x.any():
                raise ValueError(f"token {token} is not plain text: it has no embedding here")
            x_hat = x / np.sqrt(np.mean(x * x)) * norm_scale
            output[follower] += 30.0 * x_hat / float(x_hat @ x_hat)
        writer.add_tensor("output.weight", output.astype(np.float16))
        del stored, output
    del embeddings

    def projection(*shape_: int) -> np.ndarray:
        return np.zeros(shape_, dtype=np.float16) if successors else random(*shape_)

    for i in range(shape["n_layers"]):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", ones(d))
        writer.add_tensor(f"blk.{i}.attn_q.weight", random(d, d))
        writer.add_tensor(f"blk.{i}.attn_q.bias", np.zeros(d, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_k.weight", random(n_kv * head_dim, d))
        writer.add_tensor(f"blk.{i}.attn_k.bias", np.zeros(n_kv * head_dim, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_v.weight", random(n_kv * head_dim, d))
        writer.add_tensor(f"blk.{i}.attn_v.bias", np.zeros(n_kv * head_dim, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_output.weight", projection(d, d))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", ones(d))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", random(shape["n_ff"], d))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", random(shape["n_ff"], d))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", projection(d, shape["n_ff"]))
    writer.add_tensor("output_norm.weight", ones(d) * norm_scale)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def make_0_5b(keep_f16: bool = False) -> Path:
    return make("0.5b", keep_f16=keep_f16)


def make(size: str, keep_f16: bool = False) -> Path:
    shape, target = SIZES[size]
    if target.is_file():
        print(f"exists, skipped: {target.relative_to(REPO_ROOT)}")
        return target
    if not GPT2_TOKENIZER.is_file():
        sys.exit(f"missing {GPT2_TOKENIZER} (set LOCALAI_TEST_MODELS_DIR)")
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    f16 = MODELS_DIR / f"random-qwen2-{size}-F16.gguf"
    print(f"writing {f16.name}: {parameter_count(shape) / 1e6:.0f}M parameters ...", flush=True)
    started = time.perf_counter()
    if not f16.is_file():
        partial = f16.with_suffix(".gguf.partial")
        write_random_qwen2(partial, shape, label=size.upper())
        partial.replace(f16)
    print(f"  {f16.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - started:.1f} s")
    print(f"quantizing to {target.name} ...", flush=True)
    started = time.perf_counter()
    quiet_llama_logs()
    partial = target.with_suffix(".gguf.partial")
    # Rows of 896 are not a multiple of 256: llama.cpp quantizes those matrices with its
    # fallback types (Q5_0/Q8_0), exactly as it does for the published Qwen2-0.5B Q4_K_M files.
    gguf_factory.quantize(f16, partial, "Q4_K_M")
    partial.replace(target)
    print(f"  {target.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - started:.1f} s")
    if not keep_f16:
        f16.unlink()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-f16", action="store_true", help="keep the F16 source file")
    parser.add_argument("--size", nargs="+", choices=sorted(SIZES), default=["0.5b"])
    args = parser.parse_args()
    for size in args.size:
        make(size, keep_f16=args.keep_f16)


if __name__ == "__main__":
    main()
