"""Build real GGUF files (random models, broken files) for tests and benchmarks."""

from __future__ import annotations

import ctypes
import functools
import math
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter, LlamaFileType, TokenType

_Fields = list[tuple[str, Any, GGUFValueType, GGUFValueType | None]]

_DTYPES = {
    "f32": (np.float32, LlamaFileType.ALL_F32),
    "f16": (np.float16, LlamaFileType.MOSTLY_F16),
}
_ALIGNMENT = 32  # the gguf writer's default data alignment


@functools.lru_cache(maxsize=8)
def _tokenizer_fields(source: Path) -> tuple[tuple[str, Any, GGUFValueType, Any], ...]:
    """Every tokenizer.* key of a GGUF file, typed, ready to be written again.

    Cached: GGUFReader needs ~2 s for a 32k vocabulary and tests build several models.
    """
    reader = GGUFReader(source)
    fields = []
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        value = field.contents()
        fields.append((key, tuple(value) if isinstance(value, list) else value, vtype, sub_type))
    return tuple(fields)


def _handmade_tokenizer(duplicate_token: bool = False) -> _Fields:
    """A small SentencePiece-style vocabulary: control tokens, 256 byte tokens, some words."""
    words = ("the", "a", "and", "to", "was", "he", "she", "it", "said", "little", "big", "day")
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581{w}" for w in words] + list("abcdefghijklmnopqrstuvwxyz")
    if duplicate_token:
        # llama.cpp's vocabulary loader asserts that tokens are unique (and aborts if not).
        tokens.append("\u2581the")
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    types += [TokenType.NORMAL] * (len(tokens) - len(types))
    u32, f32, arr = GGUFValueType.UINT32, GGUFValueType.FLOAT32, GGUFValueType.ARRAY
    return [
        ("tokenizer.ggml.model", "llama", GGUFValueType.STRING, None),
        ("tokenizer.ggml.tokens", tokens, arr, GGUFValueType.STRING),
        ("tokenizer.ggml.scores", [-float(i) for i in range(len(tokens))], arr, f32),
        ("tokenizer.ggml.token_type", [int(t) for t in types], arr, GGUFValueType.INT32),
        ("tokenizer.ggml.unknown_token_id", 0, u32, None),
        ("tokenizer.ggml.bos_token_id", 1, u32, None),
        ("tokenizer.ggml.eos_token_id", 2, u32, None),
    ]


def _field_value(fields: _Fields, key: str, default: Any = None) -> Any:
    return next((value for k, value, _, _ in fields if k == key), default)


@functools.lru_cache(maxsize=1)
def _gpt2_byte_decoder() -> dict[str, int]:
    """The inverse of GPT-2's byte-to-printable-character map used by byte-level BPE vocabs."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def _is_plain_text_token(piece: str, tokenizer_model: str) -> bool:
    """Whether a token decodes on its own to printable text (not a partial UTF-8 sequence)."""
    if tokenizer_model == "gpt2":
        decoder = _gpt2_byte_decoder()
        try:
            piece = bytes(decoder[c] for c in piece).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            return False
    else:
        piece = piece.replace("\u2581", " ")
    return bool(piece) and piece.isprintable()


def _never_stop_mask(fields: _Fields) -> np.ndarray:
    """True for the tokens a never-stopping model may produce: plain, printable word pieces."""
    tokens = _field_value(fields, "tokenizer.ggml.tokens")
    types = _field_value(fields, "tokenizer.ggml.token_type", [TokenType.NORMAL] * len(tokens))
    model = _field_value(fields, "tokenizer.ggml.model", "llama")
    mask = np.array(
        [
            t == TokenType.NORMAL and _is_plain_text_token(p, model)
            for p, t in zip(tokens, types, strict=True)
        ]
    )
    for key in ("eos", "eot", "eom", "bos", "padding", "seperator"):
        token_id = _field_value(fields, f"tokenizer.ggml.{key}_token_id")
        if token_id is not None and 0 <= token_id < len(mask):
            mask[token_id] = False
    return mask


def _write_llama(
    path: Path,
    tokenizer: _Fields,
    *,
    arch: str = "llama",
    n_embd: int,
    n_layers: int,
    n_head: int,
    n_head_kv: int,
    n_ff: int,
    context_length: int,
    seed: int,
    never_stop: bool,
    name: str,
    license: str | None,
    dtype: str,
    omit_tensors: Collection[str] = (),
    split_max_tensors: int = 0,
) -> Path:
    """Write a llama-shaped model with random weights under the given architecture name."""
    np_dtype, file_type = _DTYPES[dtype]
    rng = np.random.default_rng(seed)
    n_vocab = len(_field_value(tokenizer, "tokenizer.ggml.tokens"))
    head_dim = n_embd // n_head

    writer = GGUFWriter(path, arch, split_max_tensors=split_max_tensors)
    writer.add_name(name)
    if license:
        writer.add_license(license)
    writer.add_file_type(file_type)
    writer.add_context_length(context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    for key, value, vtype, sub_type in tokenizer:
        writer.add_key_value(
            key, list(value) if vtype == GGUFValueType.ARRAY else value, vtype, sub_type
        )

    def add(
        name_: str, *shape: int, scale: float = 0.02, weights: np.ndarray | None = None
    ) -> None:
        if name_ in omit_tensors:
            return
        if weights is None:
            weights = rng.standard_normal(shape, dtype=np.float32) * 0.02
        # Norm vectors stay F32, as llama.cpp's converter writes them.
        writer.add_tensor(name_, weights.astype(np.float32 if len(shape) == 1 else np_dtype))

    add("token_embd.weight", n_vocab, n_embd)
    for i in range(n_layers):
        add(f"blk.{i}.attn_norm.weight", n_embd, weights=np.ones(n_embd))
        add(f"blk.{i}.attn_q.weight", n_head * head_dim, n_embd)
        add(f"blk.{i}.attn_k.weight", n_head_kv * head_dim, n_embd)
        add(f"blk.{i}.attn_v.weight", n_head_kv * head_dim, n_embd)
        add(f"blk.{i}.attn_output.weight", n_embd, n_head * head_dim)
        add(f"blk.{i}.ffn_norm.weight", n_embd, weights=np.ones(n_embd))
        add(f"blk.{i}.ffn_gate.weight", n_ff, n_embd)
        add(f"blk.{i}.ffn_up.weight", n_ff, n_embd)
        add(f"blk.{i}.ffn_down.weight", n_embd, n_ff)
    output = rng.standard_normal((n_vocab, n_embd), dtype=np.float32) * 0.02
    output_norm = np.ones(n_embd, dtype=np.float32)
    if never_stop:
        # A zero row gives logit 0; scaling the final norm spreads the other logits to +-10, so
        # special, byte and end tokens never win, and top-k sampling never even sees them.
        output[~_never_stop_mask(tokenizer)] = 0.0
        output_norm *= 10.0 / (0.02 * math.sqrt(n_embd))
    add("output_norm.weight", n_embd, weights=output_norm)
    add("output.weight", n_vocab, n_embd, weights=output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_random_llama(
    path: Path,
    *,
    tokenizer_from: Path,
    n_embd: int = 64,
    n_layers: int = 2,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_ff: int = 128,
    context_length: int = 2048,
    seed: int = 0,
    never_stop: bool = True,
    chat_template: str | None = "keep",
    name: str = "Tiny Random Llama",
    license: str | None = "mit",
    dtype: str = "f32",
    omit_tensors: Collection[str] = (),
) -> Path:
    """A llama model with random weights and the tokenizer of another GGUF file.

    chat_template: "keep" keeps the source's template, None removes it, a string replaces it.
    never_stop: the model streams printable word pieces and never samples an end token, so a
    generation always runs to max_tokens. omit_tensors leaves tensors out (a broken model).
    """
    source = list(_tokenizer_fields(Path(tokenizer_from)))
    fields = [f for f in source if f[0] != "tokenizer.chat_template"]
    template = _field_value(source, "tokenizer.chat_template")
    if chat_template != "keep":
        template = chat_template
    if template:
        fields.append(("tokenizer.chat_template", template, GGUFValueType.STRING, None))
    return _write_llama(
        Path(path),
        fields,
        n_embd=n_embd,
        n_layers=n_layers,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_ff=n_ff,
        context_length=context_length,
        seed=seed,
        never_stop=never_stop,
        name=name,
        license=license,
        dtype=dtype,
        omit_tensors=omit_tensors,
    )


def quantize(src: Path, dst: Path, ftype: str = "Q4_K_M") -> Path:
    """Quantize a GGUF with llama.cpp (K-quants want row sizes divisible by 256)."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{ftype.upper()}")
    result = llama_cpp.llama_model_quantize(
        str(src).encode(), str(dst).encode(), ctypes.byref(params)
    )
    if result != 0:
        raise RuntimeError(f"llama_model_quantize({src} -> {ftype}) returned {result}")
    return Path(dst)


def write_too_large_model(path: Path, *, weight_bytes: int = 64 * 1024**3) -> Path:
    """A valid llama GGUF declaring about weight_bytes of F16 weights, stored as a sparse file.

    The tensor data is a hole (f.truncate), so the file is complete by size but takes no disk
    space on file systems with sparse files (ext4, APFS, tmpfs; not FAT).
    """
    n_embd, n_ff, n_head, n_head_kv = 8192, 28672, 64, 8
    head_dim = n_embd // n_head
    tokenizer = _handmade_tokenizer()
    n_vocab = len(_field_value(tokenizer, "tokenizer.ggml.tokens"))
    layer_shapes = {
        "attn_norm": (n_embd,),
        "attn_q": (n_head * head_dim, n_embd),
        "attn_k": (n_head_kv * head_dim, n_embd),
        "attn_v": (n_head_kv * head_dim, n_embd),
        "attn_output": (n_embd, n_head * head_dim),
        "ffn_norm": (n_embd,),
        "ffn_gate": (n_ff, n_embd),
        "ffn_up": (n_ff, n_embd),
        "ffn_down": (n_embd, n_ff),
    }
    layer_bytes = sum(2 * math.prod(s) for s in layer_shapes.values())
    n_layers = max(1, round(weight_bytes / layer_bytes))

    writer = GGUFWriter(path, "llama")
    writer.add_name("Too Large Test Model")
    writer.add_file_type(LlamaFileType.MOSTLY_F16)
    writer.add_context_length(8192)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    for key, value, vtype, sub_type in tokenizer:
        writer.add_key_value(key, value, vtype, sub_type)

    shapes: list[tuple[str, Sequence[int], type]] = [
        ("token_embd.weight", (n_vocab, n_embd), np.float16)
    ]
    for i in range(n_layers):
        for part, shape in layer_shapes.items():
            dtype = np.float32 if len(shape) == 1 else np.float16
            shapes.append((f"blk.{i}.{part}.weight", shape, dtype))
    shapes += [("output_norm.weight", (n_embd,), np.float32)]
    shapes += [("output.weight", (n_vocab, n_embd), np.float16)]
    data_size = 0
    for tensor_name, shape, dtype in shapes:
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        writer.add_tensor_info(tensor_name, shape, np.dtype(dtype), nbytes)
        data_size += -(-nbytes // _ALIGNMENT) * _ALIGNMENT

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    with open(path, "r+b") as f:
        header_end = f.seek(0, 2)
        f.truncate(-(-header_end // _ALIGNMENT) * _ALIGNMENT + data_size)
    return Path(path)


def write_truncated_copy(src: Path, dst: Path, keep_fraction: float = 0.5) -> Path:
    """The first part of a file, as an interrupted download leaves it."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * keep_fraction)])
    return Path(dst)


def write_random_bytes(dst: Path, size: int = 1_000_000, seed: int = 0) -> Path:
    """Random bytes with a .gguf name."""
    Path(dst).write_bytes(np.random.default_rng(seed).bytes(size))
    return Path(dst)


def write_fake_pdf(dst: Path) -> Path:
    """A real, minimal one-page PDF document saved under a .gguf name."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length 41 >>\nstream\nBT /F1 18 Tf 20 40 Td (Not a model) Tj ET\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    Path(dst).write_bytes(bytes(out))
    return Path(dst)


def write_split_llama(path: Path, *, tokenizer_from: Path, parts: int = 3) -> list[Path]:
    """A small random llama split into parts named like path-00001-of-0000N.gguf; their paths."""
    path = Path(path)
    n_tensors = 3 + 9 * _SMALL_MODEL["n_layers"]
    fields = list(_tokenizer_fields(Path(tokenizer_from)))
    _write_llama(path, fields, **_SMALL_MODEL, split_max_tensors=-(-n_tensors // parts))
    return [path.with_name(f"{path.stem}-{i:05d}-of-{parts:05d}.gguf") for i in range(1, parts + 1)]


def write_unsupported_architecture(dst: Path, arch: str = "zorblax") -> Path:
    """A valid GGUF with real tensors whose architecture llama.cpp does not know."""
    return _write_llama(Path(dst), _handmade_tokenizer(), arch=arch, **_SMALL_MODEL)


def write_duplicate_token_model(dst: Path) -> Path:
    """A valid llama GGUF whose vocabulary repeats a token: llama.cpp aborts the process on it."""
    return _write_llama(Path(dst), _handmade_tokenizer(duplicate_token=True), **_SMALL_MODEL)


def write_missing_tensor_model(dst: Path, missing: str = "blk.0.attn_q.weight") -> Path:
    """A valid llama GGUF lacking one required tensor: llama.cpp refuses to load it."""
    return _write_llama(Path(dst), _handmade_tokenizer(), omit_tensors={missing}, **_SMALL_MODEL)


_SMALL_MODEL: dict[str, Any] = {
    "n_embd": 64,
    "n_layers": 1,
    "n_head": 4,
    "n_head_kv": 2,
    "n_ff": 128,
    "context_length": 512,
    "seed": 0,
    "never_stop": False,
    "name": "Small Test Model",
    "license": "mit",
    "dtype": "f32",
}
