"""Protecting a workspace with a passphrase: its key, and turning plaintext data into encrypted.

`protect` gives a workspace a key file and encrypts what it already holds. The database is
converted kill-safe: the encrypted copy is written beside it under a temporary name, checked
(it opens with the key and holds as many rows in every table), and only then renamed over the
plaintext file in one step. A SIGKILL at any moment leaves either the old plaintext database
intact (the temporary copy is removed at the next start) or the encrypted one complete. The
plaintext file's contents are then overwritten and removed (a hard link keeps them reachable
until that is done, so a kill in between is finished at the next unlock), and so are the
plaintext backup copies made before migrations. The adapters and fine-tuning files it already
holds are then sealed in place, kill-safe too (`sealing.seal_existing`).

A workspace whose key file exists but whose database is still plaintext was stopped mid-way:
`finish_protection` completes it at the next unlock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

from sqlcipher3 import dbapi2 as sqlcipher

from localai_desktop.core.common.atomic_files import sync_folder
from localai_desktop.core.common.errors import StorageError
from localai_desktop.core.common.shredding import shred
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.sealing import has_plaintext_files, seal_existing
from localai_desktop.core.finetune.jobs import (
    running_in_plaintext_database,
    training_running_error,
)
from localai_desktop.core.storage.connections import DATABASE_OR_OS_ERRORS, is_plaintext_database
from localai_desktop.core.storage.db import BUSY_TIMEOUT_S
from localai_desktop.core.vault.keys import KeyFile, Vault
from localai_desktop.core.vault.workspace_files import PLAINTEXT_LEFTOVER_SUFFIX

log = logging.getLogger(__name__)

ENCRYPTING_PREFIX = ".tmp-encrypting-"


def protect(paths: DataPaths, passphrase: str) -> Vault:
    """Give the workspace a key from `passphrase` (or use the one it has) and encrypt it.

    Refused while a training runs in the workspace (its trainer writes plaintext files).
    """
    training = running_in_plaintext_database(paths.database)
    if training:
        raise training_running_error(training)
    key_file = KeyFile(paths.key_file)
    vault = key_file.unlock(passphrase) if key_file.exists() else key_file.create(passphrase)
    finish_protection(paths, vault)
    return vault


def finish_protection(paths: DataPaths, vault: Vault) -> None:
    """Encrypt whatever of the workspace is still plaintext, and shred what was left over."""
    encrypt_database(paths.database, vault)
    for backup in plaintext_backups(paths):
        shred(backup)
    for leftover in paths.workspace.glob(f"*{PLAINTEXT_LEFTOVER_SUFFIX}"):
        shred(leftover)
    try:
        seal_existing(paths, vault)  # adapters, datasets, checkpoints, job files
    except OSError as error:
        raise StorageError(
            "The workspace's adapters and training files could not all be encrypted; those "
            "not yet done are as they were.",
            f"Check that the disk has room and that you may write to the data folder, then "
            f"unlock the workspace again to finish. Details: {error}",
        ) from error


def needs_finishing(paths: DataPaths) -> bool:
    return (
        is_plaintext_database(paths.database)
        or any(paths.workspace.glob(f"*{PLAINTEXT_LEFTOVER_SUFFIX}"))
        or bool(plaintext_backups(paths))
        or has_plaintext_files(paths)
    )


def plaintext_backups(paths: DataPaths) -> list[Path]:
    stem = paths.database.stem
    return [p for p in paths.workspace.glob(f"{stem}.backup-*.db") if is_plaintext_database(p)]


def encrypt_database(path: Path, vault: Vault) -> None:
    """Replace a plaintext SQLite database by an encrypted copy, kill-safe (see above)."""
    if not is_plaintext_database(path):
        return
    temp = path.with_name(ENCRYPTING_PREFIX + path.name)
    leftover = path.with_name(path.name + PLAINTEXT_LEFTOVER_SUFFIX)
    for stale in (temp, leftover):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    try:
        counts = _export_encrypted(path, temp, vault)
        _check_copy(temp, vault, counts)
        os.link(path, leftover)  # the plaintext stays reachable until it is overwritten
        os.replace(temp, path)
        sync_folder(path.parent)
    except DATABASE_OR_OS_ERRORS as error:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise StorageError(
            "The workspace's data could not be encrypted, so it was left as it was.",
            f"Check that the disk has room for a second copy of the database. Details: {error}",
        ) from error
    for suffix in ("-wal", "-shm"):  # the plaintext database's, emptied by the checkpoint
        side = path.with_name(path.name + suffix)
        if side.exists():
            shred(side)
    shred(leftover)
    log.info("Encrypted the workspace database %s", path)


def _export_encrypted(path: Path, temp: Path, vault: Vault) -> dict[str, int]:
    source = sqlcipher.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_S)
    try:
        source.execute("PRAGMA temp_store = MEMORY")
        # Everything committed goes into the main file; the WAL is emptied.
        source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        version = int(source.execute("PRAGMA user_version").fetchone()[0])
        counts = _row_counts(source)
        source.execute(
            f"ATTACH DATABASE ? AS encrypted KEY {vault.sqlcipher_key_pragma}", (str(temp),)
        )
        source.execute("SELECT sqlcipher_export('encrypted')")
        source.execute(f"PRAGMA encrypted.user_version = {version}")
        source.execute("DETACH DATABASE encrypted")
    finally:
        source.close()
    with open(temp, "rb+") as f:
        os.fsync(f.fileno())
    return counts


def _check_copy(temp: Path, vault: Vault, expected: dict[str, int]) -> None:
    copy = sqlcipher.connect(str(temp), isolation_level=None)
    try:
        copy.execute(f"PRAGMA key = {vault.sqlcipher_key_pragma}")
        if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise OSError("the encrypted copy did not pass SQLite's check")
        if _row_counts(copy) != expected:
            raise OSError("the encrypted copy does not hold every row")
    finally:
        copy.close()
    if is_plaintext_database(temp):
        raise OSError("the copy was not encrypted")


def _row_counts(connection: sqlite3.Connection | sqlcipher.Connection) -> dict[str, int]:
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL%'"
        )
    ]
    return {t: int(connection.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables}
