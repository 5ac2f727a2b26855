"""Conversations and their messages: plain records in, plain records out, committed at once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, object_session

from localai_desktop.core.audit.entries import ANSWER, CONVERSATION_DELETED, MESSAGE_DELETED
from localai_desktop.core.audit.facts import answer_facts
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.chat import versions
from localai_desktop.core.chat.attachments import AttachedFile, attachment_row
from localai_desktop.core.chat.organise import TrashAndOrganise
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.chat.search import DEFAULT_LIMIT, ConversationSearch, SearchHit
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.enums import StrEnum
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.storage.connections import DATABASE_ERRORS
from localai_desktop.core.storage.db import Database, storage_error_from
from localai_desktop.core.storage.tables import (
    ConversationRow,
    DocumentChunkRow,
    DocumentCollectionRow,
    DocumentFileRow,
    MessageAttachmentRow,
    MessageRow,
)

DEFAULT_TITLE = "New chat"
TITLE_LENGTH = 60


class MessageStatus(StrEnum):
    """A message's life, stored as these strings. An answer is stored as "interrupted" the
    moment it starts, so a killed process leaves it marked correctly without any recovery
    step; it becomes "complete", "stopped" or "failed" when generation ends normally."""

    COMPLETE = "complete"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    role: str
    content: str
    status: MessageStatus
    error: str | None
    provenance: Provenance
    created_at: datetime
    updated_at: datetime
    parent_id: int | None = None
    """The message this one follows (0: it is the first; see core.chat.versions)."""
    version: int = 1
    """Which version of this message it is (1-based, oldest first)."""
    version_ids: tuple[int, ...] = ()
    """The ids of every version of this message, oldest first (empty: it is the only one)."""
    attachments: tuple[tuple[int, str], ...] = ()
    """Files attached to this question: (attachment id, file name) (core.chat.attachments)."""

    @property
    def version_count(self) -> int:
        return max(1, len(self.version_ids))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "content": self.content,
            "status": self.status,
            "error": self.error,
            "provenance": self.provenance.to_dict(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "parent_id": self.parent_id,
            "version": self.version,
            "version_count": self.version_count,
        }


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    system_prompt: str
    model_id: int | None
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    messages: tuple[Message, ...] = field(default=())
    """The messages shown: the current version at each step (see core.chat.versions)."""
    versions: Mapping[int, tuple[Message, ...]] = field(default_factory=dict)
    """For each message shown that has other versions: all of them, oldest first."""
    pinned: bool = False
    folder: str = ""
    tags: tuple[str, ...] = ()
    deleted_at: datetime | None = None
    """When it was moved to the trash (None: it is not in the trash)."""
    title_origin: str = "auto"
    """Where the title came from: "auto" (the first question), "model" or "user"."""

    def to_json(self, *, with_messages: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "system_prompt": self.system_prompt,
            "model_id": self.model_id,
            "settings": self.settings,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "pinned": self.pinned,
            "folder": self.folder,
            "tags": list(self.tags),
            "deleted_at": self.deleted_at.isoformat() if self.deleted_at else None,
        }
        if with_messages:
            data["messages"] = [self._message_json(message) for message in self.messages]
        return data

    def _message_json(self, message: Message) -> dict[str, Any]:
        data = message.to_json()
        versions = self.versions.get(message.id)
        if versions:
            data["versions"] = [
                {**version.to_json(), "current": version.id == message.id} for version in versions
            ]
        return data


def _message(row: MessageRow, versions: Sequence[MessageRow] = ()) -> Message:
    ids = tuple(v.id for v in versions) if len(versions) > 1 else ()
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        role=row.role,
        content=row.content,
        status=MessageStatus(row.status),
        error=row.error,
        provenance=_provenance(row.provenance),
        created_at=row.created_at,
        updated_at=row.updated_at,
        parent_id=row.parent_id,
        version=ids.index(row.id) + 1 if ids else 1,
        version_ids=ids,
    )


def _delete_own_collection(session: Session, conversation_id: int) -> None:
    """Delete the hidden collection of the files attached in this conversation (their
    passages, vectors and search rows), in the caller's transaction: nothing of a deleted
    conversation's files stays behind where no list would show it."""
    own = select(DocumentCollectionRow.id).where(
        DocumentCollectionRow.conversation_id == conversation_id
    )
    # Chunks first, in one statement, so their FTS rows go with them (as index_store does).
    session.execute(delete(DocumentChunkRow).where(DocumentChunkRow.collection_id.in_(own)))
    session.execute(delete(DocumentFileRow).where(DocumentFileRow.collection_id.in_(own)))
    session.execute(
        delete(DocumentCollectionRow).where(
            DocumentCollectionRow.conversation_id == conversation_id
        )
    )


def _message_in(session: Session, row: MessageRow) -> Message:
    """A message with its versions, read from the session."""
    return _message(row, versions.siblings(_message_rows(session, row.conversation_id), row.id))


def _message_rows(session: Session, conversation_id: int) -> list[MessageRow]:
    return list(
        session.scalars(
            select(MessageRow)
            .where(MessageRow.conversation_id == conversation_id)
            .order_by(MessageRow.id)
        )
    )


def _provenance(stored: str | None) -> Provenance:
    data = json.loads(stored or "{}")
    return Provenance.from_dict(data if isinstance(data, dict) else {})


def _conversation(row: ConversationRow, *, with_messages: bool) -> Conversation:
    messages: list[Message] = []
    all_versions: dict[int, tuple[Message, ...]] = {}
    if with_messages:
        for step in versions.shown_path(row.messages):
            message = _message(step.shown, step.versions)
            messages.append(message)
            if len(step.versions) > 1:
                all_versions[message.id] = tuple(_message(v, step.versions) for v in step.versions)
    if messages:
        messages = _with_attachments(row, messages)
    tags = json.loads(row.tags or "[]")
    return Conversation(
        id=row.id,
        title=row.title,
        system_prompt=row.system_prompt,
        model_id=row.model_id,
        settings=json.loads(row.settings or "{}"),
        created_at=row.created_at,
        updated_at=row.updated_at,
        messages=tuple(messages),
        versions=all_versions,
        pinned=bool(row.pinned),
        folder=row.folder or "",
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        deleted_at=row.deleted_at,
        title_origin=row.title_origin or "auto",
    )


def _with_attachments(row: ConversationRow, messages: list[Message]) -> list[Message]:
    """The messages with the names of the files attached to them (one query)."""
    session = object_session(row)
    if session is None:
        return messages
    found: dict[int, list[tuple[int, str]]] = {}
    for attachment_id, message_id, name in session.execute(
        select(MessageAttachmentRow.id, MessageAttachmentRow.message_id, MessageAttachmentRow.name)
        .where(MessageAttachmentRow.message_id.in_([m.id for m in messages]))
        .order_by(MessageAttachmentRow.id)
    ):
        found.setdefault(message_id, []).append((attachment_id, name))
    if not found:
        return messages
    return [replace(m, attachments=tuple(found.get(m.id, ()))) for m in messages]


def title_from_text(text: str) -> str:
    """A conversation title from the first user message: its first line, shortened."""
    first_line = " ".join(text.strip().split())
    if len(first_line) <= TITLE_LENGTH:
        return first_line or DEFAULT_TITLE
    return first_line[: TITLE_LENGTH - 1].rstrip() + "…"


class ConversationStore(TrashAndOrganise):
    """Reads and writes conversations; every call is its own short, committed transaction.

    With an audit trail, finished answers and deletions are recorded in it, each in the same
    transaction as the change it records.
    """

    def __init__(self, db: Database, audit: AuditTrail | None = None) -> None:
        self._db = db
        self.audit = audit
        self._search = ConversationSearch(db)

    @property
    def database(self) -> Database:
        """The workspace's database (attachments are kept beside the messages)."""
        return self._db

    def search(
        self, text: str, *, conversation_id: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[SearchHit]:
        """Messages holding every word of `text`, newest first (see core.chat.search)."""
        return self._search.search(text, conversation_id=conversation_id, limit=limit)

    def close(self) -> None:
        """Close the connection kept for searching (the Workspace closes the database after)."""
        self._search.close()

    def list(self) -> list[Conversation]:
        """The conversations not in the trash, pinned ones first, then the most recently used
        first, without their messages (core.chat.organise filters and sorts them further)."""
        with self._db.session() as session:
            rows = session.scalars(
                select(ConversationRow)
                .where(ConversationRow.deleted_at.is_(None))
                .order_by(
                    ConversationRow.pinned.desc(),
                    ConversationRow.updated_at.desc(),
                    ConversationRow.id.desc(),
                )
            )
            return [_conversation(row, with_messages=False) for row in rows]

    def create(
        self,
        title: str = DEFAULT_TITLE,
        *,
        system_prompt: str = "",
        model_id: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Conversation:
        now = utcnow()
        with self._db.session() as session:
            row = ConversationRow(
                title=title.strip() or DEFAULT_TITLE,
                title_origin="auto" if title.strip() in ("", DEFAULT_TITLE) else "user",
                system_prompt=system_prompt,
                model_id=model_id,
                settings=json.dumps(settings or {}),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return _conversation(row, with_messages=False)

    def get(self, conversation_id: int) -> Conversation:
        with self._db.session() as session:
            return _conversation(self._row(session, conversation_id), with_messages=True)

    def rename(self, conversation_id: int, title: str) -> None:
        """Give a conversation the title a person chose (a suggestion never replaces it)."""
        with self._db.session() as session:
            row = self._row(session, conversation_id)
            row.title = title.strip() or DEFAULT_TITLE
            row.title_origin = "user"

    def update(
        self,
        conversation_id: int,
        *,
        system_prompt: str | None = None,
        model_id: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        with self._db.session() as session:
            row = self._row(session, conversation_id)
            if system_prompt is not None:
                row.system_prompt = system_prompt
            if model_id is not None:
                row.model_id = model_id
            if settings is not None:
                row.settings = json.dumps(settings)

    def delete(self, conversation_id: int) -> None:
        """Delete a conversation for good, recorded in the audit trail (see also trash)."""
        with self._db.session() as session:
            row = self._row(session, conversation_id)
            messages = session.scalar(
                select(func.count(MessageRow.id)).where(
                    MessageRow.conversation_id == conversation_id
                )
            )
            _delete_own_collection(session, conversation_id)
            session.delete(row)
            if self.audit is not None:
                self.audit.append(
                    session,
                    CONVERSATION_DELETED,
                    conversation_id=conversation_id,
                    facts={"messages": int(messages or 0)},
                )

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        status: MessageStatus = MessageStatus.COMPLETE,
        provenance: Mapping[str, Any] | None = None,
        version_of: int | None = None,
        attachments: Sequence[AttachedFile] = (),
    ) -> Message:
        """Append a message to the conversation as shown and commit it before returning.

        With `version_of`, the message is a new version of that one instead (an edited
        question, a regenerated answer), shown in its place; the old version is kept.
        `attachments` (files read beforehand) are kept with it in the same transaction, so a
        question is never saved without its files.
        """
        with self._db.session() as session:
            conversation = self._row(session, conversation_id)
            row = _append_message(
                session, conversation, role, content, status, provenance, version_of
            )
            session.flush()
            for file in attachments:
                session.add(attachment_row(row.id, file))
            session.flush()
            return _message_in(session, row)

    def show_version(self, message_id: int) -> Conversation:
        """Show this version of a message (and the versions it follows), so the conversation
        continues from it; returns the conversation as now shown."""
        with self._db.session() as session:
            row = session.get(MessageRow, message_id)
            if row is None:
                raise NotFoundError(f"Message {message_id} does not exist.")
            rows = _message_rows(session, row.conversation_id)
            parents = versions.effective_parents(rows)
            chain = set(versions.ancestors(rows, message_id))
            steps = {parents[m] for m in chain}  # each node of the chain follows its own
            for other in rows:
                if parents[other.id] in steps:
                    other.current = other.id in chain
            session.flush()
            return _conversation(self._row(session, row.conversation_id), with_messages=True)

    def save_question(
        self,
        conversation_id: int | None,
        text: str | None,
        *,
        system_prompt: str,
        settings: dict[str, Any],
        model_id: int | None,
        edit_of: int | None = None,
        attachments: Sequence[AttachedFile] = (),
    ) -> tuple[Conversation, Message | None]:
        """Save what an answer will be written from, in one transaction, before it starts.

        Creates the conversation when `conversation_id` is None, stores its system prompt,
        settings and model, and appends the user's message `text` (None when the last answer is
        written again); with `edit_of`, `text` is a new version of that question instead.
        `attachments` (files read beforehand) are kept with the question in the same
        transaction. Returns the conversation (without messages) and the saved message.
        """
        now = utcnow()
        with self._db.session() as session:
            if conversation_id is None:
                row = ConversationRow(title=DEFAULT_TITLE, created_at=now, updated_at=now)
                session.add(row)
                session.flush()
            else:
                row = self._row(session, conversation_id)
            row.system_prompt = system_prompt
            row.settings = json.dumps(settings)
            if model_id is not None:
                row.model_id = model_id
            message: MessageRow | None = None
            if text is not None:
                message = _append_message(
                    session, row, "user", text, MessageStatus.COMPLETE, None, edit_of
                )
                session.flush()
                for file in attachments:
                    session.add(attachment_row(message.id, file))
            session.flush()
            return (
                _conversation(row, with_messages=False),
                _message_in(session, message) if message is not None else None,
            )

    def save_edit(self, conversation_id: int, message_id: int, text: str) -> Message:
        """Save `text` as a new version of the question `message_id`, shown in its place; the
        old question and everything after it stay as the earlier version."""
        if not text.strip():
            raise LocalAIError("The edited question is empty.", "Type the question to ask.")
        with self._db.session() as session:
            conversation = self._row(session, conversation_id)
            original = session.get(MessageRow, message_id)
            if original is None or original.conversation_id != conversation_id:
                raise NotFoundError(
                    f"Conversation {conversation_id} has no message {message_id}.",
                    "See its messages and their numbers with "
                    f"'localai chats show {conversation_id} --json'.",
                )
            if original.role != "user":
                raise LocalAIError(
                    f"Message {message_id} is an answer, not a question.",
                    "Only your own questions can be edited; to write an answer again, "
                    "regenerate it.",
                )
            row = _append_message(
                session, conversation, "user", text, MessageStatus.COMPLETE, None, message_id
            )
            session.flush()
            return _message_in(session, row)

    def update_message(
        self,
        message_id: int,
        *,
        content: str | None = None,
        status: MessageStatus | None = None,
        error: str | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Message:
        with self._db.session() as session:
            row = _updated_message(session, message_id, content, status, error, provenance)
            return _message_in(session, row)

    def finish_answer(
        self,
        message_id: int,
        *,
        question: Message | None,
        content: str,
        status: MessageStatus,
        error: str | None = None,
        provenance: Provenance,
    ) -> Message:
        """Save an answer's final text, status and provenance; with an audit trail, record the
        answer (hashes of `question` and of `content`, see core.audit.facts) in the same
        transaction."""
        with self._db.session() as session:
            row = _updated_message(session, message_id, content, status, error, provenance)
            if self.audit is not None:
                self.audit.append(
                    session,
                    ANSWER,
                    conversation_id=row.conversation_id,
                    message_id=row.id,
                    facts=answer_facts(
                        question=question.content if question is not None else "",
                        question_message_id=question.id if question is not None else None,
                        answer=content,
                        status=status,
                        provenance=provenance,
                    ),
                )
            return _message_in(session, row)

    def partial_answer_writer(self, message_id: int) -> PartialAnswerWriter:
        """Something that rewrites the text of an answer still being written, cheaply."""
        return PartialAnswerWriter(self._db, message_id)

    def delete_message(self, message_id: int) -> None:
        with self._db.session() as session:
            row = session.get(MessageRow, message_id)
            if row is not None:
                session.delete(row)
                if self.audit is not None:
                    self.audit.append(
                        session,
                        MESSAGE_DELETED,
                        conversation_id=row.conversation_id,
                        message_id=row.id,
                        facts={"role": row.role, "status": row.status},
                    )

    @staticmethod
    def _row(session: Any, conversation_id: int) -> ConversationRow:
        row = session.get(ConversationRow, conversation_id)
        if row is None:
            raise NotFoundError(
                f"Conversation {conversation_id} does not exist.",
                "It may have been deleted; pick one from the conversation list "
                "(or 'localai chats list').",
            )
        return row


def _updated_message(
    session: Session,
    message_id: int,
    content: str | None,
    status: MessageStatus | None,
    error: str | None,
    provenance: Mapping[str, Any] | None,
) -> MessageRow:
    """The message row with the given fields changed (None: left as it is), flushed."""
    row = session.get(MessageRow, message_id)
    if row is None:
        raise NotFoundError(f"Message {message_id} does not exist.")
    if content is not None:
        row.content = content
    if status is not None:
        row.status = status
    if error is not None:
        row.error = error
    if provenance is not None:
        row.provenance = json.dumps(dict(provenance))
    row.updated_at = utcnow()
    session.flush()
    return row


def _append_message(
    session: Session,
    conversation: ConversationRow,
    role: str,
    content: str,
    status: MessageStatus,
    provenance: Mapping[str, Any] | None,
    version_of: int | None = None,
) -> MessageRow:
    """Add a message row to a conversation (titled from its first user message) in a session:
    after the last message shown, or as a new version of `version_of`, shown in its place."""
    now = utcnow()
    rows = _message_rows(session, conversation.id)
    if version_of is None:
        path = versions.shown_path(rows)
        parent = path[-1].shown.id if path else versions.ROOT
    else:
        parents = versions.effective_parents(rows)
        if version_of not in parents:
            raise NotFoundError(
                f"Message {version_of} is not part of conversation {conversation.id}.",
                "Check both numbers with 'localai chats show ID'.",
            )
        parent = parents[version_of]
        for other in rows:
            if parents[other.id] == parent:
                other.current = False
    # An edit of the first question retitles a conversation titled from that question.
    retitle = conversation.title == DEFAULT_TITLE or (
        version_of is not None and parent == versions.ROOT and conversation.title_origin == "auto"
    )
    if role == "user" and retitle:
        conversation.title = title_from_text(content)
    conversation.updated_at = now
    row = MessageRow(
        conversation_id=conversation.id,
        role=role,
        content=content,
        status=status,
        provenance=json.dumps(dict(provenance or {})),
        created_at=now,
        updated_at=now,
        parent_id=parent,
        current=True,
    )
    session.add(row)
    return row


class PartialAnswerWriter:
    """Rewrites the text of one streaming answer with a plain UPDATE on its own connection.

    Called about every second from a helper thread while the model decodes: the less Python
    it runs, the less it holds up the decoding thread. Status, error and provenance are left
    to ConversationStore.update_message when the answer ends.
    """

    def __init__(self, db: Database, message_id: int) -> None:
        self._db = db
        self._message_id = message_id
        self._connection: sqlite3.Connection | None = None

    def write(self, content: str) -> None:
        try:
            if self._connection is None:
                # Killing the app keeps what was written; an fsync here, while the model
                # decodes, would wake the kernel's journal on a core the decoder needs.
                self._connection = self._db.connect_plain(flush_to_disk=False)
            self._connection.execute(
                "UPDATE messages SET content = ?, updated_at = ? WHERE id = ?",
                (content, utcnow().strftime("%Y-%m-%d %H:%M:%S.%f"), self._message_id),
            )
        except DATABASE_ERRORS as error:
            raise storage_error_from(error) from error

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
