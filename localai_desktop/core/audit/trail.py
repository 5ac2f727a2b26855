"""``AuditTrail``: append to, read, verify and export the audit trail of one database.

Appending reads the last entry's hash and inserts the next entry in one write transaction
(the database begins every transaction IMMEDIATE), so two processes writing at once (the
command line and the app) queue up instead of forking the chain. An event and its entry can
share a transaction through ``append(session, ...)``: a deletion is never committed without
its entry, nor an entry without its deletion.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from localai_desktop.core.audit.entries import (
    GENESIS_HASH,
    KINDS,
    TRAIL_EXPORTED,
    AuditEntry,
    canonical_json,
    entry_hash,
    plain,
    sha256_bytes,
)
from localai_desktop.core.audit.export import format_for, render
from localai_desktop.core.audit.verification import (
    VerifyReport,
    entry_from_row,
    find_first_problem,
    message_ids_vouched_for,
)
from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import StorageError
from localai_desktop.core.storage.connections import DATABASE_ERRORS
from localai_desktop.core.storage.db import Database, storage_error_from
from localai_desktop.core.storage.tables import AuditEntryRow

log = logging.getLogger(__name__)

_ENTRY_COLUMNS = "id, recorded_at, kind, conversation_id, message_id, facts, previous_hash, hash"
_IDS_PER_QUERY = 500


@dataclass(frozen=True)
class TrailExport:
    """What `AuditTrail.export` wrote."""

    path: Path
    format: str
    entries: int
    sha256: str
    report: VerifyReport

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "format": self.format,
            "entries": self.entries,
            "sha256": self.sha256,
            "verification": self.report.to_json(),
        }


class AuditTrail:
    """The audit trail kept in a data folder's database (table ``audit_entries``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- writing --------------------------------------------------------------------------

    def record(
        self,
        kind: str,
        *,
        conversation_id: int | None = None,
        message_id: int | None = None,
        **facts: Any,
    ) -> AuditEntry:
        """Append one entry in its own transaction and return it."""
        with self._db.session() as session:
            return self.append(
                session, kind, conversation_id=conversation_id, message_id=message_id, facts=facts
            )

    def append(
        self,
        session: Session,
        kind: str,
        *,
        conversation_id: int | None = None,
        message_id: int | None = None,
        facts: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry inside the caller's write transaction (it commits with it)."""
        if kind not in KINDS:
            raise ValueError(f"unknown audit entry kind {kind!r}")
        last = session.execute(
            select(AuditEntryRow.id, AuditEntryRow.hash).order_by(AuditEntryRow.id.desc()).limit(1)
        ).first()
        entry_id = 1 if last is None else int(last[0]) + 1
        previous_hash = GENESIS_HASH if last is None else str(last[1])
        recorded_at = utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        clean = plain(facts or {})
        digest = entry_hash(
            previous_hash,
            entry_id=entry_id,
            recorded_at=recorded_at,
            kind=kind,
            conversation_id=conversation_id,
            message_id=message_id,
            facts=clean,
        )
        session.add(
            AuditEntryRow(
                id=entry_id,
                recorded_at=recorded_at,
                kind=kind,
                conversation_id=conversation_id,
                message_id=message_id,
                facts=canonical_json(clean),
                previous_hash=previous_hash,
                hash=digest,
            )
        )
        session.flush()
        return AuditEntry(
            entry_id, recorded_at, kind, conversation_id, message_id, clean, previous_hash, digest
        )

    # -- reading --------------------------------------------------------------------------

    def entries(self, *, newest_first: bool = False) -> list[AuditEntry]:
        """Every entry, oldest first (or newest first)."""
        with self._reading() as raw:
            return self._entries(raw, newest_first=newest_first)

    def count(self) -> int:
        with self._reading() as raw:
            return int(raw.execute("SELECT count(*) FROM audit_entries").fetchone()[0])

    def verify(self) -> VerifyReport:
        """Recompute the chain and re-hash the messages it vouches for (see verification)."""
        started = time.perf_counter()
        with self._reading() as raw:
            entries = self._entries(raw)
            messages = _stored_messages(raw, sorted(message_ids_vouched_for(entries)))
        bad_entry, problem = find_first_problem(entries, messages)
        report = VerifyReport(len(entries), bad_entry, problem, time.perf_counter() - started)
        if not report.ok:
            log.warning("The audit trail does not verify: %s", report.summary())
        return report

    # -- exporting ------------------------------------------------------------------------

    def export(self, path: str | Path, file_format: str | None = None) -> TrailExport:
        """Write the trail (oldest first) as CSV or JSON, then record that it was exported.

        The format is `file_format`, else the file's suffix (.csv), else JSON. The JSON file
        carries the verdict of a verification run just before and how to recompute the hashes.
        """
        path = Path(path)
        chosen = format_for(path, file_format)
        entries = self.entries()
        report = self.verify()
        data = render(entries, report, chosen)
        try:
            write_atomically(path, data, temp_prefix=".audit-")
        except OSError as error:
            raise StorageError(
                f"The audit trail could not be written to {path} ({error.strerror or error}).",
                "Choose another folder, or free some disk space. Nothing was changed.",
            ) from error
        digest = sha256_bytes(data)
        self.record(TRAIL_EXPORTED, format=chosen, entries=len(entries), file_sha256=digest)
        log.info("Exported the audit trail (%s entries) as %s", len(entries), chosen)
        return TrailExport(path, chosen, len(entries), digest, report)

    # -- helpers --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent view that never blocks the app's writers."""
        raw = self._db.connect_plain()
        try:
            raw.execute("BEGIN")
            yield raw
            raw.execute("COMMIT")
        except DATABASE_ERRORS as error:
            raise storage_error_from(error) from error
        finally:
            raw.close()

    @staticmethod
    def _entries(raw: sqlite3.Connection, *, newest_first: bool = False) -> list[AuditEntry]:
        order = "DESC" if newest_first else "ASC"
        rows = raw.execute(f"SELECT {_ENTRY_COLUMNS} FROM audit_entries ORDER BY id {order}")
        return [entry_from_row(row) for row in rows]


def _stored_messages(raw: sqlite3.Connection, ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    messages: dict[int, tuple[int, str]] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        batch = ids[start : start + _IDS_PER_QUERY]
        marks = ", ".join("?" for _ in batch)
        for message_id, conversation_id, content in raw.execute(
            f"SELECT id, conversation_id, content FROM messages WHERE id IN ({marks})", batch
        ):
            messages[int(message_id)] = (int(conversation_id), str(content))
    return messages
