"""What every worker shares: its own QThread, numbered requests it can cancel, an orderly stop."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import ClassVar, ParamSpec, TypeVar

from PySide6.QtCore import QObject, QThread

from localai_desktop.core.common.cancellation import Cancellation

log = logging.getLogger(__name__)

_P = ParamSpec("_P")
_W = TypeVar("_W", bound="ThreadWorker")


class RequestCancellations:
    """A worker's side of numbered requests: one stop flag each, which any thread may set.

    Ids only grow. A request cancelled or superseded before its turn, or arriving after `close`,
    begins with its flag already set, so the worker skips it (or stops at once) instead of
    answering something nobody waits for any more.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: dict[int, Cancellation] = {}  # running, or cancelled before their turn
        self._cancelled_through = 0  # every request up to this id is cancelled
        self._highest = 0  # the highest id seen: issued, begun or cancelled
        self._closed = False

    def next_id(self) -> int:
        """A new id, for a worker that numbers its own requests."""
        with self._lock:
            self._highest += 1
            return self._highest

    @contextlib.contextmanager
    def running(self, request_id: int) -> Iterator[Cancellation]:
        """Work on a request: yields its stop flag (already set when the request was cancelled
        before its turn) and forgets the request when the work ends."""
        with self._lock:
            flag = self._flag(request_id)
            cancelled = self._closed or request_id <= self._cancelled_through
        if cancelled:
            flag.set()
        try:
            yield flag
        finally:
            with self._lock:
                self._flags.pop(request_id, None)

    def is_cancelled(self, request_id: int) -> bool:
        """Whether a request was cancelled or superseded (for work that cannot stop midway and
        can only be skipped)."""
        with self._lock:
            if self._closed or request_id <= self._cancelled_through:
                return True
            flag = self._flags.get(request_id)
            return flag is not None and flag.is_set()

    def cancel(self, request_id: int) -> None:
        """Stop one request, whether it runs or still waits its turn."""
        with self._lock:
            flag = self._flag(request_id)
        flag.set()

    def cancel_all(self) -> None:
        """Stop every request so far, those running and those waiting their turn."""
        self._cancel_through(None)

    def supersede(self, newest_id: int) -> None:
        """Only `newest_id` counts from now on: every older request is cancelled."""
        self._cancel_through(newest_id - 1)

    def close(self) -> None:
        """Stop everything, and every request that comes later: the worker is shutting down."""
        with self._lock:
            self._closed = True
        self._cancel_through(None)

    def _cancel_through(self, request_id: int | None) -> None:
        with self._lock:
            self._cancelled_through = max(
                self._cancelled_through, self._highest if request_id is None else request_id
            )
            flags = [f for i, f in self._flags.items() if i <= self._cancelled_through]
        # Outside the lock: a flag's callbacks may take a moment (the engine's abort hook).
        for flag in flags:
            flag.set()

    def _flag(self, request_id: int) -> Cancellation:
        self._highest = max(self._highest, request_id)
        flag = self._flags.get(request_id)
        if flag is None:
            flag = self._flags[request_id] = Cancellation()
        return flag


class ThreadWorker(QObject):
    """A QObject that owns a model or long work and lives on its own QThread.

    Requests come in through queued slots and carry the requester's id; answers leave as signals
    that repeat the id and carry plain data, so the requester can drop late ones. `shutdown`
    (GUI thread) cancels what runs, refuses what is still queued, ends the thread and waits for
    it, then frees what the worker owns: no thread outlives the window. Subclasses name their
    thread, say how long a stop may take, and free their resources in `_release`.
    """

    thread_name: ClassVar[str] = "worker"
    """The thread's name, as logs and debuggers show it."""
    shutdown_wait_ms: ClassVar[int] = 15_000
    """How long `shutdown` waits for work that cannot stop at once."""

    def __init__(self) -> None:
        super().__init__()
        self._requests = RequestCancellations()
        self._threads: list[QThread] = []
        self._shut_down = False

    @classmethod
    def start(cls: Callable[_P, _W], *args: _P.args, **kwargs: _P.kwargs) -> _W:
        """Create a worker (same arguments as the class) on its own, already running thread."""
        worker = cls(*args, **kwargs)
        worker._start_threads()
        return worker

    def shutdown(self) -> None:
        """Stop the work (cancelled work saves what it has), end the threads and wait for them,
        then free what the worker owns. Calling it again does nothing."""
        if self._shut_down:
            return
        self._shut_down = True
        self._stop_work()
        for thread in self._threads:
            thread.quit()
        for thread in self._threads:
            if not thread.wait(self.shutdown_wait_ms):
                log.error(
                    "The %s thread did not stop within %s ms",
                    thread.objectName(),
                    self.shutdown_wait_ms,
                )
        self._threads.clear()
        self._release()

    def _start_threads(self) -> None:
        """Move this worker to its thread and start it (a worker with a helper adds its own)."""
        self._run_on_own_thread(self, self.thread_name)

    def _run_on_own_thread(self, target: QObject, name: str) -> None:
        thread = QThread()
        thread.setObjectName(name)
        target.moveToThread(thread)
        thread.start()
        self._threads.append(thread)

    def _stop_work(self) -> None:
        """Cancel what runs and refuse what is queued; runs before the threads are told to end.

        Queued requests can still be delivered after `QThread.quit()` (Qt hands a thread all the
        events already posted to it in one go), hence refusing them rather than hoping."""
        self._requests.close()

    def _release(self) -> None:
        """Free what the worker owns, once its threads have ended and nothing else touches it."""
