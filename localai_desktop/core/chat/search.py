"""Full-text search over every message of every conversation (SQLite FTS5), newest first.

`messages_fts` mirrors the messages' text (triggers, migration 11), so a search always agrees
with what is saved, the answer being written included. What a person types is never handed to
FTS5 as query syntax: each word becomes a quoted term (the last one, from three letters on,
also matches as the start of a word, for search as you type), so quotes, brackets, AND, NEAR
or a lone "*" are words.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from localai_desktop.core.storage.connections import DATABASE_ERRORS
from localai_desktop.core.storage.db import Database, storage_error_from

# Private-use characters mark the matches inside a snippet; they never reach the caller.
_OPEN, _CLOSE = "\ue000", "\ue001"
_WORD = re.compile(r"\w+", re.UNICODE)
DEFAULT_LIMIT = 50
SNIPPET_TOKENS = 24
MAX_TERMS = 16
PREFIX_FROM = 3


@dataclass(frozen=True)
class SearchHit:
    """One message that matches: where it is, and a snippet with the matches marked.

    `matches` are (start, end) offsets into `snippet`, in characters.
    """

    conversation_id: int
    conversation_title: str
    message_id: int
    role: str
    created_at: datetime
    snippet: str
    matches: tuple[tuple[int, int], ...]

    @property
    def matched_words(self) -> tuple[str, ...]:
        """The words that matched, as written in the message, without repeats."""
        words: list[str] = []
        for start, end in self.matches:
            word = self.snippet[start:end]
            if word.casefold() not in {w.casefold() for w in words}:
                words.append(word)
        return tuple(words)

    def to_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "conversation_title": self.conversation_title,
            "message_id": self.message_id,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "snippet": self.snippet,
            "matches": [list(match) for match in self.matches],
        }


def fts_query(text: str, *, prefix_last: bool = True) -> str:
    """An FTS5 query that finds messages holding every word of `text` ("" when it has none).

    Each word is a quoted string, so nothing a person types is read as FTS5 syntax.
    """
    words = _WORD.findall(text)[:MAX_TERMS]
    if not words:
        return ""
    terms = ['"' + word.replace('"', '""') + '"' for word in words]
    # From three letters on (the prefix index's length): a shorter beginning would match a
    # good share of the vocabulary, slowly, and say little.
    if prefix_last and len(words[-1]) >= PREFIX_FROM:
        terms[-1] += "*"
    return " ".join(terms)


def marked_snippet(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The snippet without its markers, and where the marked matches are in it."""
    plain: list[str] = []
    matches: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for part in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if part == _OPEN:
            start = length
        elif part == _CLOSE:
            if start is not None and length > start:
                matches.append((start, length))
            start = None
        else:
            plain.append(part)
            length += len(part)
    return "".join(plain), tuple(matches)


_SEARCH_SQL = f"""
SELECT f.rowid, m.conversation_id, c.title, m.role, m.created_at,
       snippet(messages_fts, 0, '{_OPEN}', '{_CLOSE}', '…', {SNIPPET_TOKENS})
FROM messages_fts AS f
JOIN messages AS m ON m.id = f.rowid
JOIN conversations AS c ON c.id = m.conversation_id
WHERE messages_fts MATCH :query AND c.deleted_at IS NULL {{within}}
ORDER BY f.rowid DESC
LIMIT :limit
"""
# One conversation's messages lie between its first and last ids: bounding the rowid lets FTS5
# skip the matches of every other conversation outside that range.
_WITHIN_SQL = "AND m.conversation_id = :conversation AND f.rowid BETWEEN :low AND :high"


class ConversationSearch:
    """Searches the messages of a workspace's conversations (those not in the trash).

    Keeps one connection open between searches: a new one would read the schema and the
    index's structure again and start with an empty page cache, which over 200,000 messages
    costs more than the search itself. Searches take turns on it (one at a time).
    """

    CACHE_KIB = 32 * 1024

    def __init__(self, db: Database) -> None:
        self._db = db
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def search(
        self, text: str, *, conversation_id: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[SearchHit]:
        """Messages holding every word of `text`, newest first; only in `conversation_id`
        when given. Every version of an edited or regenerated message is searched."""
        exact = fts_query(text, prefix_last=False)
        as_typed = fts_query(text)
        if not exact or limit <= 0:
            return []
        with self._lock:
            try:
                connection = self._connect()
                # Whole words first: FTS5 reads a word's matches lazily, newest first, and stops
                # at `limit`. A beginning ("contr*") makes it gather every match of every word
                # that starts so before the first result (30 ms for a word in every message of
                # 200,000), so it is only searched when whole words did not fill the page (in
                # one conversation, whose page whole words rarely fill: when they found none).
                rows = self._rows(connection, exact, conversation_id, limit)
                wanted = limit if conversation_id is None else 1
                if as_typed != exact and len(rows) < wanted:
                    rows = self._rows(connection, as_typed, conversation_id, limit)
            except DATABASE_ERRORS as error:
                self._close_locked()  # a fresh connection next time
                raise storage_error_from(error) from error
        hits = []
        for message_id, conv_id, title, role, created_at, marked in rows:
            snippet, matches = marked_snippet(marked or "")
            hits.append(
                SearchHit(
                    conversation_id=conv_id,
                    conversation_title=title,
                    message_id=message_id,
                    role=role,
                    created_at=_stored_time(created_at),
                    snippet=snippet,
                    matches=matches,
                )
            )
        return hits

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._db.connect_plain()
            self._connection.execute(f"PRAGMA cache_size = -{self.CACHE_KIB}")
        return self._connection

    def _close_locked(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @staticmethod
    def _rows(
        connection: sqlite3.Connection, query: str, conversation_id: int | None, limit: int
    ) -> list[Any]:
        params: dict[str, Any] = {"query": query, "limit": limit}
        within = ""
        if conversation_id is not None:
            low, high = connection.execute(
                "SELECT min(id), max(id) FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            if low is None:
                return []
            params.update(conversation=conversation_id, low=low, high=high)
            within = _WITHIN_SQL
        return connection.execute(_SEARCH_SQL.format(within=within), params).fetchall()


def _stored_time(value: str) -> datetime:
    # SQLAlchemy stores DATETIME as "YYYY-MM-DD HH:MM:SS[.ffffff]".
    return datetime.fromisoformat(value)
