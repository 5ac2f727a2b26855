"""Files and folders readable by this user alone: 0700 folders and 0600 files on Linux and macOS.

Another account on the same computer must read nothing the app writes: conversations, logs,
indexes, adapters, backups. The simplest rule that also covers files written by SQLite (its
WAL and journal), by llama.cpp and by child processes is the process's umask, set once at
start-up; folders made before that (an older version, another tool) are tightened when opened.
Windows keeps a user's profile folders private by default, so nothing is changed there.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
_SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO


def keep_new_files_private() -> None:
    """From now on this process, and the children it starts, create files only the user can
    read or write (umask 077)."""
    if os.name == "posix":
        os.umask(PRIVATE_UMASK)


def make_private_folder(path: Path) -> None:
    """Create `path` (and its parents) if needed; the folder itself is made 0700.

    If it existed with access for others, everything inside is tightened too, once.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name != "posix":
        return
    if path.stat().st_mode & _SHARED_BITS:
        _tighten_tree(path)


def _tighten_tree(root: Path) -> None:
    """Remove group and other access from `root` and what it holds (links are not followed:
    a model imported in place stays the user's own business)."""
    for folder, folders, files in os.walk(root, followlinks=False):
        for name in (*folders, *files):
            _remove_shared_bits(Path(folder) / name)
    _remove_shared_bits(root)


def _remove_shared_bits(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not mode & _SHARED_BITS:
            return
        path.chmod(stat.S_IMODE(mode) & ~_SHARED_BITS)
    except OSError:
        pass  # a file that vanished or is not ours: the folder's 0700 still shuts others out
