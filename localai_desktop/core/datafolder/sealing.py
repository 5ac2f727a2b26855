"""Sealing the files a workspace already holds when it becomes protected: adapters and jobs.

A workspace protected after it was used has plaintext adapters, fine-tuning datasets,
checkpoints, job files and training logs in its adapters/ and finetune/ folders.
`seal_existing` seals each in place (kill-safe, see `core.vault.workspace_files.seal_in_place`)
and overwrites the plaintext; a run stopped mid-way is finished at the next unlock, since
`has_plaintext_files` then still finds some. Empty files (the cancel flag) hold nothing and
are left; the temporary files of a write whose writer is gone are shredded, not sealed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from localai_desktop.core.common.atomic_files import TEMP_SUFFIX
from localai_desktop.core.common.file_lock import FileLock
from localai_desktop.core.common.shredding import shred
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.vault.keys import Vault
from localai_desktop.core.vault.sealed_files import is_sealed
from localai_desktop.core.vault.workspace_files import (
    PLAINTEXT_LEFTOVER_SUFFIX,
    SEALING_PREFIX,
    clear_leftover,
    seal_in_place,
)

log = logging.getLogger(__name__)


def sealed_folders(paths: DataPaths) -> tuple[Path, ...]:
    """The workspace folders whose files are derived from its content."""
    return (paths.adapters, paths.finetune)


def has_plaintext_files(paths: DataPaths) -> bool:
    return any(True for _ in _plaintext_files(paths))


def seal_existing(paths: DataPaths, vault: Vault) -> int:
    """Seal every plaintext file under the workspace's adapters/ and finetune/; returns how
    many were sealed. Raises OSError when a file cannot be read or written."""
    sealed = 0
    for path in list(_plaintext_files(paths)):
        if path.name.endswith(PLAINTEXT_LEFTOVER_SUFFIX):
            original = path.with_name(path.name[: -len(PLAINTEXT_LEFTOVER_SUFFIX)])
            if original.exists() and not is_sealed(original):
                seal_in_place(vault.file_key, original)  # clears this leftover first
                sealed += 1
            else:
                clear_leftover(path, original)
        elif path.name.startswith(SEALING_PREFIX):
            path.unlink(missing_ok=True)  # a sealed copy cut short: its original is still here
        elif _is_abandoned_temp(path):
            shred(path)
        elif path.exists() and not is_sealed(path):  # an earlier leftover may have sealed it
            seal_in_place(vault.file_key, path)
            sealed += 1
    if sealed:
        log.info("Sealed %s plaintext file(s) of the workspace %s", sealed, paths.workspace)
    return sealed


def _plaintext_files(paths: DataPaths) -> Iterator[Path]:
    for folder in sealed_folders(paths):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            if path.name.startswith(SEALING_PREFIX) or path.name.endswith(
                PLAINTEXT_LEFTOVER_SUFFIX
            ):
                yield path
            elif path.stat().st_size > 0 and not is_sealed(path):
                if path.name.endswith(TEMP_SUFFIX) and path.name.startswith("."):
                    if _is_abandoned_temp(path):
                        yield path
                    continue  # a write in progress elsewhere: its writer finishes it
                yield path


def _is_abandoned_temp(path: Path) -> bool:
    """A `write_atomically` temporary file whose writer is gone (nobody holds its lock)."""
    if not (path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)):
        return False
    probe = FileLock(path)
    try:
        return probe.acquire()
    except OSError:
        return False
    finally:
        probe.release()
