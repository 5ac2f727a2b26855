"""Whether the desktop app has a data folder open: a lock it holds for as long as it does.

The desktop app takes the lock when it opens a folder and lets go when it closes it (or when
it ends in any way: the operating system drops the lock). A second start of the app on the
same folder finds it taken and brings the first window to the front instead (ui/shell);
`localai` commands may run beside the app, but deleting all data waits for it to be closed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.file_lock import FileLock
from localai_desktop.core.datafolder.paths import DataPaths


class DataFolderInUseError(LocalAIError):
    """The desktop app already has this data folder open."""

    def __init__(self, root: Path, what: str, todo: str) -> None:
        super().__init__(what, todo)
        self.root = root


def claim_for_desktop_app(paths: DataPaths) -> FileLock:
    """The held lock of the folder, for the desktop app to release when it closes it."""
    lock = FileLock(paths.desktop_app_lock)
    if not lock.acquire():
        raise DataFolderInUseError(
            paths.root,
            f"LocalAI Desktop is already open on the data folder {paths.root}.",
            "Switch to its window, or start the app with --data-dir to use another folder.",
        )
    return lock


@contextlib.contextmanager
def desktop_app_closed(paths: DataPaths, doing: str) -> Iterator[None]:
    """Hold the folder while `doing` runs, so the desktop app cannot open it meanwhile;
    DataFolderInUseError at once if the app has it open now."""
    lock = FileLock(paths.desktop_app_lock)
    if not lock.acquire():
        raise DataFolderInUseError(
            paths.root,
            f"LocalAI Desktop is open on the data folder {paths.root}, so nothing was {doing}.",
            "Close the app (or use its Settings to do this), then try again.",
        )
    try:
        yield
    finally:
        lock.release()
