"""A model's layer shapes from the first bytes of a GGUF file, to size a file before downloading.

Converters write `general.*` and the architecture's hyperparameters before the tokenizer, so
the first few hundred kilobytes of a file on the Hub hold everything the memory estimate needs.
"""

from __future__ import annotations

import struct
from typing import Any

from localai_desktop.core.models.gguf_header import U32, U64, scalar_structs
from localai_desktop.core.models.hardware import ModelFacts

_PER_LAYER_ARRAY_LIMIT = 1024  # longer arrays (vocabularies) are stepped over, not read


class _EndOfPrefix(Exception):
    pass


class _PrefixReader:
    def __init__(self, data: bytes | bytearray) -> None:
        from gguf.constants import GGUFValueType

        self.data = data
        self.pos = 0
        # Looked up once: value() runs once per item of a 100k-token vocabulary.
        self._string, self._array = GGUFValueType.STRING, GGUFValueType.ARRAY
        self._formats = scalar_structs()

    def scalar(self, fmt: struct.Struct) -> Any:
        if self.pos + fmt.size > len(self.data):
            raise _EndOfPrefix
        (value,) = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return value

    def string(self) -> str:
        length = self.scalar(U64)
        if self.pos + length > len(self.data):
            raise _EndOfPrefix
        text = bytes(self.data[self.pos : self.pos + length]).decode("utf-8", errors="replace")
        self.pos += length
        return text

    def value(self, value_type: int) -> Any:
        if value_type == self._string:
            return self.string()
        if value_type in self._formats:
            return self.scalar(self._formats[value_type])
        if value_type != self._array:
            raise ValueError(f"unknown GGUF value type {value_type}")
        item_type, length = self.scalar(U32), self.scalar(U64)
        if item_type == self._array:
            raise ValueError("nested GGUF arrays are not used by llama.cpp models")
        items = [self.value(item_type) for _ in range(min(length, _PER_LAYER_ARRAY_LIMIT))]
        for _ in range(length - len(items)):
            self.value(item_type)
        return items if length <= _PER_LAYER_ARRAY_LIMIT else None


def read_metadata_prefix(data: bytes | bytearray) -> dict[str, Any]:
    """The key-value metadata found in `data`, the start of a GGUF file (may stop early)."""
    from gguf.constants import GGUF_MAGIC

    reader = _PrefixReader(data)
    fields: dict[str, Any] = {}
    try:
        if reader.scalar(U32) != GGUF_MAGIC:
            return {}
        reader.scalar(U32)  # version
        reader.scalar(U64)  # tensor count
        for _ in range(reader.scalar(U64)):
            key = reader.string()
            fields[key] = reader.value(reader.scalar(U32))
    except (_EndOfPrefix, ValueError):
        pass  # what was read before the cut is still good
    return fields


def _largest(value: Any) -> int:
    """Per-layer lists (some models vary head counts by layer) count by their maximum."""
    if isinstance(value, list):
        return max((v for v in value if isinstance(v, int)), default=0)
    return value if isinstance(value, int) and value >= 0 else 0


def model_facts_from_prefix(data: bytes, parameter_count: int = 0) -> ModelFacts | None:
    """Layer shapes and context length from the start of a GGUF file; None if they are not there."""
    fields = read_metadata_prefix(data)
    arch = fields.get("general.architecture")
    if not isinstance(arch, str):
        return None
    head_count = _largest(fields.get(f"{arch}.attention.head_count"))
    embedding = _largest(fields.get(f"{arch}.embedding_length"))
    head_dim = embedding // head_count if head_count else 0
    facts = ModelFacts(
        parameter_count=parameter_count,
        context_length=_largest(fields.get(f"{arch}.context_length")),
        block_count=_largest(fields.get(f"{arch}.block_count")),
        # llama.cpp's default when the key is absent: one KV head per attention head.
        head_count_kv=_largest(fields.get(f"{arch}.attention.head_count_kv")) or head_count,
        key_length=_largest(fields.get(f"{arch}.attention.key_length")) or head_dim,
        value_length=_largest(fields.get(f"{arch}.attention.value_length")) or head_dim,
    )
    return facts if facts.knows_layer_shapes else None
