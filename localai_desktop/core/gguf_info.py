"""Read and check a GGUF model file before llama.cpp ever sees it, and size it against memory."""

from __future__ import annotations

import hashlib
import logging
import math
import mmap
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from gguf.constants import (
    GGML_QUANT_SIZES,
    GGUF_DEFAULT_ALIGNMENT,
    GGUF_MAGIC,
    GGMLQuantizationType,
    GGUFValueType,
    LlamaFileType,
)

from localai_desktop.core.errors import InvalidModelFileError, ModelTooLargeError

logger = logging.getLogger(__name__)

# The architecture names known to the llama.cpp inside llama-cpp-python 0.3.36 (LLM_ARCH_NAMES in
# its src/llama-arch.cpp), without "clip", which is a vision projector and not a model on its
# own. The gguf package's MODEL_ARCH_NAMES is not used: it is released separately and differs
# both ways. Update this set when llama-cpp-python is upgraded (a test checks it against the
# installed library).
SUPPORTED_ARCHITECTURES = frozenset(
    """
    llama llama4 deci falcon grok gpt2 gptj gptneox mpt baichuan starcoder refact bert modern-bert
    nomic-bert nomic-bert-moe neo-bert jina-bert-v2 jina-bert-v3 eurobert bloom stablelm qwen qwen2
    qwen2moe qwen2vl qwen3 qwen3moe qwen3next qwen3vl qwen3vlmoe qwen35 qwen35moe qwen4exp phi2 phi3
    phimoe plamo plamo2 plamo3 codeshell orion internlm2 minicpm minicpm3 gemma gemma2 gemma3
    gemma3n gemma4 gemma4-assistant gemma-embedding starcoder2 mamba mamba2 maple jamba falcon-h1
    xverse command-r cohere2 cohere2moe dbrx olmo olmo2 olmoe muse-glimmer openelm arctic deepseek
    deepseek2 deepseek2-ocr deepseek32 deepseek4 chatglm glm4 glm4moe glm-dsa bitnet t5 t5encoder
    jais jais2 nemotron nemotron_h nemotron_h_moe exaone exaone4 exaone-moe rwkv6 rwkv6qwen2 rwkv7
    arwkv7 granite granitemoe granitehybrid graniteswitch granite_swa chameleon wavtokenizer-dec
    plm bailingmoe bailingmoe2 bailingmoe3 dots1 dots3note arcee afmoe laguna ernie4_5 ernie4_5-moe
    hunyuan-moe hunyuan-dense hunyuan_vl hy_v3 hy_v4 smollm3 gpt-oss lfm2 lfm2moe dream
    smallthinker llada llada-moe seed_oss grovemoe apertus minimax-01 hrm_text minimax-m2
    minimax-m3 cogvlm rnd1 pangu-embedded mistral3 eagle3 dflash mistral4 paddleocr
    """.split()  # noqa: SIM905 (a list literal would take 140 lines)
)

# Architectures that turn text into vectors instead of generating it (their GGUFs may lack
# a pooling_type key, so the name alone has to tell).
EMBEDDING_ARCHITECTURES = frozenset(
    {"bert", "modern-bert", "nomic-bert", "nomic-bert-moe", "neo-bert", "jina-bert-v2"}
    | {"jina-bert-v3", "eurobert", "gemma-embedding", "t5encoder"}
)

_SPLIT_NAME = re.compile(r"^(?P<prefix>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
_MAX_NAME_LENGTH = 64  # GGML_MAX_NAME: llama.cpp refuses longer tensor names
_MAX_DIMS = 4
_SMALL_ARRAY = (
    4096  # arrays up to this length are kept (per-layer head counts); longer ones skipped
)
_GUESSED_FILE_TYPE = 1024  # flag llama.cpp ORs into general.file_type when it guessed the type
_SCALARS: dict[int, struct.Struct] = {
    t: struct.Struct("<" + c)
    for t, c in [
        (GGUFValueType.UINT8, "B"),
        (GGUFValueType.INT8, "b"),
        (GGUFValueType.UINT16, "H"),
        (GGUFValueType.INT16, "h"),
        (GGUFValueType.UINT32, "I"),
        (GGUFValueType.INT32, "i"),
        (GGUFValueType.FLOAT32, "f"),
        (GGUFValueType.BOOL, "?"),
        (GGUFValueType.UINT64, "Q"),
        (GGUFValueType.INT64, "q"),
        (GGUFValueType.FLOAT64, "d"),
    ]
}
_U32 = _SCALARS[GGUFValueType.UINT32]
_U64 = _SCALARS[GGUFValueType.UINT64]

_INCOMPLETE_TODO = "Download it again."
_DAMAGED_TODO = "Download the model again, or choose another model."


@dataclass(frozen=True)
class GgufInfo:
    """What the app needs to know about a model file, read from its GGUF metadata."""

    path: Path
    name: str
    architecture: str
    parameter_count: int
    quantization: str
    context_length: int
    embedding_length: int
    block_count: int
    head_count: int
    head_count_kv: int
    file_size: int
    license: str | None
    chat_template: str | None
    is_embedding_model: bool
    split_count: int
    # Per-head sizes of keys and values; 0 means embedding_length // head_count.
    key_length: int = 0
    value_length: int = 0

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template)


@dataclass(frozen=True)
class _Array:
    """A long metadata array that was skipped, not read: only its length is kept."""

    item_type: int
    length: int


@dataclass
class _Header:
    """The parsed header of one GGUF file (one shard of a split model)."""

    fields: dict[str, Any]
    parameter_count: int
    bytes_by_type: dict[str, int]
    tensor_count: int
    data_end: int  # where the last tensor's data ends; the file must be at least this long


class _Truncated(Exception):
    """The file ends before its header or tensor data does."""


class _Damaged(Exception):
    """The header contradicts itself; the text says how (for the log, not for the user)."""


class _Reader:
    """Walks a GGUF header in a memory map; bounds-checked so garbage cannot run past the end."""

    def __init__(self, buf: mmap.mmap) -> None:
        self.buf = buf
        self.pos = 0

    def need(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise _Truncated

    def scalar(self, fmt: struct.Struct) -> Any:
        self.need(fmt.size)
        (value,) = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return value

    def string(self) -> str:
        n = self.scalar(_U64)
        self.need(n)
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def value(self, vtype: int, key: str) -> Any:
        if vtype == GGUFValueType.STRING:
            return self.string()
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype != GGUFValueType.ARRAY:
            raise _Damaged(f"key {key!r} has unknown type {vtype}")
        item_type, length = self.scalar(_U32), self.scalar(_U64)
        if item_type in _SCALARS:
            size = _SCALARS[item_type].size
            self.need(length * size)
            if length <= _SMALL_ARRAY:
                fmt = f"<{length}{_SCALARS[item_type].format[1:]}"
                values = list(struct.unpack_from(fmt, self.buf, self.pos))
                self.pos += length * size
                return values
            self.pos += length * size
            return _Array(item_type, length)
        if item_type != GGUFValueType.STRING:
            raise _Damaged(f"array {key!r} has unsupported item type {item_type}")
        if length <= _SMALL_ARRAY:
            return [self.string() for _ in range(length)]
        # Vocabularies hold 100k+ strings: step over them without decoding (the gguf package's
        # reader builds a numpy array per string and needs ~20 s for a Llama 3 vocabulary).
        buf, pos, end = self.buf, self.pos, len(self.buf)
        unpack = _U64.unpack_from
        for _ in range(length):
            if pos + 8 > end:
                raise _Truncated
            pos += 8 + unpack(buf, pos)[0]
        if pos > end:
            raise _Truncated
        self.pos = pos
        return _Array(item_type, length)


def _parse_header(buf: mmap.mmap) -> _Header:
    """Parse magic, metadata and tensor infos with the checks llama.cpp's gguf_init makes."""
    r = _Reader(buf)
    r.pos = 8  # magic and version were checked by the caller
    tensor_count, kv_count = r.scalar(_U64), r.scalar(_U64)
    # Each key-value pair takes at least 13 bytes and each tensor info 24: larger counts are
    # garbage, and looping over them would take forever.
    if kv_count * 13 > len(buf) or tensor_count * 24 > len(buf):
        raise _Damaged(f"impossible counts: {tensor_count} tensors, {kv_count} keys")
    fields: dict[str, Any] = {}
    for _ in range(kv_count):
        key = r.string()
        if not key or key in fields:
            raise _Damaged(f"empty or duplicate key {key!r}")
        fields[key] = r.value(r.scalar(_U32), key)
    alignment = fields.get("general.alignment", GGUF_DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise _Damaged(f"bad alignment {alignment!r}")

    names: set[str] = set()
    parameters, expected_offset, data_size = 0, 0, 0
    bytes_by_type: dict[str, int] = {}
    for _ in range(tensor_count):
        name = r.string()
        if len(name) >= _MAX_NAME_LENGTH or name in names:
            raise _Damaged(f"bad or duplicate tensor name {name!r}")
        names.add(name)
        n_dims = r.scalar(_U32)
        if n_dims > _MAX_DIMS:
            raise _Damaged(f"tensor {name!r} has {n_dims} dimensions")
        dims = [r.scalar(_U64) for _ in range(n_dims)]
        raw_type, offset = r.scalar(_U32), r.scalar(_U64)
        try:
            qtype = GGMLQuantizationType(raw_type)
            block_size, type_size = GGML_QUANT_SIZES[qtype]
        except (ValueError, KeyError):
            raise _Damaged(f"tensor {name!r} has unknown type {raw_type}") from None
        if dims and dims[0] % block_size:
            raise _Damaged(f"tensor {name!r} rows do not fit type {qtype.name}")
        if offset != expected_offset:
            raise _Damaged(f"tensor {name!r} at offset {offset}, expected {expected_offset}")
        elements = math.prod(dims)
        nbytes = elements // block_size * type_size
        parameters += elements
        bytes_by_type[qtype.name] = bytes_by_type.get(qtype.name, 0) + nbytes
        data_size = offset + nbytes
        expected_offset = offset + -(-nbytes // alignment) * alignment
    # llama.cpp aligns the data section only when there is one (a tokenizer-only file has none).
    data_end = -(-r.pos // alignment) * alignment + data_size if tensor_count else r.pos
    return _Header(fields, parameters, bytes_by_type, tensor_count, data_end)


def _describe_non_gguf(head: bytes) -> str:
    """Say in plain words what a file that is not GGUF looks like, from its first bytes."""
    stripped = head.lstrip().lower()
    known = [
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1f\x8b", "a compressed (gzip) archive"),
        (b"7z\xbc\xaf", "a compressed (7-Zip) archive"),
        (b"Rar!", "a compressed (RAR) archive"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"lmgg", "an old GGML model, a format from before GGUF"),
        (b"fmgg", "an old GGML model, a format from before GGUF"),
        (b"tjgg", "an old GGML model, a format from before GGUF"),
        (b"version https://git-lfs", "a Git LFS pointer (a small placeholder, not the model)"),
        (b"\x80\x02", "a PyTorch or pickle file"),
        (b"\x80\x04", "a PyTorch or pickle file"),
    ]
    for magic, kind in known:
        if head.startswith(magic):
            return kind
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML), perhaps an error page saved instead of the download"
    if len(head) >= 10 and head[8:10] == b'{"':
        return "a safetensors model, a format for training rather than for running"
    # The 64 bytes may end inside a multi-byte character; a replacement anywhere else means binary.
    text = head.decode("utf-8", errors="replace").rstrip("\ufffd")
    if text.strip() and all(c.isprintable() or c in "\r\n\t" for c in text):
        return "a text file"
    return ""


def _open_and_parse(path: Path) -> tuple[_Header, int]:
    """Check the start of a file and parse its header; every failure becomes a plain message."""
    if path.is_dir():
        raise InvalidModelFileError(
            f"{path.name} is a folder, not a model file.", "Choose a .gguf file."
        )
    if not path.is_file():
        raise InvalidModelFileError(
            f"The model file {path} does not exist.",
            "Check that the file was not moved or deleted.",
        )
    size = path.stat().st_size
    if size == 0:
        raise InvalidModelFileError(
            f"The file {path.name} is empty, probably a download that did not finish.",
            _INCOMPLETE_TODO,
        )
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            head = buf[:64]
            if len(head) < 4 or struct.unpack_from("<I", head)[0] != GGUF_MAGIC:
                kind = _describe_non_gguf(head)
                what = f"This file is {kind}, not a GGUF model." if kind else ""
                raise InvalidModelFileError(
                    what or f"{path.name} is not a GGUF model file; its contents are not a model.",
                    "Choose a model file in GGUF format (the name usually ends in .gguf).",
                )
            version = struct.unpack_from("<I", head, 4)[0] if len(head) >= 8 else 0
            _check_version(version)
            return _parse_header(buf), size
    except _Truncated:
        # Either cut off very early or a damaged length field: both read past the end.
        raise InvalidModelFileError(
            f"The file {path.name} is incomplete or damaged: it ends in the middle of its header.",
            _INCOMPLETE_TODO,
        ) from None
    except _Damaged as exc:
        logger.info("refused %s: %s", path, exc)  # the detail is for support, not for the user
        raise InvalidModelFileError(
            f"The file {path.name} is damaged: the description of its contents does not add up.",
            _DAMAGED_TODO,
        ) from None
    except PermissionError:
        raise InvalidModelFileError(
            f"This app is not allowed to read {path.name}.", "Check the file's permissions."
        ) from None
    except (OSError, ValueError, OverflowError, MemoryError) as exc:
        logger.info("cannot read %s: %r", path, exc)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a read error"
        raise InvalidModelFileError(
            f"The file {path.name} cannot be read ({reason}).", _DAMAGED_TODO
        ) from None


def _check_version(version: int) -> None:
    if version == 0 or (version & 0xFFFF) == 0:
        raise InvalidModelFileError(
            "This GGUF file was made for big-endian computers and cannot be used here.",
            "Download the ordinary (little-endian) version of this model.",
        )
    if version == 1:
        raise InvalidModelFileError(
            "This file uses the first GGUF version, which llama.cpp no longer reads.",
            "Download a newer conversion of this model.",
        )
    if version > 3:
        raise InvalidModelFileError(
            f"This file uses GGUF version {version}, newer than this app understands.",
            "Check for an update of LocalAI Desktop, or download an older conversion.",
        )


def _incomplete(path: Path, expected: int, size: int) -> InvalidModelFileError:
    return InvalidModelFileError(
        f"The file {path.name} is incomplete (it has {format_bytes(size)} of "
        f"{format_bytes(expected)}), probably a download that did not finish.",
        _INCOMPLETE_TODO,
    )


def _shard_paths(path: Path, fields: dict[str, Any]) -> list[Path]:
    """All files of a split model, given its first file ([path] when it is not split)."""
    count = _int_field(fields, "split.count", 1)
    if count <= 1:
        return [path]
    number = _int_field(fields, "split.no")
    match = _SPLIT_NAME.match(path.name)
    if not match:
        raise InvalidModelFileError(
            f"{path.name} is part {number + 1} of a model split into {count} files, but it has "
            "been renamed, so the other parts cannot be found.",
            "Give the parts their original names (name-00001-of-0000N.gguf).",
        )
    prefix = match["prefix"]
    if number != 0:
        first = f"{prefix}-00001-of-{count:05d}.gguf"
        raise InvalidModelFileError(
            f"{path.name} is part {number + 1} of a model split into {count} files.",
            f"Open the first part, {first}.",
        )
    return [path.with_name(f"{prefix}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def _quantization(fields: dict[str, Any], bytes_by_type: dict[str, int]) -> str:
    file_type = fields.get("general.file_type")
    if isinstance(file_type, int):
        try:
            name = LlamaFileType(file_type & ~_GUESSED_FILE_TYPE).name
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass  # a file type newer than the gguf package: fall back to the tensors
    if not bytes_by_type:
        return "unknown"
    return max(bytes_by_type.items(), key=lambda item: item[1])[0]


def _int_field(fields: dict[str, Any], key: str, default: int = 0) -> int:
    """An integer hyperparameter; per-layer lists (some models vary heads by layer) give the max."""
    value = fields.get(key, default)
    if isinstance(value, list):
        value = max((v for v in value if isinstance(v, int)), default=default)
    # A value of the wrong type or sign (a damaged or hand-made file) counts as absent.
    return value if isinstance(value, int) and value >= 0 else default


def _license(fields: dict[str, Any]) -> str | None:
    license_id = str(fields.get("general.license", "") or "").strip()
    license_name = str(fields.get("general.license.name", "") or "").strip()
    if license_id and license_name and license_name != license_id:
        return f"{license_id} ({license_name})"
    return license_id or license_name or None


def _check_is_runnable_model(path: Path, fields: dict[str, Any], tensor_count: int) -> str:
    """Refuse files that are valid GGUF but not a model this app can run; return the arch."""
    arch = fields.get("general.architecture")
    if fields.get("general.type") == "adapter":
        raise InvalidModelFileError(
            "This file is a LoRA adapter, not a model: it only changes a base model.",
            "Add the base model first, then use this file as its adapter.",
        )
    if arch == "clip":
        raise InvalidModelFileError(
            "This file is a vision projector (mmproj) that goes with a model, not a model itself.",
            "Choose the model's main .gguf file.",
        )
    if not isinstance(arch, str) or not arch:
        raise InvalidModelFileError(
            f"{path.name} does not say which kind of model it is, so it cannot be loaded.",
            _DAMAGED_TODO,
        )
    if arch not in SUPPORTED_ARCHITECTURES:
        raise InvalidModelFileError(
            f"This model uses the '{arch}' architecture, which this version of LocalAI Desktop "
            "cannot run.",
            "Choose a model built on a supported architecture (such as Llama, Qwen, Gemma, "
            "Mistral or Phi), or check for an update of the app.",
        )
    has_tokenizer = bool(fields.get("tokenizer.ggml.model")) and "tokenizer.ggml.tokens" in fields
    if tensor_count == 0:
        if has_tokenizer:
            raise InvalidModelFileError(
                f"{path.name} contains only a tokenizer, no model weights.",
                "Choose the full model file.",
            )
        raise InvalidModelFileError(
            f"{path.name} contains no model weights.", "Choose the full model file."
        )
    if not has_tokenizer:
        raise InvalidModelFileError(
            f"{path.name} has no tokenizer, so text cannot be turned into input for the model.",
            "Download a complete conversion of this model.",
        )
    return arch


def read_gguf_info(path: Path) -> GgufInfo:
    """Read a model's metadata, refusing any file llama.cpp could not or should not load.

    Raises InvalidModelFileError with a message for the user. Only the header is read (with
    bounds checks), so a multi-gigabyte file takes milliseconds.
    """
    path = Path(path)
    header, size = _open_and_parse(path)
    if size < header.data_end:
        raise _incomplete(path, header.data_end, size)
    fields = header.fields
    shards = _shard_paths(path, fields)
    parameters, file_size, tensor_count = header.parameter_count, size, header.tensor_count
    bytes_by_type = dict(header.bytes_by_type)
    for number, shard in enumerate(shards[1:], start=2):
        if not shard.is_file():
            raise InvalidModelFileError(
                f"Part {number} of {len(shards)} of this model ({shard.name}) is missing.",
                "Download all parts into the same folder.",
            )
        part, part_size = _open_and_parse(shard)
        if part_size < part.data_end:
            raise _incomplete(shard, part.data_end, part_size)
        parameters += part.parameter_count
        file_size += part_size
        tensor_count += part.tensor_count
        for qtype, nbytes in part.bytes_by_type.items():
            bytes_by_type[qtype] = bytes_by_type.get(qtype, 0) + nbytes
    arch = _check_is_runnable_model(path, fields, tensor_count)

    name = fields.get("general.name")
    if not isinstance(name, str) or not name.strip():
        match = _SPLIT_NAME.match(path.name)
        name = match["prefix"] if match else path.stem
    chat_template = fields.get("tokenizer.chat_template")
    head_count = _int_field(fields, f"{arch}.attention.head_count")
    pooling = fields.get(f"{arch}.pooling_type")
    return GgufInfo(
        path=path,
        name=name.strip(),
        architecture=arch,
        parameter_count=parameters,
        quantization=_quantization(fields, bytes_by_type),
        context_length=_int_field(fields, f"{arch}.context_length"),
        embedding_length=_int_field(fields, f"{arch}.embedding_length"),
        block_count=_int_field(fields, f"{arch}.block_count"),
        head_count=head_count,
        # llama.cpp's default when the key is absent: no grouped-query attention.
        head_count_kv=_int_field(fields, f"{arch}.attention.head_count_kv", head_count),
        file_size=file_size,
        license=_license(fields),
        chat_template=chat_template if isinstance(chat_template, str) and chat_template else None,
        is_embedding_model=arch in EMBEDDING_ARCHITECTURES
        or (isinstance(pooling, int) and pooling > 0),
        split_count=len(shards),
        key_length=_int_field(fields, f"{arch}.attention.key_length"),
        value_length=_int_field(fields, f"{arch}.attention.value_length"),
    )


def estimate_memory_bytes(info: GgufInfo, n_ctx: int) -> int:
    """Bytes of RAM to run the model: weights + F16 KV cache for n_ctx tokens + ~12% overhead.

    n_ctx <= 0 means the model's training context, as in llama.cpp.
    """
    if n_ctx <= 0:
        n_ctx = info.context_length or 4096
    head_dim = info.embedding_length // info.head_count if info.head_count else 0
    per_token_per_head = (info.key_length or head_dim) + (info.value_length or head_dim)
    kv_cache = info.block_count * n_ctx * info.head_count_kv * per_token_per_head * 2
    return int((info.file_size + kv_cache) * 1.12)


def total_memory_bytes() -> int:
    """Physical RAM of this computer."""
    return int(psutil.virtual_memory().total)


def check_fits_in_memory(info: GgufInfo, n_ctx: int, total_memory: int | None = None) -> None:
    """Raise ModelTooLargeError when the model would need more than 90% of the memory."""
    total = total_memory_bytes() if total_memory is None else total_memory
    needed = estimate_memory_bytes(info, n_ctx)
    # The rest of the system needs some memory too; beyond 90% the machine starts swapping.
    if needed > 0.9 * total:
        raise ModelTooLargeError(
            f"This model needs about {format_bytes(needed)} of memory but this computer has "
            f"{format_bytes(total)}.",
            "Choose a smaller model or a smaller quantization (for example Q4_K_M).",
        )


def format_bytes(n: int) -> str:
    """A size as people read it: "1.2 GB", "850 MB", "12 KB" (powers of 1024, like the OS)."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if round(value, 1) < 1024 or unit == "TB":
            break
    if unit in ("GB", "TB") or round(value, 1) < 10:
        return f"{value:.1f} {unit}"
    return f"{value:.0f} {unit}"


def format_parameter_count(n: int) -> str:
    """A parameter count as model names write it: "260K", "1.1B", "494M", "70B"."""
    if n < 1000:
        return str(n)
    for divisor, unit in ((1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T")):
        value = n / divisor
        if round(value) < 1000 or unit == "T":
            break
    text = f"{value:.1f}" if round(value, 1) < 10 else f"{value:.0f}"
    return text.removesuffix(".0") + unit


def sha256_of_file(
    path: Path | str,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> str:
    """The file's SHA-256 as 64 hex digits, read in 1 MiB chunks.

    progress(done, total) is called after each chunk. When should_cancel() turns true, reading
    stops and "" is returned: the caller, which owns the cancel flag, reports the cancellation.
    """
    chunk_size = 1024 * 1024
    total = Path(path).stat().st_size
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            if should_cancel is not None and should_cancel():
                return ""
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()
