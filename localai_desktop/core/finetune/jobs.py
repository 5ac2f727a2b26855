"""Fine-tuning jobs in the database: what is being trained, how far it got, whether it resumes."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.enums import StrEnum
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.finetune.events import TrainingSettings
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import FineTuneJobRow


class JobStatus(StrEnum):
    """Where a fine-tuning job stands, stored as these strings."""

    READY = "ready"  # prepared, never started
    RUNNING = "running"
    CANCELLED = "cancelled"  # stopped by the person; resumes from its checkpoint
    INTERRUPTED = "interrupted"  # the app or the computer went away mid-run; resumes too
    FAILED = "failed"  # an error; resumes from the last checkpoint once the cause is fixed
    FINISHED = "finished"  # the adapter is registered


RESUMABLE_STATUSES = frozenset(
    {JobStatus.READY, JobStatus.CANCELLED, JobStatus.INTERRUPTED, JobStatus.FAILED}
)


@dataclass(frozen=True)
class FineTuneJob:
    id: int
    name: str
    base_model_id: int | None
    base_model_sha256: str
    folder: Path
    status: JobStatus
    settings: TrainingSettings
    step: int
    total_steps: int
    error: str | None
    adapter_id: int | None
    created_at: datetime
    updated_at: datetime
    dataset: dict[str, Any] = field(default_factory=dict)

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE_STATUSES

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "base_model_id": self.base_model_id,
            "folder": str(self.folder),
            "status": self.status,
            "settings": self.settings.to_dict(),
            "dataset": self.dataset,
            "step": self.step,
            "total_steps": self.total_steps,
            "error": self.error,
            "adapter_id": self.adapter_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _job(row: FineTuneJobRow) -> FineTuneJob:
    return FineTuneJob(
        id=row.id,
        name=row.name,
        base_model_id=row.base_model_id,
        base_model_sha256=row.base_model_sha256,
        folder=Path(row.folder),
        status=JobStatus(row.status),
        settings=TrainingSettings.from_dict(json.loads(row.settings or "{}")),
        step=row.step,
        total_steps=row.total_steps,
        error=row.error,
        adapter_id=row.adapter_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        dataset=json.loads(row.dataset or "{}"),
    )


class JobStore:
    """Rows of `finetune_jobs`; each change is committed at once."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        name: str,
        *,
        base_model_id: int,
        base_model_sha256: str,
        settings: TrainingSettings,
        dataset: dict[str, Any],
    ) -> FineTuneJob:
        now = utcnow()
        with self._db.session() as session:
            row = FineTuneJobRow(
                name=name,
                base_model_id=base_model_id,
                base_model_sha256=base_model_sha256,
                folder="",
                status=JobStatus.READY,
                settings=json.dumps(settings.to_dict()),
                dataset=json.dumps(dataset),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return _job(row)

    def get(self, job_id: int) -> FineTuneJob:
        with self._db.session() as session:
            row = session.get(FineTuneJobRow, job_id)
            if row is None:
                raise NotFoundError(f"There is no fine-tuning job {job_id}.")
            return _job(row)

    def list(self) -> list[FineTuneJob]:
        self.mark_orphans_interrupted()
        with self._db.session() as session:
            rows = session.scalars(select(FineTuneJobRow).order_by(FineTuneJobRow.id.desc()))
            return [_job(row) for row in rows]

    def latest_resumable(self, name: str) -> FineTuneJob | None:
        """The newest unfinished job that would make the adapter `name`."""
        return next((j for j in self.list() if j.name == name and j.resumable), None)

    def update(self, job_id: int, **values: Any) -> FineTuneJob:
        with self._db.session() as session:
            row = session.get(FineTuneJobRow, job_id)
            if row is None:
                raise NotFoundError(f"There is no fine-tuning job {job_id}.")
            for key, value in values.items():
                if key in ("settings", "dataset"):
                    value = json.dumps(value)
                elif key == "folder":
                    value = str(value)
                setattr(row, key, value)
            row.updated_at = utcnow()
            session.flush()
            return _job(row)

    def delete(self, job_id: int) -> None:
        with self._db.session() as session:
            row = session.get(FineTuneJobRow, job_id)
            if row is not None:
                session.delete(row)

    def running(self) -> builtins.list[FineTuneJob]:
        """The jobs whose trainer is at work right now (started by this app or by `localai`)."""
        with self._db.session() as session:
            rows = session.scalars(
                select(FineTuneJobRow).where(FineTuneJobRow.status == JobStatus.RUNNING)
            )
            return [
                _job(row)
                for row in rows
                if row.pid is not None and _trainer_alive(row.pid, Path(row.folder))
            ]

    def mark_orphans_interrupted(self) -> None:
        """Jobs marked running whose trainer process is gone were cut off: say so."""
        with self._db.session() as session:
            rows = session.scalars(
                select(FineTuneJobRow).where(FineTuneJobRow.status == JobStatus.RUNNING)
            )
            for row in rows:
                if row.pid is None or not _trainer_alive(row.pid, Path(row.folder)):
                    row.status = JobStatus.INTERRUPTED
                    row.pid = None
                    row.updated_at = utcnow()


def running_in_plaintext_database(database: Path) -> list[str]:
    """The names of the trainings at work now in a workspace whose database is closed and still
    plaintext (read directly: protecting it must not start while a trainer writes into it)."""
    if not database.is_file():
        return []
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = connection.execute(
                "SELECT name, pid, folder FROM finetune_jobs WHERE status = ? AND pid IS NOT NULL",
                (str(JobStatus.RUNNING),),
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return []  # not a plaintext database, or one made before fine-tuning existed
    return [str(name) for name, pid, folder in rows if _trainer_alive(int(pid), Path(folder))]


def training_running_error(names: Sequence[str]) -> LocalAIError:
    """Why a workspace cannot be protected while it trains, and what to do."""
    which = ", ".join(f"“{name}”" for name in names)
    return LocalAIError(
        f"A training is running in this workspace ({which}), so it cannot be protected now: "
        "encrypting it would take the training's files from under it.",
        "Wait until the training has finished, or stop it in the Fine-tune tab (it resumes "
        "later from where it stopped), then protect the workspace.",
    )


def _trainer_alive(pid: int, folder: Path) -> bool:
    # A reused pid belongs to another program: the trainer's command line names its folder.
    try:
        return str(folder) in " ".join(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        return False
