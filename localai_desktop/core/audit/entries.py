"""Audit entries: their kinds, the canonical JSON they are hashed as, and the sha256 chain."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# The chain's first link: entry 1 chains from this fixed value.
GENESIS_HASH = "0" * 64
HASH_RECIPE = (
    "hash = sha256 of (previous_hash + newline + the canonical JSON of {id, recorded_at, kind, "
    "conversation_id, message_id, facts}), as lowercase hex; canonical JSON: UTF-8, keys "
    "sorted, no spaces, floats in their shortest round-trip form; entry 1 chains from "
    f"{GENESIS_HASH}"
)

ANSWER = "answer"
BACKUP_EXPORTED = "backup_exported"
BACKUP_IMPORTED = "backup_imported"
TRAIL_EXPORTED = "audit_exported"
# A conversation written to a Word, PDF, Markdown or HTML file (core/export): its format, the
# messages it held and the file's sha256.
CONVERSATION_EXPORTED = "conversation_exported"
# A conversation sent to a printer (ui/export): which messages, never their content.
CONVERSATION_PRINTED = "conversation_printed"
CONVERSATION_DELETED = "conversation_deleted"
MESSAGE_DELETED = "message_deleted"
COLLECTION_DELETED = "collection_deleted"
DOCUMENT_REMOVED = "document_removed"
ADAPTER_DELETED = "adapter_deleted"
MODEL_REMOVED = "model_removed"
UNLOCKED = "unlocked"
# A request to the local server (core/server): hashes of the request and the answer, the
# model, the outcome and token counts. API traffic is not stored as conversations.
API_REQUEST = "api_request"
KINDS = (
    ANSWER,
    BACKUP_EXPORTED,
    BACKUP_IMPORTED,
    TRAIL_EXPORTED,
    CONVERSATION_DELETED,
    MESSAGE_DELETED,
    COLLECTION_DELETED,
    DOCUMENT_REMOVED,
    ADAPTER_DELETED,
    MODEL_REMOVED,
    UNLOCKED,
    API_REQUEST,
    CONVERSATION_EXPORTED,
    CONVERSATION_PRINTED,
)


def sha256_text(text: str) -> str:
    """The sha256 of a text as UTF-8, in lowercase hex: how questions and answers are kept."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plain(value: Any) -> Any:
    """A value as plain JSON data: tuples become lists, paths and dates text, and floats that
    JSON cannot hold (NaN, infinity) text, so the same facts always hash the same."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(
        plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(
    previous_hash: str,
    *,
    entry_id: int,
    recorded_at: str,
    kind: str,
    conversation_id: int | None,
    message_id: int | None,
    facts: Mapping[str, Any],
) -> str:
    """The entry's sha256, chained to the one before it (see HASH_RECIPE)."""
    body = canonical_json(
        {
            "id": entry_id,
            "recorded_at": recorded_at,
            "kind": kind,
            "conversation_id": conversation_id,
            "message_id": message_id,
            "facts": facts,
        }
    )
    return hashlib.sha256(f"{previous_hash}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the trail, as plain data."""

    id: int
    recorded_at: str  # ISO 8601, UTC, ending in Z
    kind: str
    conversation_id: int | None
    message_id: int | None
    facts: dict[str, Any] = field(default_factory=dict)
    previous_hash: str = GENESIS_HASH
    hash: str = ""

    @property
    def recorded_at_time(self) -> datetime:
        """When it was recorded, as an aware UTC datetime."""
        return datetime.fromisoformat(self.recorded_at.replace("Z", "+00:00"))

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    def describe(self) -> str:
        return describe(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "recorded_at": self.recorded_at,
            "kind": self.kind,
            "what": describe(self),
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "facts": self.facts,
            "previous_hash": self.previous_hash,
            "hash": self.hash,
        }


def short(sha256: object) -> str:
    """The first 12 hex digits of a sha256, or a dash when there is none."""
    return str(sha256)[:12] if sha256 else "-"


def _count(number: object, one: str, many: str) -> str:
    n = number if isinstance(number, int) else 0
    return f"{n} {one if n == 1 else many}"


def describe(entry: AuditEntry) -> str:
    """What the entry records, in a few plain words (never content: there is none to show)."""
    facts = entry.facts
    kind = entry.kind
    if kind == ANSWER:
        what = f"Answer {entry.message_id} in conversation {entry.conversation_id}"
        model = facts.get("model_name")
        status = facts.get("status")
        extra = ", ".join(str(x) for x in (model, status) if x)
        sources = facts.get("sources") or []
        if sources:
            extra += f", {_count(len(sources), 'source', 'sources')} cited"
        return f"{what} ({extra})" if extra else what
    if kind == BACKUP_EXPORTED:
        conversations = _count(facts.get("conversations"), "conversation", "conversations")
        return f"Conversations and settings exported ({conversations})"
    if kind == BACKUP_IMPORTED:
        added = _count(facts.get("messages_added"), "message", "messages")
        return f"Backup imported ({added} added)"
    if kind == TRAIL_EXPORTED:
        entries = _count(facts.get("entries"), "entry", "entries")
        return f"Audit trail exported as {str(facts.get('format', '')).upper()} ({entries})"
    if kind == CONVERSATION_EXPORTED:
        messages = _count(facts.get("messages"), "message", "messages")
        return (
            f"Conversation {entry.conversation_id} exported as "
            f"{str(facts.get('format', '')).upper()} ({messages})"
        )
    if kind == CONVERSATION_PRINTED:
        messages = _count(facts.get("messages"), "message", "messages")
        return f"Conversation {entry.conversation_id} printed ({messages})"
    if kind == CONVERSATION_DELETED:
        messages = _count(facts.get("messages"), "message", "messages")
        return f"Conversation {entry.conversation_id} deleted ({messages})"
    if kind == MESSAGE_DELETED:
        role = "Answer" if facts.get("role") == "assistant" else "Message"
        return f"{role} {entry.message_id} deleted from conversation {entry.conversation_id}"
    if kind == COLLECTION_DELETED:
        documents = _count(facts.get("documents"), "document", "documents")
        return f"Document collection {facts.get('collection_id')} deleted ({documents})"
    if kind == DOCUMENT_REMOVED:
        return (
            f"Document {short(facts.get('file_sha256'))} removed from collection "
            f"{facts.get('collection_id')}"
        )
    if kind == ADAPTER_DELETED:
        return f"Adapter '{facts.get('adapter_name')}' deleted"
    if kind == MODEL_REMOVED:
        file = "its file deleted" if facts.get("file_deleted") else "its file kept"
        return f"Model '{facts.get('model_name')}' removed ({file})"
    if kind == UNLOCKED:
        return "Workspace unlocked"
    if kind == API_REQUEST:
        return (
            f"API request {facts.get('endpoint')} to '{facts.get('model_name')}' "
            f"({facts.get('outcome')})"
        )
    return kind.replace("_", " ").capitalize()
