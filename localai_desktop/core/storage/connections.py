"""Raw DB-API connections to a workspace database: plain SQLite, or SQLCipher when keyed.

Every connection the app opens on a workspace database goes through `open_raw`, so the
SQLCipher key is the first statement on each, temporary tables and indexes stay in memory
(never a plaintext temp file on disk), and the shared model library is attached under the
same name everywhere. `DATABASE_ERRORS` catches both drivers' errors (sqlcipher3's are not
subclasses of sqlite3's).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import cast

from sqlcipher3 import dbapi2 as sqlcipher

# The schema name of the shared library (models, downloads) on every workspace connection.
LIBRARY_SCHEMA = "library"
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, sqlcipher.Error)
DATABASE_OR_OS_ERRORS: tuple[type[Exception], ...] = (*DATABASE_ERRORS, OSError)
SQLITE_HEADER = b"SQLite format 3\x00"


def is_plaintext_database(path: Path) -> bool:
    """True for a plain SQLite file (readable by anyone who has it); False for a SQLCipher one,
    a missing or an empty file."""
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def open_raw(
    path: Path | str,
    key_pragma: str | None,
    *,
    timeout: float,
    library: Path | None = None,
    uri: bool = False,
) -> sqlite3.Connection:
    """A connection in autocommit with the key applied and the library attached."""
    target = str(path)
    if key_pragma is None:
        connection = sqlite3.connect(
            target, isolation_level=None, timeout=timeout, check_same_thread=False, uri=uri
        )
    else:
        # sqlcipher3 mirrors the sqlite3 module's API; the cast keeps one type for callers.
        connection = cast(
            sqlite3.Connection,
            sqlcipher.connect(
                target, isolation_level=None, timeout=timeout, check_same_thread=False, uri=uri
            ),
        )
    try:
        if key_pragma is not None:
            connection.execute(f"PRAGMA key = {key_pragma}")
        # Sorts, temporary indexes and tables in memory: SQLCipher does not encrypt temp files.
        connection.execute("PRAGMA temp_store = MEMORY")
        if library is not None:
            attach_library(connection, library, keyed=key_pragma is not None)
    except BaseException:
        connection.close()
        raise
    return connection


def attach_library(connection: sqlite3.Connection, library: Path, *, keyed: bool) -> None:
    """Attach the shared plaintext library; unqualified `models` and `downloads` resolve to it
    because a workspace's own database has no tables of those names."""
    # KEY '' tells SQLCipher the attached file is plain SQLite (public model facts only).
    key = " KEY ''" if keyed else ""
    connection.execute(f"ATTACH DATABASE ? AS {LIBRARY_SCHEMA}{key}", (str(library),))
    connection.execute(f"PRAGMA {LIBRARY_SCHEMA}.journal_mode = WAL")
