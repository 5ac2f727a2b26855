"""Reading, verifying and exporting the audit trail on a helper thread, off the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from localai_desktop.core.common.errors import LocalAIError

log = logging.getLogger(__name__)


class TrailJobs(QObject):
    """Runs one job at a time on its own thread; each ends with `job_finished` or `job_failed`.

    Jobs are plain functions of the core (the trail opens its own connections, so any thread
    may call it). The signals are emitted from the helper thread and reach slots on the GUI
    thread queued. `shutdown` waits for the job in hand, so no thread outlives the dialog.
    """

    job_finished = Signal(int, object)
    """A job ended: (job id, its result: plain data such as entries or a report)."""
    job_failed = Signal(int, str)
    """A job failed: (job id, what happened and what to do, for the person)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-trail")
        self._next_id = 0
        self._closed = False

    def submit(self, job: Callable[[], Any]) -> int:
        """Queue `job`; returns its id, which its signal repeats."""
        self._next_id += 1
        job_id = self._next_id
        if not self._closed:
            self._executor.submit(self._run, job_id, job)
        return job_id

    def shutdown(self) -> None:
        """Wait for the job in hand and drop those not begun; later results are not sent."""
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _run(self, job_id: int, job: Callable[[], Any]) -> None:
        try:
            result = job()
        except LocalAIError as error:
            if not self._closed:
                self.job_failed.emit(job_id, error.message)
            return
        except Exception as error:  # a bug: say so plainly, and keep it in the log
            log.exception("An audit trail job failed")
            if not self._closed:
                self.job_failed.emit(
                    job_id,
                    f"The audit trail could not be read ({error}). Try again; if it keeps "
                    "happening, report it with the log files of the data folder's 'logs' folder.",
                )
            return
        if not self._closed:
            self.job_finished.emit(job_id, result)
