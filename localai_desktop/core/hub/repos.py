"""What the Hub says about GGUF repos, as plain data: search results, files, download choices."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any

from localai_desktop.core.common.errors import NotFoundError
from localai_desktop.core.hub.catalog import CatalogEntry
from localai_desktop.core.models.hardware import ModelFacts
from localai_desktop.core.models.quantization import quant_rank, quantization_from_filename

log = logging.getLogger(__name__)

_SPLIT_NAME = re.compile(r"^(?P<prefix>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$", re.I)
_NOT_A_MODEL = ("mmproj", "imatrix")  # vision projectors and calibration data, not models


@dataclass(frozen=True)
class HubModelSummary:
    """One search result."""

    repo_id: str
    author: str
    downloads: int
    likes: int
    last_modified: str | None  # ISO 8601
    license: str | None
    gated: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HubFile:
    path: str  # inside the repo, "/"-separated
    size: int
    sha256: str | None  # from the LFS pointer; None for small files stored in git


@dataclass(frozen=True)
class FileChoice:
    """One thing a person can download: a GGUF file, or all parts of a split model."""

    quantization: str
    files: tuple[HubFile, ...]

    @property
    def first_file(self) -> str:
        """The file llama.cpp opens (the first part of a split model)."""
        return self.files[0].path

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def is_split(self) -> bool:
        return len(self.files) > 1

    @property
    def label(self) -> str:
        parts = f" ({len(self.files)} parts)" if self.is_split else ""
        return f"{self.quantization}{parts}"

    def to_json(self) -> dict[str, Any]:
        return {
            "quantization": self.quantization,
            "first_file": self.first_file,
            "total_bytes": self.total_bytes,
            "files": [asdict(f) for f in self.files],
        }


@dataclass(frozen=True)
class RepoDetails:
    """A repo at one commit: its model files grouped into choices, license and known facts."""

    repo_id: str
    commit: str
    license: str | None
    commercial_use: bool | None
    gated: bool
    downloads: int
    likes: int
    choices: tuple[FileChoice, ...]  # from the smallest quantization to the best
    facts: ModelFacts
    catalog_entry: CatalogEntry | None = None
    architecture: str | None = None

    def by_quantization(self) -> dict[str, list[FileChoice]]:
        groups: dict[str, list[FileChoice]] = {}
        for choice in self.choices:
            groups.setdefault(choice.quantization, []).append(choice)
        return groups

    def choice(self, *, quant: str | None = None, file: str | None = None) -> FileChoice:
        """The choice with this quantization, or containing this file; NotFound otherwise."""
        for choice in self.choices:
            if quant is not None and choice.quantization.upper() == quant.upper():
                return choice
            if file is not None and any(f.path in (file, file.lstrip("/")) for f in choice.files):
                return choice
        available = ", ".join(dict.fromkeys(c.quantization for c in self.choices)) or "none"
        wanted = f"the quantization {quant}" if quant else f"a file named {file}"
        raise NotFoundError(
            f"{self.repo_id} has no model file with {wanted}.",
            f"Available quantizations: {available}.",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "commit": self.commit,
            "license": self.license,
            "commercial_use": self.commercial_use,
            "gated": self.gated,
            "downloads": self.downloads,
            "likes": self.likes,
            "architecture": self.architecture,
            "parameter_count": self.facts.parameter_count,
            "context_length": self.facts.context_length,
            "catalog": self.catalog_entry.to_json() if self.catalog_entry else None,
            "choices": [c.to_json() for c in self.choices],
        }


def group_gguf_files(files: Iterable[HubFile]) -> tuple[FileChoice, ...]:
    """GGUF model files as choices: split parts together, projectors and non-GGUF left out."""
    singles: list[FileChoice] = []
    split_sets: dict[tuple[str, int], dict[int, HubFile]] = {}
    for hub_file in files:
        name = PurePosixPath(hub_file.path).name
        if not name.lower().endswith(".gguf") or any(w in name.lower() for w in _NOT_A_MODEL):
            continue
        match = _SPLIT_NAME.match(hub_file.path)
        if match:
            key = (match["prefix"], int(match["count"]))
            split_sets.setdefault(key, {})[int(match["part"])] = hub_file
        else:
            singles.append(FileChoice(quantization_from_filename(name), (hub_file,)))
    for (prefix, count), parts in split_sets.items():
        if sorted(parts) != list(range(1, count + 1)):
            log.info(
                "Leaving out %s: only parts %s of %s are in the repo", prefix, sorted(parts), count
            )
            continue
        files_in_order = tuple(parts[i] for i in range(1, count + 1))
        singles.append(
            FileChoice(quantization_from_filename(files_in_order[0].path), files_in_order)
        )

    def order(choice: FileChoice) -> tuple[int, int, str]:
        rank = quant_rank(choice.quantization)
        return (rank if rank is not None else -1, choice.total_bytes, choice.first_file)

    return tuple(sorted(singles, key=order))
