"""Slow work off the GUI thread: unwrapping a key (scrypt), encrypting a workspace, opening one."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QObject, QThread, QTimer, Signal

from localai_desktop.core.common.errors import LocalAIError

log = logging.getLogger(__name__)

UNEXPECTED_ERROR = (
    "Something went wrong inside the app while working on the workspace's key. Nothing was "
    "changed. Try again; if it keeps happening, the log file says more."
)


class KeyTask(QThread):
    """Runs one function on its own thread; says how it ended with `succeeded` or `failed`."""

    succeeded = Signal(object)
    """The function returned: (its result, plain data or a Vault)."""
    failed = Signal(object)
    """It raised: (LocalAIError, whose message says what happened and what to do)."""

    def __init__(self, work: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workspace-key-task")
        self._work = work

    def run(self) -> None:
        try:
            result = self._work()
        except LocalAIError as error:
            self.failed.emit(error)
        except Exception:
            log.exception("Workspace key work failed unexpectedly")
            self.failed.emit(LocalAIError(UNEXPECTED_ERROR, ""))
        else:
            self.succeeded.emit(result)


class AsideTask(QThread):
    """Runs one function on its own thread and keeps what it returned or raised, as it was
    (an OSError stays an OSError), for `run_aside`."""

    def __init__(self, work: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workspace-open-task")
        self._work = work
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._work()
        except BaseException as error:  # handed back to the GUI thread, raised there
            self.error = error


def run_aside(
    work: Callable[[], object], *, when_slow: Callable[[], None], slow_after_ms: int
) -> object:
    """Run `work` on its own thread while the GUI thread goes on processing events (the
    window paints, timers tick), and return its result or raise its error. `when_slow()` is
    called once if it takes longer than `slow_after_ms` (to say what the app is doing; quick
    work never flashes a window)."""
    # Python's cycle collector runs on whichever thread allocates when it triggers: on the
    # task's thread it would free Qt objects that belong to the GUI thread (a window closed
    # a moment ago) while the GUI thread's event loop uses them, and crash. So collect here,
    # and not at all until the task is done (plain reference counting goes on).
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run_aside(work, when_slow, slow_after_ms)
    finally:
        if collecting:
            gc.enable()


def _run_aside(
    work: Callable[[], object], when_slow: Callable[[], None], slow_after_ms: int
) -> object:
    task = AsideTask(work)
    loop = QEventLoop()
    task.finished.connect(loop.quit)
    slow = QTimer()
    slow.setSingleShot(True)
    slow.timeout.connect(when_slow)
    task.start()
    slow.start(slow_after_ms)
    if not task.isFinished():
        loop.exec()
    slow.stop()
    task.wait()  # finished: Python frees it (no deleteLater on an object Python owns)
    if task.error is not None:
        raise task.error
    return task.result
