"""The database handle: one engine, short sessions, WAL, foreign keys, migrations with a backup.

A workspace's database may be encrypted (SQLCipher, keyed by the workspace's Vault) and always
has the data folder's shared library (models, downloads) attached: see connections.py.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker
from sqlcipher3 import dbapi2 as sqlcipher

from localai_desktop.core.common.errors import DatabaseTooNewError, StorageError
from localai_desktop.core.common.file_lock import FileLock
from localai_desktop.core.storage.connections import (
    DATABASE_ERRORS,
    is_plaintext_database,
    open_raw,
)
from localai_desktop.core.storage.library import LIBRARY_FILE, ensure_library
from localai_desktop.core.storage.migrations import MIGRATIONS, Migration

if TYPE_CHECKING:
    from localai_desktop.core.vault.keys import Vault

log = logging.getLogger(__name__)

SCHEMA_VERSION = MIGRATIONS[-1].version
# How long one process waits for another that holds the database: SQLite's own busy wait for
# a write, and the wait for another copy of the app that is migrating (a backup copy of a
# large database comes first).
BUSY_TIMEOUT_S = 15.0
MIGRATION_WAIT_S = 120.0
_SESSION_ERRORS: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.DatabaseError,
    *DATABASE_ERRORS,
)
_MIGRATION_ERRORS: tuple[type[Exception], ...] = (*DATABASE_ERRORS, exc.DBAPIError)


def busy_error(waited_s: float) -> StorageError:
    """The plain message when another process kept the database past our patience."""
    seconds = max(1, round(waited_s))
    return StorageError(
        f"The app's database stayed busy for {seconds} "
        f"{'second' if seconds == 1 else 'seconds'}: another copy of LocalAI Desktop or a "
        "'localai' command is working on it.",
        "Wait until it has finished, then try again. Nothing was lost.",
    )


def storage_error_from(error: BaseException) -> StorageError:
    """Turn a database exception into a message a person can act on."""
    text = str(error).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return StorageError(
            "Your disk is full, so the app could not save.",
            "Free some disk space, then try again. Everything saved before is still there.",
        )
    if "locked" in text or "busy" in text:
        return busy_error(BUSY_TIMEOUT_S)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StorageError(
            "The app cannot write to its data folder.",
            "Check that the data folder exists and that you may write to it.",
        )
    if "not a database" in text or "malformed" in text:
        return StorageError(
            "The app's database file is damaged.",
            "Restore it from one of the backup copies (files named '*.backup-*.db') "
            "in the data folder.",
        )
    return StorageError("The app could not read or write its database.", f"Details: {error}")


def encrypted_database_error() -> StorageError:
    return StorageError(
        "This workspace is protected with a passphrase, and it was opened without one.",
        "Unlock the workspace with its passphrase first.",
    )


class Database:
    """An open SQLite database, migrated to the schema this version of the app writes.

    `vault` opens an encrypted (SQLCipher) database; `library` is the shared model library
    attached to every connection (by default "library.db" beside the database).
    """

    def __init__(
        self,
        path: Path,
        *,
        vault: Vault | None = None,
        library: Path | None = None,
        target_version: int = SCHEMA_VERSION,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.library_path = Path(library) if library else self.path.with_name(LIBRARY_FILE)
        self._key = vault.sqlcipher_key_pragma if vault is not None else None
        self.backup_path: Path | None = None
        self._check_encryption()
        ensure_library(self.library_path)
        self._migrate(target_version)
        self.engine = self._create_engine()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def encrypted(self) -> bool:
        return self._key is not None

    def _check_encryption(self) -> None:
        """Refuse a keyed open of a plaintext file and an unkeyed open of an encrypted one."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        except OSError as error:
            raise storage_error_from(error) from error
        if size == 0:
            return
        plaintext = is_plaintext_database(self.path)
        if self._key is None and not plaintext:
            raise encrypted_database_error()
        if self._key is not None and plaintext:
            raise StorageError(
                "This workspace's database is not encrypted, though the workspace has a key.",
                "Finish protecting it: run 'localai workspace encrypt' for this workspace.",
            )

    def _connect(self, *, library: bool = True) -> sqlite3.Connection:
        return open_raw(
            self.path,
            self._key,
            timeout=BUSY_TIMEOUT_S,
            library=self.library_path if library else None,
        )

    def _create_engine(self) -> Engine:
        # SQLCipher's driver when keyed: SQLAlchemy then wraps its errors like sqlite3's.
        module = {"module": sqlcipher} if self._key is not None else {}
        # The file's URL (not "sqlite://") so that SQLAlchemy pools as for a file, a queue of
        # connections: for "sqlite://" it would pick its one-connection-per-thread pool, which
        # closes other threads' connections while they use them (a crash under the server's
        # many request threads). The creator makes each connection (key, library).
        engine = create_engine(f"sqlite:///{self.path}", creator=self._connect, **module)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            # Let SQLAlchemy issue BEGIN itself so DDL and DML share real transactions.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed message survives a power cut, not just a killed process.
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA library.synchronous = FULL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # IMMEDIATE: a transaction that reads and then writes (most of ours) would otherwise
            # fail at once with "database is locked" when another thread (the answer writer,
            # the GUI) committed in between, instead of waiting its turn.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A short session committed on success; database errors become StorageError."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except _SESSION_ERRORS as error:
            session.rollback()
            raise storage_error_from(error) from error
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def connect_plain(self, *, flush_to_disk: bool = True) -> sqlite3.Connection:
        """A plain sqlite3 connection set up like the engine's, in autocommit; close it after.

        For a write on a hot path (a streaming answer): SQLAlchemy's pool, events and session
        touch far more Python objects, and hold the interpreter's lock longer, than one UPDATE.
        With `flush_to_disk=False` its commits skip the fsync (WAL with synchronous NORMAL):
        they survive the app being killed, not a power cut, which suits text that a complete
        write replaces moments later.
        """
        try:
            connection = self._connect()
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute(f"PRAGMA synchronous = {'FULL' if flush_to_disk else 'NORMAL'}")
        except DATABASE_ERRORS as error:
            raise storage_error_from(error) from error
        return connection

    def close(self) -> None:
        self.engine.dispose()

    # -- migrations -------------------------------------------------------------------------

    def _migrate(self, target_version: int) -> None:
        """Bring the schema to `target_version`, one copy of the app at a time.

        Two copies started together (a double click, the app beside a script) would otherwise
        both create the tables or add the same column. The first takes the lock file beside
        the database and migrates; the others wait, then find the work done. Each migration
        also checks the version inside its own write transaction, so it runs once even for a
        copy of an older app that knows nothing of the lock.
        """
        version = self._version_now()
        self._refuse_if_too_new(version)
        if version >= target_version:
            return
        lock = FileLock(self.lock_path)
        try:
            got_it = lock.acquire(timeout=MIGRATION_WAIT_S)
        except OSError as error:
            raise storage_error_from(error) from error
        if not got_it:
            raise busy_error(MIGRATION_WAIT_S)
        try:
            self._migrate_locked(target_version)
        finally:
            lock.release()

    @property
    def lock_path(self) -> Path:
        """The lock file that one copy of the app holds while it migrates the database."""
        return self.path.with_name(self.path.name + ".lock")

    def _version_now(self) -> int:
        try:
            raw = self._connect(library=False)
            try:
                return self._read_version(raw)
            finally:
                raw.close()
        except DATABASE_ERRORS as error:
            raise storage_error_from(error) from error

    @staticmethod
    def _refuse_if_too_new(version: int) -> None:
        if version > SCHEMA_VERSION:
            raise DatabaseTooNewError(
                f"This data folder was used by a newer version of LocalAI Desktop "
                f"(database version {version}; this version understands up to "
                f"{SCHEMA_VERSION}).",
                "Install the newer version again, or start this one with another data "
                "folder. Nothing was changed.",
            )

    def _migrate_locked(self, target_version: int) -> None:
        try:
            raw = self._connect(library=False)
        except DATABASE_ERRORS as error:
            raise storage_error_from(error) from error
        try:
            version = self._read_version(raw)  # again: another copy may have migrated meanwhile
            self._refuse_if_too_new(version)
            if version >= target_version:
                return
            if version > 0:
                self.backup_path = self._backup(raw, version)
            raw.execute("PRAGMA foreign_keys = OFF")
            raw.execute("PRAGMA journal_mode = WAL")
            for migration in MIGRATIONS:
                if version < migration.version <= target_version:
                    self._apply(migration)
        except _MIGRATION_ERRORS as error:
            raise storage_error_from(error) from error
        finally:
            raw.close()

    @staticmethod
    def _read_version(raw: sqlite3.Connection) -> int:
        return int(raw.execute("PRAGMA user_version").fetchone()[0])

    def _backup(self, raw: sqlite3.Connection, version: int) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup_path = self.path.with_name(f"{self.path.stem}.backup-v{version}-{stamp}.db")
        # Keyed like the database: a protected workspace's backup is encrypted too.
        target = open_raw(backup_path, self._key, timeout=BUSY_TIMEOUT_S)
        try:
            raw.backup(target)
        finally:
            target.close()
        log.info("Backed up database version %s to %s before migrating", version, backup_path)
        return backup_path

    def _apply(self, migration: Migration) -> None:
        # A throwaway engine on the same file gives migrations a SQLAlchemy Connection; the
        # whole migration and the version bump commit together or not at all.
        library = self.library_path if migration.needs_library else None

        def connect() -> sqlite3.Connection:
            return open_raw(self.path, self._key, timeout=BUSY_TIMEOUT_S, library=library)

        module = {"module": sqlcipher} if self._key is not None else {}
        engine = create_engine(f"sqlite:///{self.path}", creator=connect, **module)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        try:
            with engine.begin() as conn:
                # Read inside the write transaction: if someone applied it meanwhile, skip it.
                if int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0) >= (
                    migration.version
                ):
                    return
                migration.apply(conn)
                conn.exec_driver_sql(f"PRAGMA user_version = {int(migration.version)}")
        finally:
            engine.dispose()
        log.info("Migrated database to version %s (%s)", migration.version, migration.description)
