"""One desktop app per data folder: a second start brings the first window to the front.

Two windows on one folder would each resume the same unfinished downloads into the same
partial files, each load a chat model (twice the memory), and each show lists that the other
changes behind its back. So the app that has a folder open holds the folder's lock (see
core/datafolder/desktop_app_lock.py) and watches a small file in it; a second start that finds
the folder taken writes to that file and ends, and the first app shows its window. A file and
not a local socket: the app bundles no QtNetwork and opens no sockets of its own, and the
request needs nothing more. `localai` commands are not affected: they run beside the app.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, Signal, Slot

SHOW_REQUEST_FILE = "desktop-app.show"


class ShowRequestListener(QObject):
    """Watches, in the app that has a folder open, for later starts on that folder."""

    show_requested = Signal()
    """A second start of the app on this data folder asked to see this window: ()."""

    def __init__(self, root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(root) / SHOW_REQUEST_FILE
        self.path.touch(exist_ok=True)
        self._seen = self._stamp()
        self._watcher = QFileSystemWatcher([str(self.path)], self)
        self._watcher.fileChanged.connect(self._on_watcher_file_changed)

    def close(self) -> None:
        self._watcher.removePaths(self._watcher.files())

    @Slot(str)
    def _on_watcher_file_changed(self, _path: str) -> None:
        if str(self.path) not in self._watcher.files() and self.path.exists():
            self._watcher.addPath(str(self.path))  # replaced rather than written: watch again
        stamp = self._stamp()
        if stamp != self._seen:
            self._seen = stamp
            self.show_requested.emit()

    def _stamp(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            return ""


def ask_running_app_to_show(root: Path) -> bool:
    """Ask the app that has `root` open to show its window; False if it cannot be asked."""
    path = Path(root) / SHOW_REQUEST_FILE
    with contextlib.suppress(OSError):
        # Written in place (not replaced): the watcher follows this file, not its name.
        path.write_text(f"{time.time_ns()}\n", encoding="utf-8")
        return True
    return False
