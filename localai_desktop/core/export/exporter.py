"""``ConversationExporter``: a conversation to a file in the chosen format, on the record."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from localai_desktop.core.audit.entries import (
    CONVERSATION_EXPORTED,
    CONVERSATION_PRINTED,
    sha256_bytes,
)
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.export.document import ExportDocument, build_document

log = logging.getLogger(__name__)

# Format name -> (file suffix, what a file dialog calls it).
FORMATS: dict[str, tuple[str, str]] = {
    "docx": (".docx", "Word document"),
    "pdf": (".pdf", "PDF document"),
    "md": (".md", "Markdown"),
    "html": (".html", "Web page (HTML)"),
}
_SUFFIXES = {
    ".docx": "docx",
    ".pdf": "pdf",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
}


def render(document: ExportDocument, file_format: str) -> bytes:
    """The document's bytes in one format. The writers are imported here, when first used:
    fpdf2 brings numpy and fontTools (tens of MiB), which the app's start should not load."""
    return render_with_notes(document, file_format)[0]


def render_with_notes(document: ExportDocument, file_format: str) -> tuple[bytes, tuple[str, ...]]:
    """The document's bytes and what a person should know about them (a PDF that could not
    show some characters says so)."""
    if file_format == "pdf":
        from localai_desktop.core.export.pdf_writer import render_pdf_with_notes

        return render_pdf_with_notes(document)
    return _render(document, file_format), ()


def _render(document: ExportDocument, file_format: str) -> bytes:
    if file_format == "docx":
        from localai_desktop.core.export.docx_writer import render_docx

        return render_docx(document)
    if file_format == "pdf":
        from localai_desktop.core.export.pdf_writer import render_pdf

        return render_pdf(document)
    if file_format == "md":
        from localai_desktop.core.export.markdown_writer import render_markdown

        return render_markdown(document).encode("utf-8")
    from localai_desktop.core.export.html_writer import render_html

    return render_html(document).encode("utf-8")


def format_for(path: Path | None, wanted: str | None) -> str:
    """The format to write: the one asked for, else the file's suffix; a clear error else."""
    if wanted:
        chosen = wanted.lower().lstrip(".")
        chosen = {"markdown": "md", "word": "docx", "htm": "html"}.get(chosen, chosen)
        if chosen not in FORMATS:
            raise LocalAIError(
                f"A conversation cannot be exported as '{wanted}'.",
                "Choose one of: " + ", ".join(FORMATS) + ".",
            )
        return chosen
    if path is not None and path.suffix.lower() in _SUFFIXES:
        return _SUFFIXES[path.suffix.lower()]
    raise LocalAIError(
        "Which format should the conversation be exported as?",
        "Give the file a name ending in .docx, .pdf, .md or .html, or choose a format.",
    )


def default_file_name(title: str, file_format: str) -> str:
    """A safe file name from the conversation's title: "Contract review.docx"."""
    keep = "".join(c if c.isalnum() or c in " -_.,()" else " " for c in title)
    name = " ".join(keep.split()).strip(" .")[:80] or "Conversation"
    return name + FORMATS[file_format][0]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    format: str
    conversation_id: int
    messages: int
    bytes: int
    sha256: str
    seconds: float
    notes: tuple[str, ...] = ()  # what a person should know ("some characters are marked ...")

    def to_json(self) -> dict[str, Any]:
        return {
            "notes": list(self.notes),
            "file": str(self.path),
            "format": self.format,
            "conversation_id": self.conversation_id,
            "messages": self.messages,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "seconds": round(self.seconds, 3),
        }


class ConversationExporter:
    """Writes conversations as documents; each export is recorded in the audit trail (its
    format, the messages it holds and the file's sha256: never the content)."""

    def __init__(self, store: ConversationStore, audit: AuditTrail | None = None) -> None:
        self._store = store
        self._audit = audit

    def render(
        self,
        conversation_id: int,
        file_format: str,
        *,
        message_ids: Collection[int] | None = None,
    ) -> tuple[ExportDocument, bytes]:
        """The document (with the notes its rendering made) and its bytes in `file_format`,
        without writing or recording it."""
        chosen = format_for(None, file_format)
        document = build_document(
            self._store.get(conversation_id), exported_at=utcnow(), message_ids=message_ids
        )
        data, notes = render_with_notes(document, chosen)
        return replace(document, notes=document.notes + notes), data

    def export(
        self,
        conversation_id: int,
        path: str | Path,
        file_format: str | None = None,
        *,
        message_ids: Collection[int] | None = None,
    ) -> ExportResult:
        """Write the conversation (or the messages in `message_ids`) to `path`.

        The format is `file_format`, else the file's suffix. The file is written whole or not
        at all (write_atomically); the export is then recorded in the audit trail.
        """
        started = time.perf_counter()
        path = Path(path).expanduser().absolute()
        chosen = format_for(path, file_format)
        document, data = self.render(conversation_id, chosen, message_ids=message_ids)
        try:
            write_atomically(path, data, temp_prefix=".export-")
        except OSError as error:
            raise StorageError(
                f"The conversation could not be saved to {path} ({error.strerror or error}).",
                "Choose another folder, or free some disk space.",
            ) from error
        digest = sha256_bytes(data)
        if self._audit is not None:
            self._audit.record(
                CONVERSATION_EXPORTED,
                conversation_id=conversation_id,
                format=chosen,
                messages=len(document.messages),
                message_ids=[m.id for m in document.messages],
                whole=document.whole,
                file_sha256=digest,
            )
        result = ExportResult(
            path=path,
            format=chosen,
            conversation_id=conversation_id,
            messages=len(document.messages),
            bytes=len(data),
            sha256=digest,
            seconds=time.perf_counter() - started,
            notes=document.notes,
        )
        log.info(
            "Exported conversation %s as %s (%s messages, %s bytes, %.2f s)",
            conversation_id,
            chosen,
            result.messages,
            result.bytes,
            result.seconds,
        )
        return result

    def record_printed(self, document: ExportDocument) -> None:
        """Record in the audit trail that `document` went to a printer: the conversation and
        which of its messages, never their content (a printed page leaves the app as a file
        does)."""
        if self._audit is None:
            return
        self._audit.record(
            CONVERSATION_PRINTED,
            conversation_id=document.conversation_id,
            messages=len(document.messages),
            message_ids=[m.id for m in document.messages],
            whole=document.whole,
        )
