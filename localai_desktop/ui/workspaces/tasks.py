"""Slow key work off the GUI thread: unwrapping a key (scrypt), encrypting a workspace."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

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
