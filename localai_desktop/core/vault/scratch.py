"""Room for plaintext that a library insists on reading or writing by path, kept off the disk.

llama.cpp loads a LoRA adapter from a file name, and the `gguf` package writes one to a file
name; in a protected workspace that plaintext must not reach the disk. On Linux the scratch
file is an anonymous memory file (`memfd_create`) reached through /proc/self/fd/N: it lives in
RAM, is this process's alone, and vanishes with the process even when it is killed. Elsewhere
(macOS, Windows) it is a 0600 file in a fresh 0700 temporary folder, overwritten and removed as
soon as the block ends; the folder holds a lock while in use, so a folder a killed process left
is recognised (nobody holds its lock) and shredded by the next scratch file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from localai_desktop.core.common.file_lock import FileLock
from localai_desktop.core.common.shredding import shred

log = logging.getLogger(__name__)

_PROC_FDS = Path("/proc/self/fd")
FOLDER_PREFIX = "localai-scratch-"
LOCK_FILE = ".in-use"


def memory_files_supported() -> bool:
    """Whether scratch files live in memory here (Linux), rather than in a temporary folder."""
    return hasattr(os, "memfd_create") and _PROC_FDS.is_dir()


@contextlib.contextmanager
def scratch_file(*, suffix: str = "") -> Iterator[Path]:
    """An empty file this process may write and read by path until the block ends.

    The path is for this process only (on Linux it names one of its own file descriptors).
    """
    if memory_files_supported():
        try:
            fd = os.memfd_create("localai-scratch", os.MFD_CLOEXEC)
        except OSError as error:  # a kernel or sandbox without it: use the folder instead
            log.info("memfd_create unavailable (%s); using a private temporary folder", error)
        else:
            try:
                os.fchmod(fd, 0o600)  # /proc already shuts other users out; say so anyway
                yield _PROC_FDS / str(fd)
            finally:
                os.close(fd)
            return
    remove_abandoned_scratch()
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))  # 0700
    lock = FileLock(folder / LOCK_FILE)
    lock.acquire()
    path = folder / f"scratch{suffix}"
    try:
        with open(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb"):
            pass
        yield path
    finally:
        try:
            shred(path)
        except OSError as error:  # Windows refuses while another handle is open
            log.warning("A temporary plaintext file could not be overwritten: %s", error)
        lock.release()
        shutil.rmtree(folder, ignore_errors=True)


def remove_abandoned_scratch() -> None:
    """Shred the scratch folders of processes that were killed while using them."""
    try:
        folders = list(Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"))
    except OSError:
        return
    for folder in folders:
        probe = FileLock(folder / LOCK_FILE)
        try:
            if not folder.is_dir() or not probe.acquire():
                continue  # in use by a live process
            for leftover in folder.iterdir():
                if leftover.name != LOCK_FILE:
                    shred(leftover)
        except OSError:
            continue
        finally:
            probe.release()
        shutil.rmtree(folder, ignore_errors=True)
