"""Checking the audit trail: the chain of hashes, and the messages it vouches for.

The first entry that does not check out is named, with the reason in plain words: an entry
changed, removed or out of place breaks the chain; an answered message whose question or
answer no longer has the recorded sha256 was changed behind the app's back; an answered
message that is gone must have a recorded deletion (of itself or of its conversation) after
it. A trail cut short at its end cannot be told from a shorter one: nothing is there to break.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localai_desktop.core.audit.entries import (
    ANSWER,
    CONVERSATION_DELETED,
    GENESIS_HASH,
    MESSAGE_DELETED,
    AuditEntry,
    entry_hash,
    sha256_text,
)

# message id -> (conversation id, text), for the messages the trail vouches for
StoredMessages = Mapping[int, tuple[int, str]]


@dataclass(frozen=True)
class VerifyReport:
    """The verdict on the whole trail: how many entries, and the first one that is wrong."""

    entries: int
    first_bad_entry: int | None = None
    problem: str | None = None  # why it does not match, in plain words
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.first_bad_entry is None

    def summary(self) -> str:
        """'All 214 entries check out.' or 'Entry 37 does not match: the answer of ...'."""
        if not self.ok:
            return f"Entry {self.first_bad_entry} does not match: {self.problem}."
        if self.entries == 0:
            return "The audit trail is empty: nothing has been recorded yet."
        if self.entries == 1:
            return "The 1 entry checks out."
        return f"All {self.entries} entries check out."

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.ok,
            "entries": self.entries,
            "first_bad_entry": self.first_bad_entry,
            "problem": self.problem,
            "summary": self.summary(),
        }


def message_ids_vouched_for(entries: Sequence[AuditEntry]) -> set[int]:
    """Every message whose text an answer's entry holds the sha256 of."""
    ids: set[int] = set()
    for entry in entries:
        if entry.kind != ANSWER:
            continue
        if entry.message_id is not None:
            ids.add(entry.message_id)
        question = entry.facts.get("question_message_id")
        if isinstance(question, int):
            ids.add(question)
    return ids


def find_first_problem(
    entries: Sequence[AuditEntry], messages: StoredMessages
) -> tuple[int | None, str | None]:
    """The first entry (by number) that does not check out and why; (None, None) if none."""
    # message or conversation id -> the last entry recording its deletion
    deleted_messages: dict[int, int] = {}
    deleted_conversations: dict[int, int] = {}
    for entry in entries:
        if entry.kind == MESSAGE_DELETED and entry.message_id is not None:
            deleted_messages[entry.message_id] = entry.id
        elif entry.kind == CONVERSATION_DELETED and entry.conversation_id is not None:
            deleted_conversations[entry.conversation_id] = entry.id

    def deleted_after(entry: AuditEntry, message_id: int) -> bool:
        later = [
            deleted_messages.get(message_id),
            deleted_conversations.get(entry.conversation_id or -1),
        ]
        return any(number is not None and number > entry.id for number in later)

    previous_hash = GENESIS_HASH
    expected_id = 1
    for entry in entries:
        if entry.id != expected_id:
            return expected_id, (
                f"it is missing from the trail (entry {expected_id - 1} is followed by entry "
                f"{entry.id})"
                if expected_id > 1
                else f"it is missing from the trail (the trail starts at entry {entry.id})"
            )
        if entry.previous_hash != previous_hash:
            return entry.id, (
                "it does not follow the entry before it (an entry was removed, replaced or "
                "put in its place)"
            )
        recomputed = entry_hash(
            entry.previous_hash,
            entry_id=entry.id,
            recorded_at=entry.recorded_at,
            kind=entry.kind,
            conversation_id=entry.conversation_id,
            message_id=entry.message_id,
            facts=entry.facts,
        )
        if recomputed != entry.hash:
            return entry.id, "the entry itself was changed after it was written"
        if entry.kind == ANSWER:
            problem = _answer_problem(entry, messages, deleted_after)
            if problem is not None:
                return entry.id, problem
        previous_hash = entry.hash
        expected_id += 1
    return None, None


def _answer_problem(
    entry: AuditEntry,
    messages: StoredMessages,
    deleted_after: Callable[[AuditEntry, int], bool],
) -> str | None:
    answer_id = entry.message_id
    question_id = entry.facts.get("question_message_id")
    checks = [(answer_id, "answer_sha256", "the answer of message")]
    if isinstance(question_id, int):
        checks.append((question_id, "question_sha256", "the question answered by message"))
    for message_id, key, words in checks:
        if message_id is None or deleted_after(entry, message_id):
            # Deleted on the record: what has its number now (SQLite gives the numbers of
            # deleted rows out again) is another message, vouched for by a later entry.
            continue
        stored = messages.get(message_id)
        if stored is None:
            return f"message {message_id} is gone, but its deletion was not recorded"
        conversation_id, text = stored
        if conversation_id != entry.conversation_id:
            return f"message {message_id} was moved to another conversation"
        if sha256_text(text) != entry.facts.get(key):
            return f"{words} {answer_id} was changed after it was written"
    return None


def entry_from_row(row: Sequence[Any]) -> AuditEntry:
    """An entry from a plain row (id, recorded_at, kind, conversation_id, message_id, facts,
    previous_hash, hash); facts that are not JSON any more stay as their text, and fail."""
    try:
        facts = json.loads(row[5] or "{}")
    except ValueError:
        facts = {"unreadable": row[5]}
    if not isinstance(facts, dict):
        facts = {"unreadable": row[5]}
    return AuditEntry(
        id=int(row[0]),
        recorded_at=str(row[1]),
        kind=str(row[2]),
        conversation_id=row[3],
        message_id=row[4],
        facts=facts,
        previous_hash=str(row[6]),
        hash=str(row[7]),
    )
