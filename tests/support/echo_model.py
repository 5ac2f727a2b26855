"""A tiny GGUF model that only ever echoes the app's hidden document instruction.

The worst case of issue 19's bug report: a model without a chat template that repeats its
prompt. Its vocabulary has one extra token whose text is the opening of the app's document
instruction (documents.grounding.INSTRUCTIONS); its weights make that token the next one after
any input: every block adds nothing (zero attention output and zero FFN down projection, so the
residual passes through), so the next token depends only on the last one; every ordinary token
shares one embedding dimension that only the first echo token's output row reads, and each
echo token has its own dimension that the next one's row reads. Whatever it is asked, it writes
the instruction again and again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFValueType, GGUFWriter, TokenType

from localai_desktop.core.documents.grounding import INSTRUCTIONS

# The first sentence of the instruction, written as a chain of tokens of a few words each
# (llama-cpp-python turns a token into text through a 32-byte buffer: longer ones come out empty).
ECHO_TEXT = INSTRUCTIONS.split(". ")[0] + "."
_WORDS = ("the", "a", "and", "to", "of", "is", "in", "for", "how", "what", "when")


def _chain_pieces(text: str, most_bytes: int = 30) -> list[str]:
    pieces: list[str] = []
    for word in text.split(" "):
        piece = "\u2581" + word
        if pieces and len((pieces[-1] + piece).encode()) <= most_bytes:
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return pieces


def write_echo_model(
    path: Path, *, n_embd: int = 64, context_length: int = 8192, text: str = ECHO_TEXT
) -> Path:
    """Write the model to `path` (about 100 kB); it writes `text` over and over."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581{w}" for w in _WORDS] + list("abcdefghijklmnopqrstuvwxyz")
    chain = _chain_pieces(text)
    first_echo = len(tokens)
    tokens += chain
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    types += [TokenType.NORMAL] * (len(tokens) - len(types))
    n_vocab, n_head, n_ff = len(tokens), 4, 128
    rng = np.random.default_rng(0)

    writer = GGUFWriter(path, "llama")
    writer.add_name("Echo")
    writer.add_file_type(0)  # all F32
    writer.add_context_length(context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(1)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_rope_dimension_count(n_embd // n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    u32, f32, arr = GGUFValueType.UINT32, GGUFValueType.FLOAT32, GGUFValueType.ARRAY
    writer.add_key_value("tokenizer.ggml.model", "llama", GGUFValueType.STRING)
    writer.add_key_value("tokenizer.ggml.tokens", tokens, arr, GGUFValueType.STRING)
    writer.add_key_value("tokenizer.ggml.scores", [-float(i) for i in range(n_vocab)], arr, f32)
    writer.add_key_value(
        "tokenizer.ggml.token_type", [int(t) for t in types], arr, GGUFValueType.INT32
    )
    writer.add_key_value("tokenizer.ggml.unknown_token_id", 0, u32)
    writer.add_key_value("tokenizer.ggml.bos_token_id", 1, u32)
    writer.add_key_value("tokenizer.ggml.eos_token_id", 2, u32)

    def small(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.01).astype(np.float32)

    embeddings = small(n_vocab, n_embd)
    embeddings[:first_echo, 0] = 1.0  # any ordinary token: dimension 0
    for i in range(len(chain)):
        embeddings[first_echo + i, 0] = 0.0
        embeddings[first_echo + i, 1 + i] = 1.0  # echo piece i: dimension 1 + i
    writer.add_tensor("token_embd.weight", embeddings)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v"):
        writer.add_tensor(f"blk.0.{name}.weight", small(n_embd, n_embd))
    writer.add_tensor("blk.0.attn_output.weight", np.zeros((n_embd, n_embd), dtype=np.float32))
    writer.add_tensor("blk.0.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("blk.0.ffn_gate.weight", small(n_ff, n_embd))
    writer.add_tensor("blk.0.ffn_up.weight", small(n_ff, n_embd))
    writer.add_tensor("blk.0.ffn_down.weight", np.zeros((n_embd, n_ff), dtype=np.float32))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    output = np.zeros((n_vocab, n_embd), dtype=np.float32)
    # After an ordinary token (or the last piece): the first piece; after piece i: piece i + 1.
    output[first_echo, 0] = 100.0
    output[first_echo, len(chain)] = 100.0
    for i in range(len(chain) - 1):
        output[first_echo + i + 1, 1 + i] = 100.0
    writer.add_tensor("output.weight", output)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
