"""A conversation as plain data to write out: labels, times, footnotes and the appendix."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

from localai_desktop import __version__
from localai_desktop.core.chat.conversations import Conversation, Message, MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.export.markdown import mark_citations

SPEAKERS = {"user": "User", "assistant": "Assistant", "system": "System"}
EXCERPT_CHARS = 200
_STATUS_NOTES = {
    MessageStatus.STOPPED: "stopped before the end",
    MessageStatus.INTERRUPTED: "interrupted (the app was closed while it was written)",
    MessageStatus.FAILED: "failed",
}


def when(moment: datetime) -> str:
    """A stored time (UTC) as people read it in a record: "2026-12-04 16:20 UTC"."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Footnote:
    """A passage an answer was given, numbered through the whole document."""

    number: int
    file_name: str
    page: int | None
    heading: str | None
    excerpt: str
    file_sha256: str | None = None
    collection: str | None = None

    @property
    def where(self) -> str:
        """ "report.pdf, page 7" (or the section, for files without pages)."""
        if self.page is not None:
            return f"{self.file_name}, page {self.page}"
        if self.heading:
            return f"{self.file_name}, section '{self.heading}'"
        return self.file_name

    @property
    def text(self) -> str:
        """The footnote as one line: where, then the start of the passage in quotes."""
        return f'{self.where}: "{self.excerpt}"' if self.excerpt else self.where


@dataclass(frozen=True)
class ExportMessage:
    """One message to write: who, when, its Markdown (citations marked as footnotes)."""

    id: int
    role: str
    speaker: str
    written_at: datetime
    markdown: str
    note: str | None = None  # "stopped before the end", ...
    footnotes: tuple[Footnote, ...] = ()
    appendix: tuple[tuple[str, str], ...] = ()  # the provenance, as (label, value) rows

    @property
    def heading(self) -> str:
        """ "Assistant · 2026-12-04 16:20 UTC" (and what went wrong, if anything did)."""
        text = f"{self.speaker} · {when(self.written_at)}"
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class ExportDocument:
    """What every writer writes: the same content in each format."""

    conversation_id: int
    title: str
    started_at: datetime
    exported_at: datetime
    system_prompt: str
    messages: tuple[ExportMessage, ...]
    whole: bool  # the whole conversation, or the messages chosen from it
    app_version: str = __version__
    notes: tuple[str, ...] = field(default=())

    @property
    def subtitle(self) -> str:
        """The line under the title: the conversation, its date, what was exported, when."""
        count = len(self.messages)
        messages = f"{count} message{'s' if count != 1 else ''}"
        part = messages if self.whole else f"{messages} chosen from it"
        return (
            f"Conversation {self.conversation_id}, started {when(self.started_at)}; {part}. "
            f"Exported {when(self.exported_at)} by LocalAI Desktop {self.app_version}."
        )

    @property
    def footnotes(self) -> tuple[Footnote, ...]:
        return tuple(f for m in self.messages for f in m.footnotes)

    @property
    def answers_with_provenance(self) -> tuple[ExportMessage, ...]:
        return tuple(m for m in self.messages if m.appendix)


def build_document(
    conversation: Conversation,
    *,
    exported_at: datetime,
    message_ids: Collection[int] | None = None,
) -> ExportDocument:
    """The conversation as an ExportDocument: all its messages, or those in `message_ids`.

    Sources are numbered through the document (the second answer's [1] may be footnote 4),
    so the footnotes of several answers never share a number.
    """
    messages = list(conversation.messages)
    if message_ids is not None:
        wanted = set(message_ids)
        unknown = wanted - {m.id for m in messages}
        if unknown:
            raise LocalAIError(
                f"Message {min(unknown)} is not in conversation {conversation.id}.",
                "Choose messages of this conversation (see 'localai chats show "
                f"{conversation.id} --json').",
            )
        messages = [m for m in messages if m.id in wanted]
    if not messages:
        raise LocalAIError(
            f"Conversation {conversation.id} has no messages to export.",
            "Ask something first, or choose another conversation.",
        )
    exported: list[ExportMessage] = []
    next_footnote = 1
    for message in messages:
        item = _export_message(message, next_footnote)
        next_footnote += len(item.footnotes)
        exported.append(item)
    return ExportDocument(
        conversation_id=conversation.id,
        title=conversation.title,
        started_at=conversation.created_at,
        exported_at=exported_at,
        system_prompt=conversation.system_prompt,
        messages=tuple(exported),
        whole=message_ids is None or len(messages) == len(conversation.messages),
    )


def _export_message(message: Message, first_footnote: int) -> ExportMessage:
    provenance = message.provenance
    footnotes = tuple(
        _footnote(first_footnote + i, source) for i, source in enumerate(provenance.sources or ())
    )
    numbers = {
        int(source["n"]): footnote.number
        for source, footnote in zip(provenance.sources or (), footnotes, strict=True)
        if isinstance(source.get("n"), int)
    }
    speaker = SPEAKERS.get(message.role, message.role.capitalize())
    return ExportMessage(
        id=message.id,
        role=message.role,
        speaker=speaker,
        written_at=message.created_at,
        markdown=mark_citations(message.content, numbers) if numbers else message.content,
        note=_STATUS_NOTES.get(message.status),
        footnotes=footnotes,
        appendix=provenance_rows(provenance, message) if message.role == "assistant" else (),
    )


def _footnote(number: int, source: Mapping[str, Any]) -> Footnote:
    text = " ".join(str(source.get("text") or "").split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1].rstrip() + "…"
    page = source.get("page")
    heading = source.get("heading")
    name = source.get("file_name") or PurePath(str(source.get("file") or "?")).name
    return Footnote(
        number=number,
        file_name=str(name),
        page=page if isinstance(page, int) else None,
        heading=str(heading) if heading else None,
        excerpt=text,
        file_sha256=str(source["file_sha256"]) if source.get("file_sha256") else None,
        collection=str(source["collection"]) if source.get("collection") else None,
    )


def provenance_rows(provenance: Provenance, message: Message) -> tuple[tuple[str, str], ...]:
    """How an answer was made, as (label, value) rows a reader can follow; what was not
    recorded is left out rather than guessed."""
    rows: list[tuple[str, str]] = [("Written", when(message.created_at))]
    if provenance.model_name:
        rows.append(("Model", provenance.model_name))
    if provenance.model_file:
        rows.append(("Model file", PurePath(provenance.model_file).name))
    if provenance.model_sha256:
        rows.append(("Model sha256", provenance.model_sha256))
    adapter = provenance.adapter
    if adapter is not None:
        rows.append(("Adapter", f"{adapter.name} (strength {adapter.scale:g})"))
        rows.append(("Adapter sha256", adapter.sha256))
    elif provenance.model_name:
        rows.append(("Adapter", "none"))
    if provenance.settings is not None:
        s = provenance.settings
        rows.append(
            (
                "Settings",
                f"temperature {s.temperature:g}, top-p {s.top_p:g}, top-k {s.top_k}, "
                f"repeat penalty {s.repeat_penalty:g}, longest answer {s.max_tokens} tokens, "
                f"context {s.context_length} tokens",
            )
        )
    if provenance.seed is not None:
        rows.append(("Seed", str(provenance.seed)))
    running = [
        f"context {provenance.n_ctx} tokens" if provenance.n_ctx else "",
        f"{provenance.n_threads} threads" if provenance.n_threads else "",
        provenance.backend or "",
    ]
    if any(running):
        rows.append(("Ran with", ", ".join(p for p in running if p)))
    stats = provenance.stats
    if stats is not None:
        speed = f", {stats.tokens_per_second:.1f} tokens/s" if stats.tokens_per_second else ""
        rows.append(
            (
                "Tokens",
                f"{stats.prompt_tokens} in the prompt, {stats.completion_tokens} written{speed}",
            )
        )
        rows.append(("Ended", str(stats.finish_reason)))
    if provenance.collections:
        rows.append(("Documents", ", ".join(provenance.collections)))
    if provenance.chat_format:
        rows.append(("Chat format", provenance.chat_format))
    versions = [
        f"LocalAI Desktop {provenance.app_version}" if provenance.app_version else "",
        f"llama-cpp-python {provenance.llama_cpp_python_version}"
        if provenance.llama_cpp_python_version
        else "",
    ]
    if any(versions):
        rows.append(("Software", ", ".join(v for v in versions if v)))
    return tuple(rows)
