"""The conversation as a PDF, written by fpdf2 (pure Python: the command line needs no Qt).

Titles, speaker headings, sources and the appendix are laid out here; each message's Markdown
becomes HTML (the same as the HTML export's) that fpdf2 lays out with lists, tables and code.
"""

from __future__ import annotations

import logging
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace, TextStyle

from localai_desktop.core.export.document import ExportDocument, ExportMessage
from localai_desktop.core.export.markdown import markdown_parser, replace_marks
from localai_desktop.core.export.pdf_fonts import find_fallback_fonts, find_unicode_fonts

log = logging.getLogger(__name__)

MISSING_MARK = "\u25a1"  # a white square: DejaVu and most Unicode families have it

BODY_PT = 10.5
_BLACK = "#111111"
_GREY = (85, 85, 85)


class _Pdf(FPDF):
    """A4 pages with the title and page number in the footer."""

    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.footer_title = title
        self.unicode = False
        self.body = "Helvetica"
        self.mono = "Courier"
        fonts = find_unicode_fonts()
        if fonts is not None:
            self.add_font("Body", "", str(fonts.regular))
            self.add_font("Body", "B", str(fonts.bold))
            self.add_font("Body", "I", str(fonts.italic))
            self.add_font("Body", "BI", str(fonts.bold_italic))
            self.add_font("Mono", "", str(fonts.mono))
            self.body, self.mono, self.unicode = "Body", "Mono", True
        self.missing: frozenset[str] = frozenset()  # characters no font here can show
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=18)

    def prepare_characters(self, text: str) -> frozenset[str]:
        """Make ready for the characters of `text`: fallback fonts for those the family lacks
        (only the fonts that cover some); returns the characters that no font can show."""
        shown = {c for c in set(text) if ord(c) >= 32 and not c.isspace()}
        if not self.unicode:
            self.missing = frozenset(c for c in shown if ord(c) > 255)
            return self.missing
        lacking = {c for c in shown if ord(c) not in self.fonts["body"].cmap}  # type: ignore[union-attr]
        fallbacks: list[str] = []
        for number, (path, index) in enumerate(find_fallback_fonts() if lacking else ()):
            name = f"Fallback{number}"
            try:
                self.add_font(name, "", str(path), collection_font_number=index)
            except Exception as error:  # a damaged or unusual font file: try the next one
                log.warning("Font %s not used for the PDF: %s", path, error)
                continue
            cmap = self.fonts[name.lower()].cmap  # type: ignore[union-attr]
            covered = {c for c in lacking if ord(c) in cmap}
            if not covered:
                del self.fonts[name.lower()]
                continue
            fallbacks.append(name)
            lacking -= covered
            if not lacking:
                break
        if fallbacks:
            self.set_fallback_fonts(fallbacks, exact_match=False)
        self.missing = frozenset(lacking)
        return self.missing

    def text_for_font(self, text: str) -> str:
        """What the fonts can show: the characters none has become a visible mark (or "?"
        with PDF's built-in fonts, which know Western European letters only)."""
        if not self.unicode:
            return text.encode("latin-1", "replace").decode("latin-1")
        if not self.missing or self.missing.isdisjoint(text):
            return text
        return "".join(MISSING_MARK if c in self.missing else c for c in text)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.body, "", 8)
        self.set_text_color(*_GREY)
        title = self.text_for_font(self.footer_title)
        if len(title) > 80:
            title = title[:79] + ("…" if self.unicode else "...")
        self.cell(
            0,
            5,
            f"{title}  ·  page {self.page_no()} of {{nb}}"
            if self.unicode
            else f"{title}  -  page {self.page_no()} of {{nb}}",
            align="C",
        )


def render_pdf(document: ExportDocument) -> bytes:
    return render_pdf_with_notes(document)[0]


def render_pdf_with_notes(document: ExportDocument) -> tuple[bytes, tuple[str, ...]]:
    """The PDF and what a person should know about it (characters it could not show)."""
    pdf = _Pdf(document.title)
    missing = pdf.prepare_characters(_all_text(document))
    notes = (_missing_note(missing, pdf.unicode),) if missing else ()
    pdf.set_title(pdf.text_for_font(document.title))
    pdf.set_creator("LocalAI Desktop")
    pdf.add_page()
    pdf.set_font(pdf.body, "B", 18)
    pdf.multi_cell(0, 8, pdf.text_for_font(document.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _small(pdf, document.subtitle)
    for note in notes:
        _small(pdf, note)
    if document.system_prompt:
        pdf.ln(2)
        pdf.set_font(pdf.body, "B", BODY_PT)
        pdf.cell(0, 6, "System prompt:", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(pdf.body, "I", BODY_PT)
        pdf.multi_cell(
            0, 5, pdf.text_for_font(document.system_prompt), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    for message in document.messages:
        _message(pdf, message)
    answers = document.answers_with_provenance
    if answers:
        _appendix(pdf, answers)
    return bytes(pdf.output()), notes


def _small(pdf: _Pdf, text: str) -> None:
    pdf.set_font(pdf.body, "", 8.5)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(0, 4.2, pdf.text_for_font(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


def _message(pdf: _Pdf, message: ExportMessage) -> None:
    pdf.ln(4)
    if pdf.will_page_break(20):
        pdf.add_page()
    pdf.set_font(pdf.body, "B", 12)
    pdf.multi_cell(0, 7, pdf.text_for_font(message.heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    y = pdf.get_y()
    pdf.set_draw_color(190, 190, 190)
    pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
    pdf.ln(1.5)
    pdf.set_font(pdf.body, "", BODY_PT)
    html = replace_marks(markdown_parser().render(message.markdown), lambda n: f"<sup>{n}</sup>")
    try:
        pdf.write_html(
            pdf.text_for_font(html),
            font_family=pdf.body,
            tag_styles=_tag_styles(pdf),
            warn_on_tags_not_matching=False,
            table_line_separators=True,
            li_prefix_color=(60, 60, 60),
        )
    except Exception as error:  # fpdf2 refuses some layouts (a table too wide for the page)
        log.warning("Message %s laid out as plain text in the PDF: %s", message.id, error)
        pdf.set_font(pdf.body, "", BODY_PT)
        plain = replace_marks(message.markdown, lambda n: f"[{n}]")
        pdf.multi_cell(0, 5, pdf.text_for_font(plain), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if message.footnotes:
        pdf.ln(1)
        pdf.set_font(pdf.body, "B", 8.5)
        pdf.set_text_color(*_GREY)
        pdf.cell(0, 5, "Sources", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for footnote in message.footnotes:
            _small(pdf, f"{footnote.number}. {footnote.text}")


def _tag_styles(pdf: _Pdf) -> dict[str, Any]:
    """Headings inside a message stay below the speaker's heading; all text in black."""
    styles: dict[str, Any] = {
        f"h{level}": TextStyle(
            font_family=pdf.body,
            font_style="B",
            font_size_pt=size,
            color=_BLACK,
            t_margin=3,
            b_margin=1,
        )
        for level, size in zip(range(1, 7), (13, 12, 11, 10.5, 10.5, 10.5), strict=True)
    }
    styles["code"] = FontFace(family=pdf.mono, size_pt=9)
    styles["pre"] = TextStyle(font_family=pdf.mono, font_size_pt=9, t_margin=2, b_margin=2)
    styles["blockquote"] = TextStyle(color="#333333", t_margin=2, b_margin=2, l_margin=6)
    styles["a"] = FontFace(color="#1a4fa0", emphasis="UNDERLINE")
    return styles


def _appendix(pdf: _Pdf, answers: tuple[ExportMessage, ...]) -> None:
    pdf.add_page()
    pdf.set_font(pdf.body, "B", 14)
    pdf.cell(0, 9, "Appendix: how each answer was made", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for message in answers:
        pdf.ln(2)
        if pdf.will_page_break(30):
            pdf.add_page()
        pdf.set_font(pdf.body, "B", 11)
        pdf.cell(
            0, 7, f"{message.speaker} (message {message.id})", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.set_font(pdf.body, "", 8.5)
        with pdf.table(
            col_widths=(28, 92),
            first_row_as_headings=False,
            line_height=4.6,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            for label, value in message.appendix:
                row = table.row()
                row.cell(pdf.text_for_font(label), style=FontFace(emphasis="BOLD"))
                row.cell(pdf.text_for_font(value))


def _all_text(document: ExportDocument) -> str:
    parts = [document.title, document.subtitle, document.system_prompt]
    for message in document.messages:
        parts += [message.heading, message.markdown]
        parts += [footnote.text for footnote in message.footnotes]
        parts += [f"{label} {value}" for label, value in message.appendix]
    return "\n".join(parts)


def _missing_note(missing: frozenset[str], unicode: bool) -> str:
    count = len(missing)
    what = f"{count} kind{'s' if count != 1 else ''} of character"
    if not unicode:
        return (
            f"Note: no Unicode font was found on this computer, so {what} beyond Western "
            "European letters are shown as ? in this PDF. The Word, HTML and Markdown exports "
            "keep every character."
        )
    return (
        f"Note: {what} that no font on this computer can show (for example Chinese, Japanese or "
        f"Korean letters) are marked {MISSING_MARK} in this PDF. The Word, HTML and Markdown "
        "exports keep every character; installing a font for that script (such as Noto Sans "
        "CJK) lets the PDF show them."
    )
