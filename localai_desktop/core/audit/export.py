"""The audit trail as a file for the record: CSV for spreadsheets, JSON for programs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from localai_desktop import __version__
from localai_desktop.core.audit.entries import (
    GENESIS_HASH,
    HASH_RECIPE,
    AuditEntry,
    canonical_json,
)
from localai_desktop.core.audit.verification import VerifyReport
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError

TRAIL_FORMAT = "localai-desktop-audit-trail"
TRAIL_FORMAT_VERSION = 1
FORMATS = ("csv", "json")
CSV_COLUMNS = (
    "id",
    "recorded_at",
    "kind",
    "what",
    "conversation_id",
    "message_id",
    "facts",
    "previous_hash",
    "hash",
)


def format_for(path: Path, wanted: str | None) -> str:
    """The format to write: the one asked for, else the file's suffix (.csv), else JSON."""
    chosen = (wanted or ("csv" if Path(path).suffix.lower() == ".csv" else "json")).lower()
    if chosen not in FORMATS:
        raise LocalAIError(f"The audit trail cannot be saved as '{wanted}'.", "Choose csv or json.")
    return chosen


def render(entries: Sequence[AuditEntry], report: VerifyReport, file_format: str) -> bytes:
    """The file's bytes, oldest entry first; `facts` in CSV is the canonical JSON hashed."""
    if file_format == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for entry in entries:
            writer.writerow(
                [
                    entry.id,
                    entry.recorded_at,
                    entry.kind,
                    entry.describe(),
                    "" if entry.conversation_id is None else entry.conversation_id,
                    "" if entry.message_id is None else entry.message_id,
                    canonical_json(entry.facts),
                    entry.previous_hash,
                    entry.hash,
                ]
            )
        return buffer.getvalue().encode("utf-8")
    document = {
        "format": TRAIL_FORMAT,
        "format_version": TRAIL_FORMAT_VERSION,
        "app_version": __version__,
        "exported_at": utcnow().isoformat() + "Z",
        "genesis_hash": GENESIS_HASH,
        "hash_recipe": HASH_RECIPE,
        "verification": report.to_json(),
        "entries": [entry.to_json() for entry in entries],
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
