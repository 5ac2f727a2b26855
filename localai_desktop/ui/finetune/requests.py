"""The Fine-tune tab's link to the FineTuneWorker: numbered requests, late answers dropped by id."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from localai_desktop.core.finetune.events import TrainingEvent
from localai_desktop.core.finetune.jobs import FineTuneJob
from localai_desktop.core.finetune.runner import FineTuneResult
from localai_desktop.ui.workers.finetune import FineTuneWorker, PreparedDataset
from localai_desktop.ui.workers.request_ids import CurrentRequest, RequestIds


class FineTuneRequests(QObject):
    """Sends checks and runs to the worker and passes on only what answers the current ones.

    Lives on the GUI thread, so the worker's signals reach its slots queued; what it emits goes
    straight to the Fine-tune tab. It knows which check of the examples is the newest and which
    run is going, so the tab only decides what to show.
    """

    prepare_requested = Signal(int, object, int, object)
    """To the worker: check examples (request_id, source, base model_id or -1, settings)."""
    start_requested = Signal(int, int, str, int, object)
    """To the worker: train (request_id, dataset request_id, name, model_id, settings)."""
    resume_requested = Signal(int, int)
    """To the worker: continue a job from its checkpoint (request_id, job_id)."""
    discard_requested = Signal(int, int)
    """To the worker: delete an unfinished job (request_id, job_id)."""

    dataset_checked = Signal(object)
    """The newest check of the examples is done: (finetune_worker.PreparedDataset)."""
    dataset_check_failed = Signal(str)
    """The newest check of the examples failed: (message for the user)."""
    training_start_failed = Signal(str)
    """The run asked for (new or resumed) did not start: (message for the user)."""
    request_failed = Signal(str)
    """Any other request failed, such as deleting an unfinished job: (message for the user)."""
    training_started = Signal(object)
    """The run asked for began: (finetune.jobs.FineTuneJob)."""
    training_progressed = Signal(object)
    """Progress of the running job: (finetune.events.TrainingEvent)."""
    training_ended = Signal(object)
    """The running job finished or was cancelled: (finetune.runner.FineTuneResult)."""
    training_failed = Signal(str)
    """The running job stopped with an error; it can resume: (message for the user)."""
    job_discarded = Signal(int)
    """An unfinished job and its files were deleted: (job_id)."""

    def __init__(self, worker: FineTuneWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = worker
        self._ids = RequestIds()
        self._check = CurrentRequest(self._ids)  # the newest check asked for
        self._prepared: PreparedDataset | None = None
        self._prepared_id: int | None = None  # the check `_prepared` answers; None: outdated
        self._start = CurrentRequest(self._ids)  # the run asked for, until it ends
        self._running_job: int | None = None
        self.prepare_requested.connect(worker.prepare)
        self.start_requested.connect(worker.start_training)
        self.resume_requested.connect(worker.resume_training)
        self.discard_requested.connect(worker.discard_job)
        worker.dataset_ready.connect(self._on_worker_dataset_ready)
        worker.request_failed.connect(self._on_worker_request_failed)
        worker.training_started.connect(self._on_worker_training_started)
        worker.training_event.connect(self._on_worker_training_event)
        worker.training_ended.connect(self._on_worker_training_ended)
        worker.training_failed.connect(self._on_worker_training_failed)
        worker.job_discarded.connect(self._on_worker_job_discarded)

    # -- requests -------------------------------------------------------------------------

    def check(self, source: object, base_model_id: int | None, settings: dict[str, Any]) -> None:
        """Have the examples (a file path or answer ids) checked against a base model (None:
        none chosen yet) and settings; only the newest check's answer is passed on."""
        base = base_model_id if base_model_id is not None else -1
        self.prepare_requested.emit(self._check.new(), source, base, settings)

    def mark_outdated(self) -> None:
        """The settings changed: the last answer no longer fits them until checked again."""
        self._prepared_id = None

    def start(self, name: str, base_model_id: int, settings: dict[str, Any]) -> None:
        """Train a new adapter on the examples of the newest check."""
        if self._check.id is None:
            return
        self.start_requested.emit(self._start.new(), self._check.id, name, base_model_id, settings)

    def resume(self, job_id: int) -> None:
        self.resume_requested.emit(self._start.new(), job_id)

    def cancel(self) -> None:
        """Stop the run after its current step; it ends through `training_ended`."""
        self._worker.cancel_training()

    def discard(self, job_id: int) -> None:
        self.discard_requested.emit(self._ids.next(), job_id)

    # -- state ----------------------------------------------------------------------------

    def is_training(self) -> bool:
        """A run was asked for and has not ended (it may not have started yet)."""
        return self._running_job is not None or self._start.is_pending()

    def is_running(self) -> bool:
        """A run has started, so it can be cancelled."""
        return self._running_job is not None

    def dataset(self) -> PreparedDataset | None:
        """The last answer to a check (None before any, or after the newest check failed)."""
        return self._prepared

    def dataset_is_current(self) -> bool:
        """Whether `dataset()` answers the newest check, with the settings as they are."""
        return self._prepared_id is not None and self._check.is_answered_by(self._prepared_id)

    # -- slots: the worker ----------------------------------------------------------------

    @Slot(int, object)
    def _on_worker_dataset_ready(self, request_id: int, prepared: PreparedDataset) -> None:
        if not self._check.is_answered_by(request_id):
            return  # an older check; a newer one is on its way
        self._prepared, self._prepared_id = prepared, request_id
        self.dataset_checked.emit(prepared)

    @Slot(int, str)
    def _on_worker_request_failed(self, request_id: int, message: str) -> None:
        if self._check.is_answered_by(request_id):
            self._prepared = self._prepared_id = None
            self.dataset_check_failed.emit(message)
        elif self._start.is_answered_by(request_id):
            self._start.forget()
            self.training_start_failed.emit(message)
        else:
            self.request_failed.emit(message)

    @Slot(int, object)
    def _on_worker_training_started(self, request_id: int, job: FineTuneJob) -> None:
        if not self._start.is_answered_by(request_id):
            return
        self._running_job = job.id
        self.training_started.emit(job)

    @Slot(int, object)
    def _on_worker_training_event(self, job_id: int, event: TrainingEvent) -> None:
        if job_id == self._running_job:
            self.training_progressed.emit(event)

    @Slot(int, object)
    def _on_worker_training_ended(self, job_id: int, result: FineTuneResult) -> None:
        if job_id != self._running_job:
            return
        self._running_job = None
        self._start.forget()
        self.training_ended.emit(result)

    @Slot(int, str)
    def _on_worker_training_failed(self, job_id: int, message: str) -> None:
        if job_id != self._running_job:
            return
        self._running_job = None
        self._start.forget()
        self.training_failed.emit(message)

    @Slot(int)
    def _on_worker_job_discarded(self, job_id: int) -> None:
        self.job_discarded.emit(job_id)
