"""The shared model library: one plain SQLite file per data folder, beside the workspaces.

Models and downloads are public files (anyone may fetch them from the Hub), so every
workspace of a data folder shares them: the library is attached to each workspace's
database as `library` (connections.py), where unqualified `models` and `downloads` resolve to
it. It keeps its own schema version (PRAGMA user_version) and migrations, applied under a lock
file like a workspace's. Ids are AUTOINCREMENT: a workspace that was locked while a model was
removed may still name the old id, and must never find another model under it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from localai_desktop.core.common.errors import StorageError
from localai_desktop.core.common.file_lock import FileLock

LIBRARY_FILE = "library.db"
_WAIT_S = 120.0

# The columns of `models` and `downloads` as the workspace schema had them at version 8.
_V1 = """
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR NOT NULL UNIQUE,
    path TEXT NOT NULL,
    copied BOOLEAN NOT NULL DEFAULT 0,
    file_size INTEGER NOT NULL,
    sha256 VARCHAR NOT NULL,
    architecture VARCHAR NOT NULL,
    parameter_count INTEGER NOT NULL,
    quantization VARCHAR NOT NULL,
    context_length INTEGER NOT NULL,
    license VARCHAR,
    chat_template TEXT,
    added_at DATETIME NOT NULL,
    source TEXT NOT NULL DEFAULT '{}',
    is_embedding_model BOOLEAN NOT NULL DEFAULT 0,
    plain_buffers BOOLEAN NOT NULL DEFAULT 0,
    chat_template_check VARCHAR
);
CREATE TABLE IF NOT EXISTS downloads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id VARCHAR NOT NULL,
    revision VARCHAR NOT NULL,
    quantization VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    first_file TEXT NOT NULL,
    files TEXT NOT NULL DEFAULT '[]',
    folder TEXT NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'queued',
    error TEXT,
    source TEXT NOT NULL DEFAULT '{}',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_downloads_repo_file ON downloads (repo_id, first_file)
"""


def _v1(raw: sqlite3.Connection) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            raw.execute(statement)


LIBRARY_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1,)
LIBRARY_VERSION = len(LIBRARY_MIGRATIONS)


def _library_error(error: BaseException) -> StorageError:
    return StorageError(
        "The app could not open its shared list of models (library.db in the data folder).",
        f"Check that you may write to the data folder and that the disk is not full. "
        f"Details: {error}",
    )


def _version(raw: sqlite3.Connection) -> int:
    return int(raw.execute("PRAGMA user_version").fetchone()[0])


def ensure_library(path: Path) -> None:
    """Create the library or bring it to this version's schema; a newer one is left alone."""
    try:
        raw = sqlite3.connect(path, isolation_level=None, timeout=15.0)
        try:
            if _version(raw) >= LIBRARY_VERSION:
                return
        finally:
            raw.close()
        lock = FileLock(path.with_name(path.name + ".lock"))
        if not lock.acquire(timeout=_WAIT_S):
            raise StorageError(
                "Another copy of LocalAI Desktop kept the list of models busy.",
                "Wait until it has finished, then try again. Nothing was lost.",
            )
        try:
            raw = sqlite3.connect(path, isolation_level=None, timeout=15.0)
            try:
                raw.execute("PRAGMA journal_mode = WAL")
                for number, migrate in enumerate(LIBRARY_MIGRATIONS, start=1):
                    raw.execute("BEGIN IMMEDIATE")
                    if _version(raw) >= number:
                        raw.execute("ROLLBACK")
                        continue
                    migrate(raw)
                    raw.execute(f"PRAGMA user_version = {number}")
                    raw.execute("COMMIT")
            finally:
                raw.close()
        finally:
            lock.release()
    except (sqlite3.Error, OSError) as error:
        raise _library_error(error) from error
