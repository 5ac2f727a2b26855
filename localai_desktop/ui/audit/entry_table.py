"""The audit trail as a table model: one row per entry, newest first, hashes shortened."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, Qt

from localai_desktop.core.audit.entries import (
    ANSWER,
    CONVERSATION_DELETED,
    MESSAGE_DELETED,
    AuditEntry,
    canonical_json,
    short,
)
from localai_desktop.ui.widgets.table_columns import RIGHT_ALIGNED, ColumnsTableModel, Index

COLUMN_ENTRY, COLUMN_TIME, COLUMN_WHAT, COLUMN_WHERE, COLUMN_MODEL, COLUMN_HASHES = range(6)


def local_time(entry: AuditEntry, *, seconds: bool = False) -> str:
    """When the entry was recorded, in this computer's time zone, to the minute (or second)."""
    moment: datetime = entry.recorded_at_time.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def headline(entry: AuditEntry) -> str:
    """What happened, without what the other columns show (the full sentence is its tooltip)."""
    facts = entry.facts
    if entry.kind == ANSWER:
        sources = len(facts.get("sources") or [])
        cited = f", {sources} {'source' if sources == 1 else 'sources'} cited" if sources else ""
        return f"Answer, {facts.get('status') or 'saved'}{cited}"
    if entry.kind == CONVERSATION_DELETED:
        messages = facts.get("messages")
        count = f" ({messages} {'message' if messages == 1 else 'messages'})"
        return "Conversation deleted" + (count if isinstance(messages, int) else "")
    if entry.kind == MESSAGE_DELETED:
        return "Answer deleted" if facts.get("role") == "assistant" else "Message deleted"
    return entry.describe()


def where(entry: AuditEntry) -> str:
    """ "5 / 112": the conversation and message the entry is about ("5" or "" when fewer)."""
    if entry.conversation_id is None:
        return ""
    if entry.message_id is None:
        return str(entry.conversation_id)
    return f"{entry.conversation_id} / {entry.message_id}"


def _short(sha256: object) -> str:
    return short(sha256)[:8]


def model(entry: AuditEntry, *, with_hashes: bool = False) -> str:
    """The model (and adapter) an answer was written with, or the model an entry is about;
    with their files' short sha256 when asked."""
    facts = entry.facts
    if not facts.get("model_name") and not facts.get("model_sha256"):
        return ""
    text = str(facts.get("model_name") or "model")
    if with_hashes:
        text += f" ({_short(facts.get('model_sha256'))})"
    if facts.get("adapter_name"):
        text += f" + {facts['adapter_name']}"
        if with_hashes:
            text += f" ({_short(facts.get('adapter_sha256'))})"
    return text


def hashes(entry: AuditEntry) -> str:
    """The short hashes of what the entry vouches for (its own is in the tooltip)."""
    facts = entry.facts
    if entry.kind == ANSWER:
        question = _short(facts.get("question_sha256"))
        return f"Q {question} A {_short(facts.get('answer_sha256'))}"
    if facts.get("file_sha256"):
        return f"file {_short(facts.get('file_sha256'))}"
    return f"entry {_short(entry.hash)}"


class AuditEntryTable(ColumnsTableModel):
    """The entries of the trail, newest first (the order they are given in)."""

    columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("#", "The entry's number in the trail: 1 is the first thing recorded"),
        ("Time", "When it was recorded, in this computer's time (to the second: the tooltip)"),
        ("What", "What happened"),
        ("Chat / message", "The conversation and message it is about"),
        ("Model", "The model (and adapter) an answer was written with; its sha256 is the tooltip"),
        (
            "Hashes",
            "sha256 fingerprints, shortened: an answer's question (Q) and answer (A), a file's,"
            " or the entry's own",
        ),
    )

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[AuditEntry] = []

    def set_entries(self, entries: Sequence[AuditEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def entry(self, row: int) -> AuditEntry:
        return self._entries[row]

    def row_of(self, entry_id: int) -> int | None:
        """The row showing entry `entry_id`, if it is listed."""
        for row, entry in enumerate(self._entries):
            if entry.id == entry_id:
                return row
        return None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COLUMN_HASHES:
                return f"Entry sha256: {entry.hash}\nChained to: {entry.previous_hash}"
            if column == COLUMN_TIME:
                return f"{local_time(entry, seconds=True)} ({entry.recorded_at} UTC)"
            if column == COLUMN_MODEL and model(entry):
                facts = entry.facts
                sha256s = [f"Model file sha256: {facts.get('model_sha256')}"]
                if facts.get("adapter_sha256"):
                    sha256s.append(f"Adapter file sha256: {facts['adapter_sha256']}")
                return "\n".join(sha256s)
            if column == COLUMN_WHAT:
                return f"{entry.describe()}\n\nRecorded facts: {canonical_json(entry.facts)}"
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == COLUMN_ENTRY:
            return RIGHT_ALIGNED
        return None

    @staticmethod
    def _text(entry: AuditEntry, column: int) -> str:
        if column == COLUMN_ENTRY:
            return str(entry.id)
        if column == COLUMN_TIME:
            return local_time(entry)
        if column == COLUMN_WHAT:
            return headline(entry)
        if column == COLUMN_WHERE:
            return where(entry)
        if column == COLUMN_MODEL:
            return model(entry)
        return hashes(entry)
