"""The trash, pins, folders, tags and suggested titles of conversations (ConversationStore's)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import ConversationRow

if TYPE_CHECKING:
    from localai_desktop.core.chat.conversations import Conversation

# A conversation in the trash is deleted for good this long after it was put there.
TRASH_DAYS = 30
FOLDER_LENGTH = 80
TAG_LENGTH = 40


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags as kept: trimmed, one space between words, without repeats (case-insensitive)."""
    kept: list[str] = []
    for tag in tags:
        tidy = " ".join(str(tag).split())[:TAG_LENGTH]
        if tidy and tidy.casefold() not in {k.casefold() for k in kept}:
            kept.append(tidy)
    return tuple(kept)


class TrashAndOrganise:
    """What ConversationStore does besides reading and writing messages.

    Nothing here deletes a conversation for good except `empty_trash`, which records each
    deletion in the audit trail through `delete`.
    """

    _db: Database

    # Provided by ConversationStore.
    def _row(self, session: Any, conversation_id: int) -> ConversationRow:
        raise NotImplementedError

    def delete(self, conversation_id: int) -> None:
        raise NotImplementedError

    def get(self, conversation_id: int) -> Conversation:
        raise NotImplementedError

    # -- the trash --------------------------------------------------------------------------

    def trash(self, conversation_id: int) -> None:
        """Move a conversation to the trash: out of the list and of search, kept TRASH_DAYS."""
        with self._db.session() as session:
            row = self._row(session, conversation_id)
            if row.deleted_at is None:
                row.deleted_at = utcnow()

    def restore(self, conversation_id: int) -> None:
        """Take a conversation out of the trash, as it was."""
        with self._db.session() as session:
            self._row(session, conversation_id).deleted_at = None

    def trashed(self) -> list[Conversation]:
        """The conversations in the trash, the most recently deleted first."""
        from localai_desktop.core.chat.conversations import _conversation

        with self._db.session() as session:
            rows = session.scalars(
                select(ConversationRow)
                .where(ConversationRow.deleted_at.is_not(None))
                .order_by(ConversationRow.deleted_at.desc(), ConversationRow.id.desc())
            )
            return [_conversation(row, with_messages=False) for row in rows]

    def empty_trash(
        self, *, older_than: timedelta | None = None, now: datetime | None = None
    ) -> int:
        """Delete for good the conversations in the trash (only those put there longer ago
        than `older_than`, when given); each is recorded in the audit trail. Returns how many."""
        cutoff = (now or utcnow()) - older_than if older_than is not None else None
        with self._db.session() as session:
            query = select(ConversationRow.id).where(ConversationRow.deleted_at.is_not(None))
            if cutoff is not None:
                query = query.where(ConversationRow.deleted_at <= cutoff)
            ids = list(session.scalars(query))
        for conversation_id in ids:
            self.delete(conversation_id)  # one transaction each, with its audit entry
        return len(ids)

    def empty_expired_trash(self, now: datetime | None = None) -> int:
        """Delete for good what has been in the trash longer than TRASH_DAYS."""
        return self.empty_trash(older_than=timedelta(days=TRASH_DAYS), now=now)

    # -- pins, folders, tags, titles ----------------------------------------------------------

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        """Keep a conversation at the top of the list (or not)."""
        with self._db.session() as session:
            self._row(session, conversation_id).pinned = pinned

    def set_folder(self, conversation_id: int, folder: str) -> None:
        """Put a conversation in a folder ("": in none)."""
        with self._db.session() as session:
            self._row(session, conversation_id).folder = " ".join(folder.split())[:FOLDER_LENGTH]

    def set_tags(self, conversation_id: int, tags: Iterable[str]) -> tuple[str, ...]:
        """Replace a conversation's tags; returns them as kept (see clean_tags)."""
        kept = clean_tags(tags)
        with self._db.session() as session:
            self._row(session, conversation_id).tags = json.dumps(list(kept))
        return kept

    def suggest_title(self, conversation_id: int, title: str) -> bool:
        """Use a title suggested by the model, unless a person gave the conversation one.
        Returns whether it was used."""
        tidy = " ".join(title.split()).strip(" \"'“”.")[:60]
        if not tidy:
            return False
        with self._db.session() as session:
            row = self._row(session, conversation_id)
            if row.title_origin == "user":
                return False
            row.title = tidy
            row.title_origin = "model"
            return True

    def folders(self) -> list[str]:
        """Every folder in use (outside the trash), sorted."""
        with self._db.session() as session:
            found = session.scalars(
                select(ConversationRow.folder)
                .where(ConversationRow.deleted_at.is_(None), ConversationRow.folder != "")
                .distinct()
            )
            return sorted(found, key=str.casefold)

    def tags(self) -> list[str]:
        """Every tag in use (outside the trash), sorted."""
        with self._db.session() as session:
            found = session.scalars(
                select(ConversationRow.tags).where(ConversationRow.deleted_at.is_(None))
            )
            every: set[str] = set()
            for stored in found:
                data = json.loads(stored or "[]")
                every.update(str(t) for t in data if isinstance(data, list))
            return sorted(every, key=str.casefold)


# -- arranging the list -----------------------------------------------------------------------

ORDER_RECENT, ORDER_OLDEST, ORDER_TITLE = "recent", "oldest", "title"
ORDERS = {ORDER_RECENT: "Recent first", ORDER_OLDEST: "Oldest first", ORDER_TITLE: "Title A–Z"}


@dataclass(frozen=True)
class ListFilter:
    """Which conversations the list shows: all, pinned, one folder's or one tag's."""

    pinned_only: bool = False
    folder: str | None = None
    tag: str | None = None

    def keeps(self, conversation: Conversation) -> bool:
        if self.pinned_only and not conversation.pinned:
            return False
        if self.folder is not None and conversation.folder != self.folder:
            return False
        folded = {t.casefold() for t in conversation.tags}
        return self.tag is None or self.tag.casefold() in folded


def arrange(
    conversations: Iterable[Conversation],
    list_filter: ListFilter | None = None,
    order: str = ORDER_RECENT,
) -> list[Conversation]:
    """The conversations the filter keeps (all without one), pinned first, then in `order`."""
    kept = [c for c in conversations if list_filter is None or list_filter.keeps(c)]
    if order == ORDER_TITLE:
        kept.sort(key=lambda c: (c.title.casefold(), c.id))
    elif order == ORDER_OLDEST:
        kept.sort(key=lambda c: (c.updated_at, c.id))
    else:
        kept.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
    kept.sort(key=lambda c: not c.pinned)  # stable: pinned first, each group in order
    return kept
