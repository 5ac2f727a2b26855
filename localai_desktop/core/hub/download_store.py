"""The downloads table and the files each download owns: rows, states, partial files, disk space.

A row says what to fetch (a repo pinned to a commit, each file's size and sha256); the
partial files on disk say how far it got. Nothing here touches the network.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.enums import StrEnum
from localai_desktop.core.common.errors import StorageError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.hub.download_transfer import (
    PARTIAL_SUFFIX,
    DownloadError,
    bytes_on_disk,
    partial_path,
)
from localai_desktop.core.hub.repos import FileChoice, HubFile, RepoDetails
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import DownloadRow

log = logging.getLogger(__name__)


class DownloadState(StrEnum):
    """States a listener sees; queued, downloading, paused and failed are also stored in the row."""

    QUEUED = "queued"
    DOWNLOADING = "downloading"
    REGISTERING = "registering"
    PAUSED = "paused"
    FAILED = "failed"
    DONE = "done"
    CANCELLED = "cancelled"


FINISHED_STATES = frozenset(
    {DownloadState.PAUSED, DownloadState.FAILED, DownloadState.DONE, DownloadState.CANCELLED}
)

DISK_SPACE_MARGIN = 256 * 1024 * 1024  # the system and the database need room too
_SPLIT_SUFFIX = re.compile(r"-\d{5}-of-\d{5}$", re.IGNORECASE)


@dataclass(frozen=True)
class DownloadProgress:
    """Where one download stands; a new value for every change (never mutated)."""

    download_id: int
    repo_id: str
    name: str
    quantization: str
    state: DownloadState
    bytes_done: int
    bytes_total: int
    bytes_per_second: float | None = None
    seconds_left: float | None = None
    error: str | None = None
    model_id: int | None = None

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.bytes_total if self.bytes_total else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DownloadRequest:
    """What to download: one choice of a repo at a commit, and what to record on the model."""

    repo_id: str
    commit: str
    quantization: str
    files: tuple[HubFile, ...]
    source: dict[str, Any]

    @classmethod
    def for_choice(cls, details: RepoDetails, choice: FileChoice) -> DownloadRequest:
        source: dict[str, Any] = {
            "repo": details.repo_id,
            "commit": details.commit,
            "file": choice.first_file,
            "quantization": choice.quantization,
            "license": details.license,
            "commercial_use": details.commercial_use,
        }
        entry = details.catalog_entry
        if entry is not None:
            source.update(catalog=True, family=entry.family, good_for=entry.good_for)
        return cls(details.repo_id, details.commit, choice.quantization, choice.files, source)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def safe_relative(path: str) -> PurePosixPath:
    """A repo path that stays inside the download folder (no "..", no absolute paths)."""
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise DownloadError(f"The Hub listed an unsafe file name: {path}", "Choose another repo.")
    return relative


def model_name_for(first_file: str) -> str:
    """The name a downloaded model gets: its file name without .gguf and the part number."""
    stem = PurePosixPath(first_file).name
    stem = stem[: -len(".gguf")] if stem.lower().endswith(".gguf") else stem
    return _SPLIT_SUFFIX.sub("", stem)


@dataclass(frozen=True)
class StoredDownload:
    """A row as plain data, with the local path of each file."""

    id: int
    repo_id: str
    revision: str
    quantization: str
    name: str
    status: DownloadState
    error: str | None
    folder: Path
    files: tuple[HubFile, ...]
    source: dict[str, Any]

    @property
    def targets(self) -> list[Path]:
        return [self.folder / safe_relative(f.path) for f in self.files]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def progress(self, state: DownloadState | None = None) -> DownloadProgress:
        """Progress as the disk shows it (no speed: nothing is running)."""
        return DownloadProgress(
            download_id=self.id,
            repo_id=self.repo_id,
            name=self.name,
            quantization=self.quantization,
            state=state or self.status,
            bytes_done=sum(bytes_on_disk(t) for t in self.targets),
            bytes_total=self.total_bytes,
            error=self.error,
        )


def _stored(row: DownloadRow) -> StoredDownload:
    files = tuple(HubFile(f["path"], f["size"], f.get("sha256")) for f in json.loads(row.files))
    return StoredDownload(
        id=row.id,
        repo_id=row.repo_id,
        revision=row.revision,
        quantization=row.quantization,
        name=row.name,
        status=DownloadState(row.status),
        error=row.error,
        folder=Path(row.folder),
        files=files,
        source=json.loads(row.source or "{}"),
    )


class DownloadStore:
    """Rows of the downloads table and the folder the files go to."""

    def __init__(self, db: Database, downloads_dir: Path) -> None:
        self._db = db
        self.downloads_dir = downloads_dir

    def folder_for(self, repo_id: str) -> Path:
        return self.downloads_dir.joinpath(*(safe_relative(repo_id).parts))

    def find(self, repo_id: str, first_file: str) -> int | None:
        with self._db.session() as session:
            return session.scalar(
                select(DownloadRow.id).where(
                    DownloadRow.repo_id == repo_id, DownloadRow.first_file == first_file
                )
            )

    def create(self, request: DownloadRequest) -> int:
        now = utcnow()
        with self._db.session() as session:
            row = DownloadRow(
                repo_id=request.repo_id,
                revision=request.commit,
                quantization=request.quantization,
                name=model_name_for(request.files[0].path),
                first_file=request.files[0].path,
                files=json.dumps([asdict(f) for f in request.files]),
                folder=str(self.folder_for(request.repo_id)),
                status=DownloadState.QUEUED,
                source=json.dumps(request.source),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return row.id

    def get(self, download_id: int) -> StoredDownload:
        with self._db.session() as session:
            row = session.get(DownloadRow, download_id)
            if row is None:
                raise DownloadError(
                    f"There is no download number {download_id}.",
                    "It may have finished or been cancelled.",
                )
            return _stored(row)

    def ids(self, statuses: Iterable[DownloadState] | None = None) -> list[int]:
        query = select(DownloadRow.id).order_by(DownloadRow.id)
        if statuses is not None:
            query = query.where(DownloadRow.status.in_(list(statuses)))
        with self._db.session() as session:
            return list(session.scalars(query))

    def set_status(self, download_id: int, status: DownloadState, error: str | None = None) -> None:
        with self._db.session() as session:
            row = session.get(DownloadRow, download_id)
            if row is not None:
                row.status, row.error, row.updated_at = status, error, utcnow()

    def delete_row(self, download_id: int) -> None:
        with self._db.session() as session:
            row = session.get(DownloadRow, download_id)
            if row is not None:
                session.delete(row)

    def discard(self, download_id: int, keep: set[Path]) -> None:
        """Delete a download's row and files (except those in `keep`), and emptied folders."""
        try:
            stored = self.get(download_id)
        except DownloadError:
            return
        self.delete_row(download_id)
        for target in stored.targets:
            partial_path(target).unlink(missing_ok=True)
            if target not in keep and target.resolve() not in keep:
                target.unlink(missing_ok=True)
        for folder in sorted({t.parent for t in stored.targets}, reverse=True):
            while folder != self.downloads_dir and self.downloads_dir in folder.parents:
                try:
                    folder.rmdir()  # only succeeds when empty
                except OSError:
                    break
                folder = folder.parent

    def clean_up_leftovers(self) -> list[Path]:
        """Delete partial files that no row owns (a cancelled or forgotten download)."""
        # Files first, then rows: a download that starts meanwhile writes its row first.
        partials = list(self.downloads_dir.rglob(f"*{PARTIAL_SUFFIX}"))
        if not partials:
            return []
        owned = {partial_path(t) for i in self.ids() for t in self.get(i).targets}
        removed = [p for p in partials if p not in owned]
        for path in removed:
            log.info("Removing leftover partial download %s", path)
            path.unlink(missing_ok=True)
        return removed


def check_disk_space(files: Sequence[HubFile], targets: Sequence[Path], what: str) -> None:
    """Refuse to start when the rest of a download cannot fit on the disk."""
    remaining = sum(max(0, f.size - bytes_on_disk(t)) for f, t in zip(files, targets, strict=True))
    existing = targets[0].parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if remaining + DISK_SPACE_MARGIN > free:
        raise StorageError(
            f"There is not enough free disk space to download {what}: it needs "
            f"{format_bytes(remaining)} more and the disk has {format_bytes(free)} free.",
            "Free some disk space, or choose a smaller quantization.",
        )
