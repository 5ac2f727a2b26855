"""FineTuneWorker: reads datasets and drives the trainer child process from its own QThread."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.finetune.dataset import (
    DatasetReport,
    examples_from_conversations,
    load_dataset_file,
    split_validation,
)
from localai_desktop.core.finetune.dataset_rows import (
    DatasetRow,
    DatasetSummary,
    dataset_rows,
    dataset_summary,
)
from localai_desktop.core.finetune.estimate import TrainingEstimate
from localai_desktop.core.finetune.events import TrainingEvent, TrainingSettings
from localai_desktop.core.finetune.runner import CANCEL_GRACE_S, FineTuneService
from localai_desktop.ui.workers.base import ThreadWorker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedDataset:
    """A dataset checked against a base model and settings: rows, counts and the forecast."""

    rows: tuple[DatasetRow, ...]
    summary: DatasetSummary
    base_model_id: int | None
    estimate: TrainingEstimate | None  # None without a base model, or when it failed
    problem: str | None = None  # why this base model cannot be used with these examples


class FineTuneWorker(ThreadWorker):
    """Owns the FineTuneService on its own thread; plain data in through queued slots and out
    through signals. A run blocks this thread until it ends, so cancelling goes through
    `cancel_training`, a plain method any thread may call.
    """

    dataset_ready = Signal(int, object)
    """Examples read and checked: (request_id, PreparedDataset)."""
    request_failed = Signal(int, str)
    """A request failed before any training: (request_id, message for the user)."""
    training_started = Signal(int, object)
    """A run begins (new or resumed): (request_id, finetune.jobs.FineTuneJob)."""
    training_event = Signal(int, object)
    """Progress of a run: (job_id, finetune.events.TrainingEvent)."""
    training_ended = Signal(int, object)
    """A run finished or was cancelled: (job_id, finetune.runner.FineTuneResult)."""
    training_failed = Signal(int, str)
    """A run stopped with an error; the job can resume: (job_id, message for the user)."""
    job_discarded = Signal(int)
    """An unfinished job and its files were deleted: (job_id)."""

    thread_name = "finetune-worker"
    # The trainer stops at its next step; the runner kills it after CANCEL_GRACE_S.
    shutdown_wait_ms = int((CANCEL_GRACE_S + 15) * 1000)

    def __init__(self, service: FineTuneService, store: ConversationStore) -> None:
        super().__init__()
        self._service = service
        self._store = store
        # The dataset as read (never changed: each check works on a copy), and the last check.
        self._raw: DatasetReport | None = None
        self._prepared: tuple[int, DatasetReport] | None = None

    # -- called from the GUI thread -----------------------------------------------------------

    def cancel_training(self) -> None:
        """Ask the running trainer to stop after its current step, keeping a checkpoint.

        `shutdown` stops a run the same way, so it resumes next time."""
        self._requests.cancel_all()

    # -- slots, run on the worker's thread ------------------------------------------------------

    @Slot(int, object, int, object)
    def prepare(
        self, request_id: int, source: object, base_model_id: int, settings: dict[str, Any]
    ) -> None:
        """Read the examples (a file path, a list of answer ids, or None for the same ones
        again) and check them against the base model (-1 for none yet) and settings."""
        try:
            if isinstance(source, str):
                self._raw = load_dataset_file(Path(source))
            elif isinstance(source, list):
                self._raw = examples_from_conversations(self._store, source, name="your chats")
            if self._raw is None:
                return
            wanted = TrainingSettings.from_dict(settings)
            report = copy.deepcopy(self._raw)
            prepared = self._check(report, base_model_id, wanted)
            self._prepared = (request_id, report)
            self.dataset_ready.emit(request_id, prepared)
        except LocalAIError as error:
            self.request_failed.emit(request_id, error.message)
        except Exception:
            log.exception("Reading the examples failed unexpectedly")
            self.request_failed.emit(request_id, _UNEXPECTED)

    def _check(
        self, report: DatasetReport, base_model_id: int, settings: TrainingSettings
    ) -> PreparedDataset:
        if base_model_id < 0:
            split_validation(report, settings.validation_share, seed=settings.seed)
            return PreparedDataset(
                dataset_rows(report), dataset_summary(report, settings.validation_share), None, None
            )
        base = self._service.registry.get(base_model_id)
        self._service.prepare(report, base, settings)
        rows, summary = dataset_rows(report), dataset_summary(report, settings.validation_share)
        if not report.examples:
            return PreparedDataset(rows, summary, base.id, None)
        try:
            estimate = self._service.estimate(base, report, settings)
        except LocalAIError as error:
            return PreparedDataset(rows, summary, base.id, None, error.message)
        return PreparedDataset(rows, summary, base.id, estimate, estimate.problem)

    @Slot(int, int, str, int, object)
    def start_training(
        self,
        request_id: int,
        dataset_request_id: int,
        name: str,
        base_model_id: int,
        settings: dict[str, Any],
    ) -> None:
        """Create a job from the examples checked by `dataset_request_id`, then train."""
        try:
            if self._prepared is None or self._prepared[0] != dataset_request_id:
                raise LocalAIError(
                    "The examples changed while they were being checked.", "Try again."
                )
            base = self._service.registry.get(base_model_id)
            report = self._prepared[1]
            job = self._service.create_job(name, base, report, TrainingSettings.from_dict(settings))
        except LocalAIError as error:
            self.request_failed.emit(request_id, error.message)
            return
        except Exception:
            log.exception("Creating a fine-tuning job failed unexpectedly")
            self.request_failed.emit(request_id, _UNEXPECTED)
            return
        self._run(request_id, job.id)

    @Slot(int, int)
    def resume_training(self, request_id: int, job_id: int) -> None:
        """Continue a cancelled, interrupted or failed job from its last checkpoint."""
        self._run(request_id, job_id)

    @Slot(int, int)
    def discard_job(self, request_id: int, job_id: int) -> None:
        try:
            self._service.discard_job(job_id)
        except LocalAIError as error:
            self.request_failed.emit(request_id, error.message)
            return
        self.job_discarded.emit(job_id)

    def _run(self, request_id: int, job_id: int) -> None:
        with self._requests.running(request_id) as cancel:
            if cancel.is_set():  # the app is closing
                return
            try:
                self.training_started.emit(request_id, self._service.jobs.get(job_id))
                result = self._service.run(
                    job_id,
                    on_event=lambda event: self._on_trainer_event(job_id, event),
                    cancel=cancel,
                )
                self.training_ended.emit(job_id, result)
            except LocalAIError as error:
                self.training_failed.emit(job_id, error.message)
            except Exception:
                log.exception("Fine-tuning failed unexpectedly")
                self.training_failed.emit(job_id, _UNEXPECTED)

    def _on_trainer_event(self, job_id: int, event: TrainingEvent) -> None:
        self.training_event.emit(job_id, event)


_UNEXPECTED = (
    "Something went wrong inside the app while fine-tuning. Try again; if it keeps happening, "
    "restart the app. Your examples and any checkpoint are kept."
)
