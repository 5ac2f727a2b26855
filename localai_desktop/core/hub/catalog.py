"""The curated model catalog shipped with the app: good open models, browsable offline.

The file holds facts about each model (family, size, license, what it is good for) and never a
file size or hash: those are read from the Hub when a person browses or downloads.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.hub.licenses import commercial_use_allowed
from localai_desktop.core.models.hardware import ModelFacts
from localai_desktop.core.models.quantization import (
    estimated_file_bytes,
    is_known_quant,
    normalize_quant,
)

CATALOG_SCHEMA_VERSION = 1
MODEL_KINDS = ("chat", "reasoning", "coding", "embedding")
_ENTRY_FIELDS: dict[str, type | tuple[type, ...]] = {
    "repo_id": str,
    "name": str,
    "family": str,
    "kind": str,
    "parameter_count": int,
    "context_length": int,
    "good_for": str,
    "license": str,
    "commercial_use": bool,
    "quantizations": list,
}
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_FORBIDDEN_WORDS = ("size", "sha", "hash", "bytes")


@dataclass(frozen=True)
class CatalogEntry:
    """One curated model: a Hugging Face GGUF repo and what a person needs to choose it."""

    repo_id: str
    name: str
    family: str
    kind: str  # one of MODEL_KINDS
    parameter_count: int
    context_length: int
    good_for: str
    license: str
    commercial_use: bool
    quantizations: tuple[str, ...]

    @property
    def is_embedding_model(self) -> bool:
        return self.kind == "embedding"

    def facts(self) -> ModelFacts:
        """Facts for a memory estimate before the file's own header has been read."""
        return ModelFacts(parameter_count=self.parameter_count, context_length=self.context_length)

    def estimated_choices(self) -> list[EstimatedChoice]:
        """The offered quantizations with estimated sizes, for a verdict before going online.

        Labelled as estimates in the GUI ("about 4.6 GB"); the real sizes come from the Hub.
        """
        choices = []
        for quant in self.quantizations:
            size = estimated_file_bytes(self.parameter_count, quant)
            if size is not None:
                choices.append(EstimatedChoice(quant, size))
        return choices

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["quantizations"] = list(self.quantizations)
        return data


@dataclass(frozen=True)
class EstimatedChoice:
    """A quantization and its estimated file size (works with hardware.recommend_quant)."""

    quantization: str
    total_bytes: int


@dataclass(frozen=True)
class Catalog:
    schema_version: int
    entries: tuple[CatalogEntry, ...]

    def find(self, repo_id: str) -> CatalogEntry | None:
        """The entry for a repo (case-insensitive, as the Hub treats repo ids), or None."""
        wanted = repo_id.lower()
        return next((e for e in self.entries if e.repo_id.lower() == wanted), None)

    def get(self, repo_id: str) -> CatalogEntry:
        entry = self.find(repo_id)
        if entry is None:
            raise NotFoundError(
                f"'{repo_id}' is not in the built-in model list.",
                "Check the name in the Discover list (or 'localai models catalog'), "
                "or search Hugging Face.",
            )
        return entry

    def of_kind(self, *kinds: str) -> list[CatalogEntry]:
        return [e for e in self.entries if e.kind in kinds]


def catalog_problems(data: Any) -> list[str]:
    """Everything wrong with catalog data, as lines for a test or a log; [] when it is valid."""
    if not isinstance(data, dict):
        return ["the catalog is not a JSON object"]
    problems = []
    if set(data) != {"schema_version", "models"}:
        problems.append(f"top-level keys must be schema_version and models, not {sorted(data)}")
    if data.get("schema_version") != CATALOG_SCHEMA_VERSION:
        problems.append(f"schema_version must be {CATALOG_SCHEMA_VERSION}")
    models = data.get("models")
    if not isinstance(models, list) or not models:
        return [*problems, "models must be a non-empty list"]
    seen: set[str] = set()
    for index, entry in enumerate(models):
        where = f"models[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} is not an object")
            continue
        where = f"{where} ({entry.get('repo_id', '?')})"
        problems += [f"{where}: {p}" for p in _entry_problems(entry)]
        repo_id = str(entry.get("repo_id", "")).lower()
        if repo_id in seen:
            problems.append(f"{where}: listed twice")
        seen.add(repo_id)
    return problems


def _entry_problems(entry: dict[str, Any]) -> list[str]:
    problems = []
    for key in entry:
        if any(word in key.lower() for word in _FORBIDDEN_WORDS):
            problems.append(f"'{key}': sizes and hashes must come from the Hub, not this file")
        elif key not in _ENTRY_FIELDS:
            problems.append(f"unknown field '{key}'")
    for key, kind in _ENTRY_FIELDS.items():
        value = entry.get(key)
        # bool is an int subclass: a count of True would otherwise pass.
        if type(value) is not kind:
            problems.append(f"'{key}' is missing or not a {getattr(kind, '__name__', kind)}")
    if problems:
        return problems
    if not _REPO_ID.match(entry["repo_id"]):
        problems.append("repo_id must look like owner/name")
    if entry["kind"] not in MODEL_KINDS:
        problems.append(f"kind must be one of {', '.join(MODEL_KINDS)}")
    if entry["parameter_count"] <= 0 or entry["context_length"] < 512:
        problems.append("parameter_count must be positive and context_length at least 512")
    good_for = entry["good_for"].strip()
    if not good_for.endswith(".") or good_for.count(". ") or len(good_for) > 160:
        problems.append("good_for must be one plain sentence of at most 160 characters")
    expected = commercial_use_allowed(entry["license"])
    if expected is not None and expected != entry["commercial_use"]:
        problems.append(f"commercial_use contradicts the license '{entry['license']}'")
    quants = entry["quantizations"]
    if not quants or not all(isinstance(q, str) and is_known_quant(q) for q in quants):
        problems.append("quantizations must be a non-empty list of known names such as Q4_K_M")
    elif len({normalize_quant(q) for q in quants}) != len(quants):
        problems.append("quantizations lists a name twice")
    return problems


def _entry(data: dict[str, Any]) -> CatalogEntry:
    return CatalogEntry(
        repo_id=data["repo_id"],
        name=data["name"],
        family=data["family"],
        kind=data["kind"],
        parameter_count=data["parameter_count"],
        context_length=data["context_length"],
        good_for=data["good_for"],
        license=data["license"],
        commercial_use=data["commercial_use"],
        quantizations=tuple(normalize_quant(q) for q in data["quantizations"]),
    )


def builtin_catalog_path() -> Path:
    """Where the shipped catalog file is (inside the package, so installs and builds carry it)."""
    return Path(str(resources.files("localai_desktop") / "resources" / "catalog.json"))


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and check the catalog; no network is involved."""
    source = Path(path) if path is not None else builtin_catalog_path()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LocalAIError(
            f"The list of recommended models could not be read ({error}).",
            "Reinstall the app; searching Hugging Face still works.",
        ) from error
    problems = catalog_problems(data)
    if problems:
        raise LocalAIError(
            f"The list of recommended models is damaged ({problems[0]}).",
            "Reinstall the app; searching Hugging Face still works.",
        )
    return Catalog(data["schema_version"], tuple(_entry(m) for m in data["models"]))
