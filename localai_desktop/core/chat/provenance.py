"""How an answer was made (model file, settings, seed, speed, adapter, sources): its provenance.

Stored with the answer as one flat JSON object, whose keys have not changed: `to_dict()` writes
exactly what was written before these fields had types, and `from_dict()` reads rows of any
age, keeping whatever it does not know (or finds with another type) in `extra`, so that
`from_dict(d).to_dict() == d`. The object is also a read-only mapping of that JSON (what the
audit trail and the backup file read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, TypeVar

from localai_desktop.core.documents.sentence_support import SupportReport
from localai_desktop.core.inference.generation import (
    CutOff,
    FinishReason,
    GenerationSettings,
    GenerationStats,
    cut_off_by,
)

_T = TypeVar("_T")


@dataclass(frozen=True)
class AdapterUse:
    """The fine-tuned adapter an answer was written with, and its strength."""

    id: int
    name: str
    sha256: str
    scale: float


# Keys in the order the answer's record has always had them (a dict merge kept that order).
_MODEL_KEYS = (
    "model_id",
    "model_name",
    "model_file",
    "model_sha256",
    "settings",
    "n_ctx",
    "n_threads",
    "gpu_offload",
    "backend",
    "app_version",
    "llama_cpp_python_version",
    "chat_format",
    "chat_template_refused",
    "chat_format_note",
)
_ADAPTER_KEYS = ("adapter_id", "adapter_name", "adapter_sha256", "adapter_scale")
_DOCUMENT_KEYS = ("collections", "sources", "retrieval", "sentence_support")
_STATS_KEYS = tuple(f.name for f in fields(GenerationStats))


@dataclass(frozen=True, eq=False)
class Provenance(Mapping[str, Any]):
    """The record kept with an answer. Fields left None were not recorded (an answer still
    being written has no stats; one without documents has no sources)."""

    model_id: int | None = None
    model_name: str | None = None
    model_file: str | None = None
    model_sha256: str | None = None
    settings: GenerationSettings | None = None
    n_ctx: int | None = None
    n_threads: int | None = None
    gpu_offload: bool | None = None
    backend: str | None = None  # "CPU", "CUDA", "Metal", ...
    app_version: str | None = None
    llama_cpp_python_version: str | None = None
    chat_format: str | None = None  # "model" (its own template) or "standard"
    chat_template_refused: str | None = None
    chat_format_note: str | None = None
    adapter: AdapterUse | None = None
    collections: tuple[str, ...] | None = None
    sources: tuple[Mapping[str, Any], ...] | None = None  # see documents.grounding
    retrieval: Mapping[str, Any] | None = None
    # The grounding check of each sentence (documents.sentence_support.SupportReport.to_dict).
    sentence_support: Mapping[str, Any] | None = None
    stats: GenerationStats | None = None  # tokens, speed, seed, finish reason
    prompt_warnings: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys this version does not know, or did not find with the type it expects: kept as
    they were, so nothing of an older or newer row is lost when it is written again."""

    # -- what readers ask -------------------------------------------------------------------

    @property
    def cut_off(self) -> CutOff | None:
        """What ended the answer before the model finished it (see generation.cut_off_by)."""
        return cut_off_by(self)

    @property
    def support(self) -> SupportReport | None:
        """The grounding check of the answer's sentences, if it was made from documents."""
        if self.sentence_support is None:
            return None
        return SupportReport.from_dict(self.sentence_support)

    @property
    def seed(self) -> int | None:
        if self.stats is not None:
            return self.stats.seed
        return self.settings.seed if self.settings is not None else None

    # -- the stored JSON --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON object stored with the answer (the same keys as ever)."""
        return dict(self._json)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Provenance:
        """Read a stored record of any age; never fails on what it finds."""
        rest = dict(data or {})

        def take(key: str, kind: type[_T] | tuple[type, ...]) -> Any:
            value = rest.get(key)
            if isinstance(value, kind) and not (isinstance(value, bool) and kind is int):
                return rest.pop(key)
            return None

        values: dict[str, Any] = {
            key: take(key, int if key in ("model_id", "n_ctx", "n_threads") else str)
            for key in _MODEL_KEYS
            if key not in ("settings", "gpu_offload")
        }
        values["gpu_offload"] = take("gpu_offload", bool)
        values["settings"] = _taken(rest, ("settings",), _settings_from)
        values["adapter"] = _taken(rest, _ADAPTER_KEYS, _adapter_from)
        values["collections"] = _taken(rest, ("collections",), _strings_from)
        values["sources"] = _taken(rest, ("sources",), _sources_from)
        values["retrieval"] = take("retrieval", dict)
        values["sentence_support"] = take("sentence_support", dict)
        stats_keys = tuple(k for k in _STATS_KEYS if k != "n_ctx")
        values["stats"] = _taken(rest, stats_keys, lambda v: _stats_from(v, values["n_ctx"]))
        values["prompt_warnings"] = _taken(rest, ("prompt_warnings",), _strings_from)
        return cls(**values, extra=rest)

    @cached_property
    def _json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key in _MODEL_KEYS:
            value = getattr(self, key)
            if key == "settings" and value is not None:
                value = value.to_dict()
            if value is not None:
                data[key] = value
        if self.adapter is not None:
            data["adapter_id"] = self.adapter.id
            data["adapter_name"] = self.adapter.name
            data["adapter_sha256"] = self.adapter.sha256
            data["adapter_scale"] = self.adapter.scale
        if self.collections is not None:
            data["collections"] = list(self.collections)
        if self.sources is not None:
            data["sources"] = [dict(source) for source in self.sources]
        if self.retrieval is not None:
            data["retrieval"] = dict(self.retrieval)
        if self.sentence_support is not None:
            data["sentence_support"] = dict(self.sentence_support)
        if self.stats is not None:
            # All of them, None included (time to first token, speed), as always written.
            data.update(self.stats.to_dict())
        if self.prompt_warnings is not None:
            data["prompt_warnings"] = list(self.prompt_warnings)
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    def merged(self, facts: Mapping[str, Any]) -> Provenance:
        """This record with more facts given as JSON keys (documents, chat format, ...)."""
        return Provenance.from_dict({**self.to_dict(), **facts})

    # -- read-only mapping of the JSON ------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._json[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._json)

    def __len__(self) -> int:
        return len(self._json)

    def __repr__(self) -> str:
        return f"Provenance({self._json!r})"


def _taken(
    rest: dict[str, Any], keys: tuple[str, ...], build: Callable[[list[Any]], _T | None]
) -> _T | None:
    """Build a field from `keys` (all present), removing them from `rest` if it worked."""
    if not all(key in rest for key in keys):
        return None
    built = build([rest[key] for key in keys])
    if built is not None:
        for key in keys:
            del rest[key]
    return built


def _settings_from(values: list[Any]) -> GenerationSettings | None:
    (data,) = values
    names = {f.name for f in fields(GenerationSettings)}
    # Only a complete record: filling in defaults would invent settings it was not made with.
    if not isinstance(data, dict) or set(data) != names:
        return None
    settings = GenerationSettings.from_dict(data)
    return settings if settings.to_dict() == data else None


def _adapter_from(values: list[Any]) -> AdapterUse | None:
    adapter_id, name, sha256, scale = values
    if (
        isinstance(adapter_id, int)
        and isinstance(name, str)
        and isinstance(sha256, str)
        and isinstance(scale, (int, float))
        and not isinstance(scale, bool)
    ):
        return AdapterUse(adapter_id, name, sha256, scale)
    return None


def _strings_from(values: list[Any]) -> tuple[str, ...] | None:
    (items,) = values
    if isinstance(items, list) and all(isinstance(item, str) for item in items):
        return tuple(items)
    return None


def _sources_from(values: list[Any]) -> tuple[Mapping[str, Any], ...] | None:
    (items,) = values
    if isinstance(items, list) and all(isinstance(item, dict) for item in items):
        return tuple(items)
    return None


def _stats_from(values: list[Any], n_ctx: int | None) -> GenerationStats | None:
    data = dict(zip((k for k in _STATS_KEYS if k != "n_ctx"), values, strict=True))
    if n_ctx is None:
        return None
    try:
        stats = GenerationStats.from_dict({**data, "n_ctx": n_ctx})
    except (TypeError, ValueError):
        return None
    return stats if stats.to_dict() == {**data, "n_ctx": n_ctx} else None


__all__ = ["AdapterUse", "CutOff", "FinishReason", "Provenance"]
