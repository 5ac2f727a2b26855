"""Evaluation runs and their results in the workspace's database, one result per commit.

A run keeps its questions, its targets (each model by name and sha256, with an adapter by name
and sha256) and its settings as JSON, so it can be resumed or shown without the test set file.
Each answer's result is committed on its own as soon as it is scored: a run killed at any moment
loses at most the answer being written. While a run is being worked on it records the process
that works on it (pid and start time), so a second process does not resume it at the same time,
and one whose process is gone shows as interrupted.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psutil
from sqlalchemy import delete, func, select

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.enums import StrEnum
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.evaluation.testset import TestQuestion
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import EvalResultRow, EvalRunRow


class RunStatus(StrEnum):
    RUNNING = "running"
    CANCELLED = "cancelled"  # stopped by the person; resumes
    INTERRUPTED = "interrupted"  # its process went away (killed, crashed); resumes
    FAILED = "failed"  # an error (a model went missing); resumes once fixed
    FINISHED = "finished"


@dataclass(frozen=True)
class Target:
    """One model (and optional adapter) to answer a test set with, named by name and sha256."""

    model_name: str
    model_sha256: str
    adapter_name: str | None = None
    adapter_sha256: str | None = None
    adapter_scale: float = 1.0

    @property
    def label(self) -> str:
        return self.model_name + (f" + {self.adapter_name}" if self.adapter_name else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "model_sha256": self.model_sha256,
            "adapter_name": self.adapter_name,
            "adapter_sha256": self.adapter_sha256,
            "adapter_scale": self.adapter_scale,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class EvalRun:
    id: int
    name: str
    status: RunStatus
    questions: tuple[TestQuestion, ...]
    targets: tuple[Target, ...]
    settings: GenerationSettings
    error: str | None
    created_at: datetime
    updated_at: datetime
    done: int = 0  # results saved so far
    owner: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.questions) * len(self.targets)

    @property
    def resumable(self) -> bool:
        return self.status is not RunStatus.FINISHED and self.status is not RunStatus.RUNNING

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "questions": len(self.questions),
            "targets": [t.to_dict() for t in self.targets],
            "settings": self.settings.to_dict(),
            "done": self.done,
            "total": self.total,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class EvalResult:
    """One target's answer to one question and its verdict; `facts` holds the measurements."""

    run_id: int
    target_index: int
    question_index: int
    question_id: str
    passed: bool
    reason: str
    answer: str
    facts: Mapping[str, Any] = field(default_factory=dict)


def _this_process() -> dict[str, Any]:
    me = psutil.Process()
    return {"pid": me.pid, "started": round(me.create_time(), 2)}


def _alive(owner: Mapping[str, Any]) -> bool:
    try:
        process = psutil.Process(int(owner.get("pid", -1)))
        return abs(process.create_time() - float(owner.get("started", 0))) < 0.05
    except (psutil.Error, ValueError, TypeError):
        return False


class EvalStore:
    """Runs and results; every method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        name: str,
        questions: Sequence[TestQuestion],
        targets: Sequence[Target],
        settings: GenerationSettings,
    ) -> EvalRun:
        now = utcnow()
        with self.db.session() as session:
            row = EvalRunRow(
                name=name,
                status=RunStatus.INTERRUPTED,  # becomes running when a process claims it
                questions=json.dumps([q.to_dict() for q in questions], ensure_ascii=False),
                targets=json.dumps([t.to_dict() for t in targets], ensure_ascii=False),
                settings=json.dumps({"generation": settings.to_dict()}),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            run_id = row.id
        return self.get(run_id)

    def get(self, run_id: int) -> EvalRun:
        with self.db.session() as session:
            row = session.get(EvalRunRow, run_id)
            if row is None:
                raise NotFoundError(
                    f"There is no evaluation run {run_id}.",
                    "See the runs with 'localai eval list'.",
                )
            done = session.scalar(
                select(func.count())
                .select_from(EvalResultRow)
                .where(EvalResultRow.run_id == run_id)
            )
            return _run(row, int(done or 0))

    def runs(self) -> builtins.list[EvalRun]:
        with self.db.session() as session:
            counts = dict(
                session.execute(
                    select(EvalResultRow.run_id, func.count()).group_by(EvalResultRow.run_id)
                ).all()
            )
            rows = session.scalars(select(EvalRunRow).order_by(EvalRunRow.id.desc())).all()
            return [_run(row, int(counts.get(row.id, 0))) for row in rows]

    def claim(self, run_id: int) -> EvalRun:
        """Mark the run as worked on by this process; refuse one another process works on."""
        with self.db.session() as session:
            row = session.get(EvalRunRow, run_id)
            if row is None:
                raise NotFoundError(f"There is no evaluation run {run_id}.")
            settings = json.loads(row.settings or "{}")
            if row.status == RunStatus.FINISHED:
                raise LocalAIError(
                    f"The evaluation run {run_id} is already finished.",
                    "Start a new run to answer the questions again.",
                )
            owner = settings.get("owner") or {}
            if row.status == RunStatus.RUNNING and _alive(owner) and owner != _this_process():
                raise LocalAIError(
                    f"The evaluation run {run_id} is being run by another window or command "
                    f"(process {owner.get('pid')}).",
                    "Wait for it to finish, or cancel it there first.",
                )
            settings["owner"] = _this_process()
            row.settings = json.dumps(settings)
            row.status = RunStatus.RUNNING
            row.error = None
            row.updated_at = utcnow()
        return self.get(run_id)

    def set_status(self, run_id: int, status: RunStatus, error: str | None = None) -> None:
        with self.db.session() as session:
            row = session.get(EvalRunRow, run_id)
            if row is None:
                return
            row.status = status
            row.error = error
            row.updated_at = utcnow()

    def save_result(self, result: EvalResult) -> None:
        """Commit one result (a repeated one replaces the earlier, as a resumed run may)."""
        with self.db.session() as session:
            session.execute(
                delete(EvalResultRow).where(
                    EvalResultRow.run_id == result.run_id,
                    EvalResultRow.target_index == result.target_index,
                    EvalResultRow.question_index == result.question_index,
                )
            )
            session.add(
                EvalResultRow(
                    run_id=result.run_id,
                    target_index=result.target_index,
                    question_index=result.question_index,
                    question_id=result.question_id,
                    passed=result.passed,
                    reason=result.reason,
                    answer=result.answer,
                    facts=json.dumps(dict(result.facts), ensure_ascii=False),
                    created_at=utcnow(),
                )
            )
            run = session.get(EvalRunRow, result.run_id)
            if run is not None:
                run.updated_at = utcnow()

    def results(self, run_id: int) -> builtins.list[EvalResult]:
        with self.db.session() as session:
            rows = session.scalars(
                select(EvalResultRow)
                .where(EvalResultRow.run_id == run_id)
                .order_by(EvalResultRow.target_index, EvalResultRow.question_index)
            ).all()
            return [
                EvalResult(
                    r.run_id,
                    r.target_index,
                    r.question_index,
                    r.question_id,
                    bool(r.passed),
                    r.reason,
                    r.answer,
                    json.loads(r.facts or "{}"),
                )
                for r in rows
            ]

    def delete(self, run_id: int) -> None:
        self.get(run_id)
        with self.db.session() as session:
            session.execute(delete(EvalResultRow).where(EvalResultRow.run_id == run_id))
            session.execute(delete(EvalRunRow).where(EvalRunRow.id == run_id))


def _run(row: EvalRunRow, done: int) -> EvalRun:
    settings = json.loads(row.settings or "{}")
    owner = settings.get("owner") or {}
    status = RunStatus(row.status)
    if status is RunStatus.RUNNING and not _alive(owner):
        status = RunStatus.INTERRUPTED  # its process was killed or crashed
    return EvalRun(
        id=row.id,
        name=row.name,
        status=status,
        questions=tuple(TestQuestion.from_dict(q) for q in json.loads(row.questions or "[]")),
        targets=tuple(Target.from_dict(t) for t in json.loads(row.targets or "[]")),
        settings=GenerationSettings.from_dict(settings.get("generation")),
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        done=done,
        owner=owner,
    )
