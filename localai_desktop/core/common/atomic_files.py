"""Write a file so that a crash or a full disk leaves either the old file or the new one.

A process killed while writing leaves its temporary file behind (an export can be tens of
megabytes). The writer holds a lock on its temporary file while it writes; the next write of
the same kind in that folder, and the app's start for the data folder, remove the temporary
files whose lock nobody holds any more: their writer is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from localai_desktop.core.common.file_lock import FileLock, try_lock_descriptor

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"


def write_atomically(path: Path, data: bytes, *, temp_prefix: str = ".tmp-") -> None:
    """Write data to a temporary file beside path, fsync it, then rename it over path.

    Raises OSError (disk full, no permission); callers turn it into a message for people.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent, (temp_prefix,))
    fd, temp_name = tempfile.mkstemp(prefix=temp_prefix, suffix=TEMP_SUFFIX, dir=path.parent)
    try_lock_descriptor(fd)  # "still being written": see remove_stale_temp_files
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if os.name != "nt":
                os.replace(temp_name, path)  # still locked: never taken for a leftover
        if os.name == "nt":
            os.replace(temp_name, path)  # Windows renames only closed files
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def remove_stale_temp_files(folder: Path, prefixes: Iterable[str]) -> list[Path]:
    """Delete the temporary files of `write_atomically` in `folder` that no live writer holds;
    returns them. Files whose writer is still at work, and every other file, are left."""
    removed: list[Path] = []
    for prefix in prefixes:
        try:
            candidates = sorted(Path(folder).glob(f"{prefix}*{TEMP_SUFFIX}"))
        except OSError:
            continue
        for candidate in candidates:
            probe = FileLock(candidate)
            try:
                if not probe.acquire():
                    continue  # another process is writing it right now
                candidate.unlink()  # Windows refuses while any process has it open: kept
            except OSError:
                continue
            finally:
                with contextlib.suppress(OSError):
                    probe.release()
            log.info("Removed %s, left by a write that did not finish", candidate)
            removed.append(candidate)
    return removed


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to the disk; best effort where the system
    cannot open a folder (Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
