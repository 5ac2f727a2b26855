"""A lock that several processes (two app windows, the app and `localai`) take on one file.

`fcntl.flock` on POSIX, `msvcrt.locking` on Windows: the operating system drops the lock when
its holder ends, however it ends (even killed), so a crash never leaves a folder locked. The
lock file itself stays: deleting it while another process waits on it would let two holders in
at once. Locks belong to an open file, not to a process, so two `FileLock`s on the same path in
one process exclude each other as well (the tests rely on that).

Written here rather than taken from the `filelock` package: its 4.x versions delete the lock
file on release by default and fall back to a lock-free "soft" mode on some file systems, and
what we need is the plain kernel lock, which fits in a page.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


POLL_SECONDS = 0.05


def try_lock_descriptor(fd: int) -> bool:
    """Lock an open file without waiting (its own writer marks it busy); False if taken."""
    try:
        return _try_lock(fd)
    except OSError:
        return False  # a file system without locks: the file just looks stale sooner


class FileLock:
    """An exclusive lock on `path`; `acquire(timeout)` waits at most that long for it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float = 0.0) -> bool:
        """Take the lock, waiting up to `timeout` seconds; False if someone else kept it.

        Raises OSError when the lock file cannot be created (no permission, no folder).
        """
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                os.close(fd)
                return False
            time.sleep(POLL_SECONDS)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire(timeout=float("inf"))
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def is_locked(path: Path) -> bool:
    """Whether some open `FileLock` holds `path` now (a missing file is not locked)."""
    if not Path(path).is_file():
        return False
    probe = FileLock(path)
    try:
        if probe.acquire():
            probe.release()
            return False
    except OSError:
        return False
    return True
