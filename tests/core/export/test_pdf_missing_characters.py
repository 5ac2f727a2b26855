"""A PDF export of letters the embedded family lacks (Chinese with DejaVu): a fallback font
found on the computer shows them; without one they become a visible mark and the export says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.export import pdf_fonts, pdf_writer
from localai_desktop.core.export.exporter import ConversationExporter
from localai_desktop.core.export.pdf_writer import MISSING_MARK

CHINESE = "合同第三条"  # "article three of the contract"


@pytest.fixture
def workspace(data_dir: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(data_dir)
    yield workspace
    workspace.close()


def pdf_text(path: Path) -> str:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def make_font(path: Path, characters: str) -> Path:
    """A small TrueType font with a box glyph for each of `characters` (as a CJK font has)."""
    names = [".notdef"] + [f"uni{ord(c):04X}" for c in characters]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in characters})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0))
        pen.lineTo((100, 700))
        pen.lineTo((900, 700))
        pen.lineTo((900, 0))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (1000, 100) for name in names})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": "Test CJK", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=880, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    builder.save(str(path))
    return path


def chinese_conversation(workspace: Workspace) -> int:
    conversation = workspace.conversations.create(f"Contract {CHINESE}")
    workspace.conversations.add_message(conversation.id, "user", f"What does {CHINESE} say?")
    workspace.conversations.add_message(
        conversation.id, "assistant", f"{CHINESE} limits liability."
    )
    return conversation.id


@pytest.mark.skipif(pdf_fonts.find_unicode_fonts() is None, reason="needs DejaVu or similar")
def test_a_fallback_font_on_the_computer_shows_the_letters_the_family_lacks(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    font = make_font(tmp_path / "cjk.ttf", CHINESE)
    useless = make_font(tmp_path / "other.ttf", "ʬ")
    monkeypatch.setattr(pdf_writer, "find_fallback_fonts", lambda: [(useless, 0), (font, 0)])
    conversation_id = chinese_conversation(workspace)
    exporter = ConversationExporter(workspace.conversations, workspace.audit)

    result = exporter.export(conversation_id, tmp_path / "contract.pdf")

    text = pdf_text(result.path)
    assert f"{CHINESE} limits liability." in text
    assert MISSING_MARK not in text and result.notes == ()


@pytest.mark.skipif(pdf_fonts.find_unicode_fonts() is None, reason="needs DejaVu or similar")
def test_without_a_fallback_the_letters_are_marked_and_the_export_says_so(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_writer, "find_fallback_fonts", lambda: [])
    conversation_id = chinese_conversation(workspace)
    exporter = ConversationExporter(workspace.conversations, workspace.audit)

    result = exporter.export(conversation_id, tmp_path / "contract.pdf")

    text = pdf_text(result.path)
    assert MISSING_MARK * len(CHINESE) + " limits liability." in text
    assert CHINESE not in text
    (note,) = result.notes
    assert f"marked {MISSING_MARK}" in note and "Word, HTML and Markdown" in note
    assert "no font on this computer can show" in " ".join(text.split())  # said in the PDF too
    # The other formats keep every character.
    word = exporter.export(conversation_id, tmp_path / "contract.docx")
    assert word.notes == ()


def test_a_pdf_without_such_letters_has_no_note(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_writer, "find_fallback_fonts", lambda: pytest.fail("not needed"))
    conversation = workspace.conversations.create("Lease")
    workspace.conversations.add_message(conversation.id, "user", "Café – “quoted” déjà vu")
    exporter = ConversationExporter(workspace.conversations, workspace.audit)
    result = exporter.export(conversation.id, tmp_path / "lease.pdf")
    assert result.notes == ()
    assert "Café – “quoted” déjà vu" in pdf_text(result.path)
