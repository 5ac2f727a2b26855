"""The conversation as a Word document (python-docx): real headings, lists, tables and code.

The Markdown is read once by markdown-it and its tokens are turned into Word paragraphs, runs
and tables; footnote numbers are superscript runs, and each answer's sources follow it as its
numbered notes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from docx import Document as new_document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt, RGBColor
from markdown_it.token import Token

from localai_desktop.core.export.document import ExportDocument, ExportMessage
from localai_desktop.core.export.markdown import markdown_parser, split_marks

MONOSPACE = "Consolas"
_GREY = RGBColor(0x55, 0x55, 0x55)


class _Word:
    """The Word document being written, with its styles looked up once.

    python-docx finds a style by name with a scan of every style (milliseconds each), which
    made a 400-message conversation take 11 s; paragraphs are given the style's id instead.
    """

    def __init__(self) -> None:
        self.document: Any = new_document()
        self._ids: dict[str, str] = {}

    def add_paragraph(self, text: str = "", style: str | None = None) -> Any:
        paragraph = self.document.add_paragraph(text)
        if style is not None:
            paragraph._p.style = self.style_id(style)
        return paragraph

    def add_heading(self, text: str = "", level: int = 1) -> Any:
        return self.add_paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def add_table(self, rows: int, cols: int) -> Any:
        table = self.document.add_table(rows=rows, cols=cols)
        table._tbl.tblStyle_val = self.style_id("Table Grid")
        return table

    def style_id(self, name: str) -> str:
        if name not in self._ids:
            self._ids[name] = self.document.styles[name].style_id
        return self._ids[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.document, name)


def render_docx(document: ExportDocument) -> bytes:
    word: Any = _Word()
    word.core_properties.title = document.title
    word.core_properties.author = "LocalAI Desktop"
    word.add_heading(document.title, level=0)
    subtitle = word.add_paragraph()
    _grey(subtitle.add_run(document.subtitle), size=9)
    if document.system_prompt:
        word.add_paragraph().add_run("System prompt:").bold = True
        for paragraph in document.system_prompt.split("\n\n"):
            word.add_paragraph(paragraph, style="Quote")
    for message in document.messages:
        word.add_heading(message.heading, level=2)
        _MessageWriter(word).write(markdown_parser().parse(message.markdown))
        _write_footnotes(word, message)
    answers = document.answers_with_provenance
    if answers:
        word.add_page_break()
        word.add_heading("Appendix: how each answer was made", level=1)
        for message in answers:
            word.add_heading(f"{message.speaker} (message {message.id})", level=3)
            table = word.add_table(rows=0, cols=2)
            for label, value in message.appendix:
                cells = table.add_row().cells
                cells[0].paragraphs[0].add_run(label).bold = True
                cells[1].paragraphs[0].add_run(value).font.size = Pt(9)
            word.add_paragraph()
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def _write_footnotes(word: Any, message: ExportMessage) -> None:
    if not message.footnotes:
        return
    _grey(word.add_paragraph().add_run("Sources"), size=9).bold = True
    for footnote in message.footnotes:
        paragraph = word.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(2)
        number = paragraph.add_run(str(footnote.number))
        number.font.superscript = True
        _grey(number, size=9)
        _grey(paragraph.add_run(f" {footnote.text}"), size=9)


def _grey(run: Any, *, size: float) -> Any:
    run.font.size = Pt(size)
    run.font.color.rgb = _GREY
    return run


class _MessageWriter:
    """Walks one message's markdown-it tokens and adds them to the Word document."""

    def __init__(self, word: Any) -> None:
        self._word = word
        self._lists: list[list[int]] = []  # per open list: [next number], or [] for bullets
        self._quote = 0

    def write(self, tokens: Sequence[Token]) -> None:
        index = 0
        while index < len(tokens):
            index = self._block(tokens, index)

    def _block(self, tokens: Sequence[Token], index: int) -> int:
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            level = min(int(token.tag[1]) + 2, 9)  # below the speaker's heading
            heading = self._word.add_heading("", level=level)
            self._inline(heading, tokens[index + 1])
            return index + 3
        if kind == "paragraph_open":
            paragraph = self._paragraph()
            self._inline(paragraph, tokens[index + 1])
            return index + 3
        if kind == "bullet_list_open":
            self._lists.append([])
        elif kind == "ordered_list_open":
            self._lists.append([int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self._lists.pop()
        elif kind == "blockquote_open":
            self._quote += 1
        elif kind == "blockquote_close":
            self._quote -= 1
        elif kind in ("fence", "code_block"):
            self._code(token.content)
        elif kind == "hr":
            self._word.add_paragraph("―" * 20).alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif kind == "table_open":
            return self._table(tokens, index)
        return index + 1

    def _paragraph(self) -> Any:
        if self._lists:
            depth = len(self._lists)
            numbers = self._lists[-1]
            if numbers:
                paragraph = self._word.add_paragraph(style="List Paragraph")
                paragraph.add_run(f"{numbers[0]}. ")
                numbers[0] += 1
            else:
                style = "List Bullet" if depth == 1 else f"List Bullet {min(depth, 3)}"
                paragraph = self._word.add_paragraph(style=style)
            paragraph.paragraph_format.left_indent = Pt(18 * depth)
            return paragraph
        if self._quote:
            return self._word.add_paragraph(style="Quote")
        return self._word.add_paragraph()

    def _code(self, text: str) -> None:
        paragraph = self._word.add_paragraph()
        paragraph.paragraph_format.left_indent = Pt(12)
        run = paragraph.add_run(text.rstrip("\n"))
        run.font.name = MONOSPACE
        run.font.size = Pt(9)

    def _table(self, tokens: Sequence[Token], index: int) -> int:
        rows: list[list[Token]] = []
        header_rows = 0
        in_head = False
        index += 1
        while tokens[index].type != "table_close":
            kind = tokens[index].type
            if kind == "thead_open":
                in_head = True
            elif kind == "thead_close":
                in_head = False
            elif kind == "tr_open":
                rows.append([])
                header_rows += in_head
            elif kind == "inline":
                rows[-1].append(tokens[index])
            index += 1
        columns = max((len(r) for r in rows), default=0)
        if rows and columns:
            table = self._word.add_table(rows=len(rows), cols=columns)
            for r, row in enumerate(rows):
                for c, inline in enumerate(row):
                    paragraph = table.cell(r, c).paragraphs[0]
                    self._inline(paragraph, inline, bold=r < header_rows)
            self._word.add_paragraph()
        return index + 1

    def _inline(self, paragraph: Any, inline: Token, *, bold: bool = False) -> None:
        strong = 1 if bold else 0
        emphasis = strike = 0
        for child in inline.children or []:
            kind = child.type
            if kind in ("text", "code_inline"):
                for part in split_marks(child.content):
                    if isinstance(part, int):
                        paragraph.add_run(str(part)).font.superscript = True
                        continue
                    run = paragraph.add_run(part)
                    run.bold = strong > 0 or None
                    run.italic = emphasis > 0 or None
                    run.font.strike = strike > 0 or None
                    if kind == "code_inline":
                        run.font.name = MONOSPACE
            elif kind in ("softbreak",):
                paragraph.add_run(" ")
            elif kind == "hardbreak":
                paragraph.add_run().add_break()
            elif kind == "strong_open":
                strong += 1
            elif kind == "strong_close":
                strong -= 1
            elif kind == "em_open":
                emphasis += 1
            elif kind == "em_close":
                emphasis -= 1
            elif kind == "s_open":
                strike += 1
            elif kind == "s_close":
                strike -= 1
