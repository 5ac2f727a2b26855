"""Files attached to a question, without making a collection.

``read_attachment(path)`` reads a PDF, Word, text, Markdown or HTML file through the document
parsers (core.documents.parsers) into text that keeps its pages; a file that cannot be read
says why in plain words. A short file goes into the prompt whole; a long one is indexed in the
conversation's own collection (``DocumentLibrary.conversation_collection``, never listed among
collections) and its best passages are used, cited to file and page as for collections.
``AttachmentStore`` keeps each attached file's name and text with its question in the
workspace's database (migration 14), so a protected workspace keeps them encrypted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.parsers import (
    SUPPORTED_SUFFIXES,
    UnreadableFileError,
    is_supported,
    open_document,
)
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import MessageAttachmentRow

# A file of up to this many characters (about 1,500 tokens) goes into the prompt whole.
WHOLE_LIMIT_CHARS = 6_000
ATTACHABLE = ("PDF", "Word (.docx)", "text", "Markdown", "HTML")


@dataclass(frozen=True)
class AttachedFile:
    """A file read for attaching: its name, kind, text (pages marked) and where it was."""

    path: Path
    name: str
    kind: str
    text: str
    pages: int

    @property
    def whole(self) -> bool:
        """Short enough to go into the prompt whole (else it is indexed)."""
        return len(self.text) <= WHOLE_LIMIT_CHARS


@dataclass(frozen=True)
class Attachment:
    """A file attached to a question, as saved with it."""

    id: int
    message_id: int
    name: str
    kind: str
    text: str
    pages: int
    whole: bool
    collection_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "characters": len(self.text),
            "pages": self.pages,
            "used": "whole" if self.whole else "best passages",
        }


def read_attachment(path: str | Path) -> AttachedFile:
    """Read a file to attach; a LocalAIError that says what happened and what to do else."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise LocalAIError(
            f"The file {path.name or path} to attach could not be found.",
            "Check the name and folder, or choose the file again.",
        )
    if not is_supported(path):
        raise LocalAIError(
            f"{path.name} cannot be attached: files of type '{path.suffix or 'none'}' "
            "are not read by the app.",
            f"Attach a {', '.join(ATTACHABLE[:-1])} or {ATTACHABLE[-1]} file.",
        )
    try:
        parsed = open_document(path)
        blocks = list(parsed.blocks())
    except UnreadableFileError as error:
        raise LocalAIError(
            f"{path.name} could not be attached: {error.what}",
            error.todo or "Choose another file, or send the question without it.",
        ) from error
    except OSError as error:
        raise LocalAIError(
            f"{path.name} could not be read ({error.strerror or error}).",
            "Check that the file is not open in another program and that you may read it.",
        ) from error
    parts: list[str] = []
    page: int | None = None
    pages: set[int] = set()
    for block in blocks:
        if block.page is not None and block.page != page:
            page = block.page
            pages.add(page)
            parts.append(f"[page {page}]")
        parts.append(block.text.strip())
    text = "\n\n".join(p for p in parts if p)
    if not any(block.text.strip() for block in blocks):
        raise LocalAIError(
            f"{path.name} has no text the app can read (it may be a scan or a picture).",
            "Add it to a document collection instead, where its pages are recognised, or "
            "attach a copy with a text layer.",
        )
    kind = path.suffix.lower().lstrip(".")
    return AttachedFile(path, path.name, kind, text, len(pages))


def attached_sizes(paths: Sequence[Path]) -> tuple[int, bool]:
    """About how much of files about to be attached goes into the prompt: (characters read
    whole, whether a long one will be searched like documents). From the files' sizes only
    (cheap enough for the GUI thread): plain text counts its bytes; PDF and Word files, whose
    text is a fraction of their size, count as long from 64 KB and as half their size below."""
    whole, long = 0, False
    for path in paths:
        try:
            size = path.stat().st_size
        except OSError:
            continue  # gone: reading it will say so when it is sent
        if path.suffix.lower() in (".pdf", ".docx"):
            size = WHOLE_LIMIT_CHARS + 1 if size >= 65_536 else size // 2
        if size > WHOLE_LIMIT_CHARS:
            long = True
        else:
            whole += size
    return whole, long


def supported_suffixes() -> frozenset[str]:
    return frozenset(SUPPORTED_SUFFIXES)


def prompt_with_files(question: str, files: list[Attachment]) -> str:
    """The question with the short files attached to it, whole, above it."""
    whole = [f for f in files if f.whole]
    if not whole:
        return question
    parts = [f"Attached file “{f.name}”:\n<<<\n{f.text}\n>>>" for f in whole]
    return "\n\n".join([*parts, question])


class AttachmentStore:
    """The files attached to each question, in the workspace's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self, message_id: int, file: AttachedFile, *, collection_id: int | None = None
    ) -> Attachment:
        with self._db.session() as session:
            row = attachment_row(message_id, file, collection_id=collection_id)
            session.add(row)
            session.flush()
            return _attachment(row)

    def set_collection(self, attachment_id: int, collection_id: int) -> None:
        """The long file was indexed in this collection (its passages are searched from now)."""
        with self._db.session() as session:
            row = session.get(MessageAttachmentRow, attachment_id)
            if row is not None:
                row.collection_id = collection_id

    def for_message(self, message_id: int) -> list[Attachment]:
        return self.for_messages([message_id]).get(message_id, [])

    def for_messages(self, message_ids: list[int]) -> dict[int, list[Attachment]]:
        found: dict[int, list[Attachment]] = {}
        if not message_ids:
            return found
        with self._db.session() as session:
            rows = session.scalars(
                select(MessageAttachmentRow)
                .where(MessageAttachmentRow.message_id.in_(message_ids))
                .order_by(MessageAttachmentRow.id)
            )
            for row in rows:
                found.setdefault(row.message_id, []).append(_attachment(row))
        return found

    def sizes(self, message_ids: list[int]) -> list[tuple[int, int, bool]]:
        """(message id, characters, read whole) of each file attached to these questions,
        without reading their text (for the memory estimate)."""
        if not message_ids:
            return []
        with self._db.session() as session:
            rows = session.execute(
                select(
                    MessageAttachmentRow.message_id,
                    func.length(MessageAttachmentRow.text),
                    MessageAttachmentRow.whole,
                ).where(MessageAttachmentRow.message_id.in_(message_ids))
            )
            return [(int(m), int(n or 0), bool(w)) for m, n, w in rows]

    def get(self, attachment_id: int) -> Attachment:
        with self._db.session() as session:
            row = session.get(MessageAttachmentRow, attachment_id)
            if row is None:
                raise LocalAIError(f"Attached file {attachment_id} does not exist.")
            return _attachment(row)


def attachment_row(
    message_id: int, file: AttachedFile, *, collection_id: int | None = None
) -> MessageAttachmentRow:
    """The database row that keeps `file` with the question `message_id`."""
    return MessageAttachmentRow(
        message_id=message_id,
        name=file.name,
        kind=file.kind,
        text=file.text,
        pages=file.pages,
        whole=file.whole,
        collection_id=collection_id,
        created_at=utcnow(),
    )


def _attachment(row: MessageAttachmentRow) -> Attachment:
    return Attachment(
        id=row.id,
        message_id=row.message_id,
        name=row.name,
        kind=row.kind,
        text=row.text,
        pages=row.pages,
        whole=bool(row.whole),
        collection_id=row.collection_id,
    )
