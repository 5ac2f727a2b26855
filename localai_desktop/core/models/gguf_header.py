"""A bounds-checked GGUF header parser: every length and offset is checked against the file.

The gguf package's GGUFReader builds one numpy array per vocabulary string (seconds for a
50k-token vocabulary) and trusts the file's lengths; this reads only what the app needs and
turns every malformation into InvalidModelFileError, as llama.cpp's own reader would refuse it.
"""

from __future__ import annotations

import functools
import logging
import math
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localai_desktop.core.common.errors import InvalidModelFileError
from localai_desktop.core.common.units import format_bytes

logger = logging.getLogger(__name__)

_MAX_NAME_LENGTH = 64  # GGML_MAX_NAME: llama.cpp refuses longer tensor names
_MAX_DIMS = 4
_SMALL_ARRAY = (
    4096  # arrays up to this length are kept (per-layer head counts); longer ones skipped
)
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")


# The gguf package's constants are imported where a file is read, not at the top: importing
# gguf also imports numpy and yaml (about 0.1 s), which starting the app does not need.
@functools.cache
def scalar_structs() -> dict[int, struct.Struct]:
    """How each GGUF scalar value type is stored (little-endian), by its type number."""
    from gguf.constants import GGUFValueType

    return {
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


INCOMPLETE_TODO = "Download it again."
DAMAGED_TODO = "Download the model again, or choose another model."


@dataclass(frozen=True)
class SkippedArray:
    """A long metadata array that was skipped, not read: only its length is kept."""

    item_type: int
    length: int


@dataclass
class GgufHeader:
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
        n = self.scalar(U64)
        self.need(n)
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def value(self, vtype: int, key: str) -> Any:
        from gguf.constants import GGUFValueType

        scalars = scalar_structs()
        if vtype == GGUFValueType.STRING:
            return self.string()
        if vtype in scalars:
            return self.scalar(scalars[vtype])
        if vtype != GGUFValueType.ARRAY:
            raise _Damaged(f"key {key!r} has unknown type {vtype}")
        item_type, length = self.scalar(U32), self.scalar(U64)
        if item_type in scalars:
            size = scalars[item_type].size
            self.need(length * size)
            if length <= _SMALL_ARRAY:
                fmt = f"<{length}{scalars[item_type].format[1:]}"
                values = list(struct.unpack_from(fmt, self.buf, self.pos))
                self.pos += length * size
                return values
            self.pos += length * size
            return SkippedArray(item_type, length)
        if item_type != GGUFValueType.STRING:
            raise _Damaged(f"array {key!r} has unsupported item type {item_type}")
        if length <= _SMALL_ARRAY:
            return [self.string() for _ in range(length)]
        # Vocabularies hold 100k+ strings: step over them without decoding (the gguf package's
        # reader builds a numpy array per string and needs ~20 s for a Llama 3 vocabulary).
        buf, pos, end = self.buf, self.pos, len(self.buf)
        unpack = U64.unpack_from
        for _ in range(length):
            if pos + 8 > end:
                raise _Truncated
            pos += 8 + unpack(buf, pos)[0]
        if pos > end:
            raise _Truncated
        self.pos = pos
        return SkippedArray(item_type, length)


def _parse_header(buf: mmap.mmap) -> GgufHeader:
    """Parse magic, metadata and tensor infos with the checks llama.cpp's gguf_init makes."""
    from gguf.constants import GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGMLQuantizationType

    r = _Reader(buf)
    r.pos = 8  # magic and version were checked by the caller
    tensor_count, kv_count = r.scalar(U64), r.scalar(U64)
    # Each key-value pair takes at least 13 bytes and each tensor info 24: larger counts are
    # garbage, and looping over them would take forever.
    if kv_count * 13 > len(buf) or tensor_count * 24 > len(buf):
        raise _Damaged(f"impossible counts: {tensor_count} tensors, {kv_count} keys")
    fields: dict[str, Any] = {}
    for _ in range(kv_count):
        key = r.string()
        if not key or key in fields:
            raise _Damaged(f"empty or duplicate key {key!r}")
        fields[key] = r.value(r.scalar(U32), key)
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
        n_dims = r.scalar(U32)
        if n_dims > _MAX_DIMS:
            raise _Damaged(f"tensor {name!r} has {n_dims} dimensions")
        dims = [r.scalar(U64) for _ in range(n_dims)]
        raw_type, offset = r.scalar(U32), r.scalar(U64)
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
    return GgufHeader(fields, parameters, bytes_by_type, tensor_count, data_end)


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


def parse_gguf_file(path: Path) -> tuple[GgufHeader, int]:
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
            INCOMPLETE_TODO,
        )
    from gguf.constants import GGUF_MAGIC

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
            INCOMPLETE_TODO,
        ) from None
    except _Damaged as exc:
        logger.info("refused %s: %s", path, exc)  # the detail is for support, not for the user
        raise InvalidModelFileError(
            f"The file {path.name} is damaged: the description of its contents does not add up.",
            DAMAGED_TODO,
        ) from None
    except PermissionError:
        raise InvalidModelFileError(
            f"This app is not allowed to read {path.name}.", "Check the file's permissions."
        ) from None
    except (OSError, ValueError, OverflowError, MemoryError) as exc:
        logger.info("cannot read %s: %r", path, exc)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a read error"
        raise InvalidModelFileError(
            f"The file {path.name} cannot be read ({reason}).", DAMAGED_TODO
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


def incomplete_file_error(path: Path, expected: int, size: int) -> InvalidModelFileError:
    return InvalidModelFileError(
        f"The file {path.name} is incomplete (it has {format_bytes(size)} of "
        f"{format_bytes(expected)}), probably a download that did not finish.",
        INCOMPLETE_TODO,
    )
