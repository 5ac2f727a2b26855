"""Exported conversations, opened the way a reader would: Word by python-docx, PDF by PDFium."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest
from docx import Document

from localai_desktop.core.audit.entries import CONVERSATION_EXPORTED, sha256_bytes
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.export.exporter import ConversationExporter, format_for
from tests.support.export_support import (
    ADAPTER_SHA256,
    MODEL_SHA256,
    store_lease_conversation,
)


@pytest.fixture
def workspace(data_dir: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(data_dir)
    yield workspace
    workspace.close()


@pytest.fixture
def exporter(workspace: Workspace) -> ConversationExporter:
    return ConversationExporter(workspace.conversations, workspace.audit)


def pdf_text(path: Path) -> str:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def docx_text(path: Path) -> str:
    word = Document(str(path))
    lines = [p.text for p in word.paragraphs]
    for table in word.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def test_word_export_has_title_speakers_table_footnote_and_model_hash(
    workspace: Workspace, exporter: ConversationExporter, tmp_path: Path
) -> None:
    conversation = store_lease_conversation(workspace.conversations)
    result = exporter.export(conversation.id, tmp_path / "lease.docx")

    word = Document(str(result.path))
    assert word.core_properties.title == "Lease review for Mrs Example"
    headings = [p.text for p in word.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0] == "Lease review for Mrs Example"
    assert any(h.startswith("User · ") for h in headings)
    assert any(h.startswith("Assistant · ") for h in headings)
    clause_table = word.tables[0]
    assert clause_table.cell(0, 0).text == "Clause"
    assert clause_table.cell(1, 1).text == "Uncapped liability"
    assert clause_table.cell(0, 0).paragraphs[0].runs[0].bold  # the header row
    # The citation [1] is a superscript footnote number; the note names file and page.
    cited = next(p for p in word.paragraphs if p.text.startswith("The lease has two clauses"))
    assert [r.text for r in cited.runs if r.font.superscript] == ["1"]
    assert any("lease-2024.pdf, page 12" in p.text for p in word.paragraphs)
    text = docx_text(result.path)
    assert MODEL_SHA256 in text and ADAPTER_SHA256 in text
    assert "temperature 0.2" in text and "1234" in text  # settings and seed
    assert "notice_period = 6" in text  # the code block
    assert "The indemnity has no cap" in text  # the list item, its bold kept as a run


def test_pdf_export_has_title_speakers_table_footnote_and_model_hash(
    workspace: Workspace, exporter: ConversationExporter, tmp_path: Path
) -> None:
    conversation = store_lease_conversation(workspace.conversations)
    result = exporter.export(conversation.id, tmp_path / "lease.pdf")

    text = pdf_text(result.path)
    assert "Lease review for Mrs Example" in text
    assert "User · " in text and "Assistant · " in text
    assert "Uncapped liability" in text  # a table cell
    assert "lease-2024.pdf, page 12" in text
    assert MODEL_SHA256 in text.replace("\r", "").replace("\n", "")
    assert "Appendix: how each answer was made" in text
    assert "Six months’ notice — strict" in text  # written, not "?"


def test_markdown_and_html_exports_keep_the_structure(
    workspace: Workspace, exporter: ConversationExporter, tmp_path: Path
) -> None:
    conversation = store_lease_conversation(workspace.conversations)
    markdown = exporter.export(conversation.id, tmp_path / "lease.md").path.read_text("utf-8")
    assert markdown.startswith("# Lease review for Mrs Example\n")
    assert "| 4.2 Indemnity | Uncapped liability |" in markdown
    assert "two clauses to look at[^1]." in markdown
    assert "[^1]: lease-2024.pdf, page 12:" in markdown
    assert MODEL_SHA256 in markdown

    html = exporter.export(conversation.id, tmp_path / "lease.html").path.read_text("utf-8")
    assert "<td>Uncapped liability</td>" in html
    assert '<sup><a href="#fn-1">1</a></sup>' in html
    assert "lease-2024.pdf, page 12" in html and MODEL_SHA256 in html
    assert "<script" not in html and "<img" not in html


def test_hostile_markdown_is_text_not_markup(
    workspace: Workspace, exporter: ConversationExporter, tmp_path: Path
) -> None:
    conversation = workspace.conversations.create("Hostile")
    workspace.conversations.add_message(
        conversation.id, "assistant", "<script>alert(1)</script> ![x](/dev/zero) done"
    )
    html = exporter.export(conversation.id, tmp_path / "h.html").path.read_text("utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html
    assert "done" in pdf_text(exporter.export(conversation.id, tmp_path / "h.pdf").path)


def test_selected_messages_only_and_footnotes_numbered_through_the_document(
    workspace: Workspace, exporter: ConversationExporter, tmp_path: Path
) -> None:
    conversation = store_lease_conversation(workspace.conversations)
    store = workspace.conversations
    store.add_message(conversation.id, "user", "And the rent review?")
    second = store.add_message(
        conversation.id,
        "assistant",
        "Open market review [1].",
        provenance={
            "sources": [
                {
                    "n": 1,
                    "file_name": "rent.docx",
                    "page": None,
                    "heading": "Rent",
                    "text": "Open market.",
                }
            ]
        },
    )
    markdown = exporter.export(conversation.id, tmp_path / "all.md").path.read_text("utf-8")
    assert "Open market review[^2]." in markdown  # the second answer's [1] is footnote 2
    assert "[^2]: rent.docx, section 'Rent'" in markdown

    only = exporter.export(conversation.id, tmp_path / "one.md", message_ids=[second.id])
    text = only.path.read_text("utf-8")
    assert only.messages == 1 and "1 message chosen from it" in text
    assert "Which clauses" not in text and "Open market review[^1]." in text


def test_every_export_is_recorded_in_the_audit_trail_with_the_file_hash(
    workspace: Workspace, exporter: ConversationExporter, tmp_path: Path
) -> None:
    conversation = store_lease_conversation(workspace.conversations)
    result = exporter.export(conversation.id, tmp_path / "lease.pdf")
    entry = workspace.audit.entries()[-1]
    assert entry.kind == CONVERSATION_EXPORTED
    assert entry.conversation_id == conversation.id
    assert entry.facts["format"] == "pdf" and entry.facts["messages"] == 2
    assert entry.facts["file_sha256"] == sha256_bytes(result.path.read_bytes()) == result.sha256
    assert entry.describe() == f"Conversation {conversation.id} exported as PDF (2 messages)"
    assert "Uncapped" not in json.dumps(entry.facts)  # hashes, never content
    assert workspace.audit.verify().ok


def test_bad_requests_say_what_to_do(
    workspace: Workspace, exporter: ConversationExporter, tmp_path: Path
) -> None:
    conversation = store_lease_conversation(workspace.conversations)
    with pytest.raises(LocalAIError, match="cannot be exported as 'odt'"):
        exporter.export(conversation.id, tmp_path / "x.odt", "odt")
    with pytest.raises(LocalAIError, match="Which format"):
        format_for(tmp_path / "x", None)
    with pytest.raises(LocalAIError, match="no messages to export"):
        exporter.export(workspace.conversations.create("Empty").id, tmp_path / "e.md")
    with pytest.raises(LocalAIError, match="Message 999 is not in conversation"):
        exporter.export(conversation.id, tmp_path / "m.md", message_ids=[999])
    assert not list(tmp_path.glob("*.md"))
    entries = [e for e in workspace.audit.entries() if e.kind == CONVERSATION_EXPORTED]
    assert entries == []


def test_a_long_conversation_exports_quickly(
    workspace: Workspace, exporter: ConversationExporter, tmp_path: Path
) -> None:
    store = workspace.conversations
    conversation = store_lease_conversation(store)
    for i in range(100):
        store.add_message(conversation.id, "user", f"Question {i}: what about clause {i}?")
        store.add_message(conversation.id, "assistant", f"Clause {i} is *fine*.\n\n- a\n- b")
    for name in ("long.docx", "long.pdf"):
        result = exporter.export(conversation.id, tmp_path / name)
        assert result.messages == 202
    word = Document(io.BytesIO((tmp_path / "long.docx").read_bytes()))
    assert any(p.text == "Question 99: what about clause 99?" for p in word.paragraphs)
    assert "Question 99: what about clause 99?" in pdf_text(tmp_path / "long.pdf")


HOSTILE_ANSWERS = {
    "a word longer than a line": "x" * 3000,
    "lists nested twelve deep": "\n".join("  " * i + f"- level {i}" for i in range(12)),
    "a table of fifteen columns": "|"
    + "|".join(f"column {i} header" for i in range(15))
    + "|\n|"
    + "---|" * 15
    + "\n|"
    + "|".join("cell " * 8 for _ in range(15))
    + "|",
    "a ragged table": "| a | b |\n|---|---|\n| 1 |\n| 1 | 2 | 3 |",
    "scripts the font may lack": "中文 日本語 😀 العربية עברית ∑∫√",
    "an empty answer": "",
    "raw HTML": "<table><tr><td>x</td></tr></table> <b>b</b> &amp;",
    "a very wide code line": "```\ny = " + "a+" * 500 + "\n```",
}


@pytest.mark.parametrize("case", list(HOSTILE_ANSWERS))
def test_any_answer_exports_in_every_format(
    case: str, workspace: Workspace, exporter: ConversationExporter, tmp_path: Path
) -> None:
    conversation = workspace.conversations.create(case)
    workspace.conversations.add_message(conversation.id, "user", "Question")
    workspace.conversations.add_message(conversation.id, "assistant", HOSTILE_ANSWERS[case])
    for suffix in ("pdf", "docx", "html", "md"):
        result = exporter.export(conversation.id, tmp_path / f"answer.{suffix}")
        assert result.bytes > 0
    assert "Question" in pdf_text(tmp_path / "answer.pdf")
