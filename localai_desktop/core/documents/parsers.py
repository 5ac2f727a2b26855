"""Reading documents into text blocks that keep page and heading.

PDF, Word, OpenDocument text, Rich Text, plain text, Markdown, HTML, pictures and scans
(``page_images``, ``ocr``), e-mail (``mail``). ``open_document(path)`` checks the file and
returns a ``ParsedFile`` whose ``blocks()`` yields ``TextBlock`` objects lazily (a 2,000-page
PDF is read one page at a time); ``open_document(path, data)`` reads the same from bytes in
memory (an e-mail's attachment, never written to disk). PDF pages without a text layer, or
mostly picture, and pictures are rendered and their text recognised page by page through
``ParsedFile.recognise``, which the indexer hooks to keep each page's result in the database.
A file that cannot be indexed raises ``UnreadableFileError`` with a reason a person can act on
and a status: "skipped" (nothing wrong, just nothing to index: empty, unsupported) or
"failed" (damaged, password-protected, suspicious, vanished).
"""

from __future__ import annotations

import codecs
import io
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.blocks import TextBlock
from localai_desktop.core.documents.markup import HtmlBlocks, markdown_blocks
from localai_desktop.core.documents.ocr import (
    LOW_CONFIDENCE,
    RecognisedPage,
    page_blocks,
    shared_recogniser,
)
from localai_desktop.core.documents.page_images import (
    IMAGE_SUFFIXES,
    open_image,
    pdf_page_needs_recognition,
    render_pdf_page,
)
from localai_desktop.core.documents.records import FileStatus

if TYPE_CHECKING:
    from docx.document import Document as WordDocument
    from PIL.Image import Image

    from localai_desktop.core.documents.mail import Attachment

PDF_SUFFIXES = frozenset({".pdf"})
DOCX_SUFFIXES = frozenset({".docx"})
TEXT_SUFFIXES = frozenset({".txt", ".text", ".log", ".csv"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
MAIL_SUFFIXES = frozenset({".eml", ".msg"})
OFFICE_SUFFIXES = frozenset({".odt", ".rtf"})
SUPPORTED_SUFFIXES = (
    PDF_SUFFIXES
    | DOCX_SUFFIXES
    | TEXT_SUFFIXES
    | MARKDOWN_SUFFIXES
    | HTML_SUFFIXES
    | IMAGE_SUFFIXES
    | MAIL_SUFFIXES
    | OFFICE_SUFFIXES
)

# A real Word document of a few thousand pages unpacks to tens of megabytes; a zip bomb unpacks
# a tiny file to gigabytes. Checked from the zip's directory before anything is decompressed.
MAX_DOCX_UNPACKED_BYTES = 300 * 1024 * 1024
MAX_DOCX_RATIO = 150
# Plain text past this is almost certainly a data dump or a log, not a document to ask about.
MAX_TEXT_BYTES = 200 * 1024 * 1024
# Control characters (other than tab, newlines, form feed) above this share mean "binary".
BINARY_CONTROL_SHARE = 0.02

UNSUPPORTED_REASON = (
    "This file type is not supported. Add PDF, Word (.docx, .odt, .rtf), text, Markdown, "
    "HTML, e-mail (.eml, .msg) or picture (PNG, JPEG, TIFF) files."
)

# pdfium is not thread-safe: every call into it, from any thread, goes through this lock.
_PDFIUM_LOCK = threading.Lock()


class UnreadableFileError(LocalAIError):
    """A file that cannot be indexed; ``status`` is FileStatus.SKIPPED or FileStatus.FAILED."""

    def __init__(
        self, what: str, todo: str = "", *, status: FileStatus = FileStatus.FAILED
    ) -> None:
        super().__init__(what, todo)
        self.status = status


PageRecogniser = Callable[[int, Callable[[], "Image"]], RecognisedPage]
"""(page number, render the page) -> its recognised text; the indexer's hook keeps results."""


@dataclass
class ParsedFile:
    """An opened document: its kind, page count when known, and a lazy stream of blocks."""

    path: Path
    kind: str  # "pdf", "docx", "odt", "rtf", "text", "markdown", "html", "image", "email"
    page_count: int | None
    _blocks: Iterator[TextBlock]
    pages_without_text: int = 0
    title: str | None = None
    # Called with each page number as it is read, text or not: a run of blank or scanned pages
    # yields no blocks, and progress and cancel must still move through it.
    on_page: Callable[[int], None] | None = None
    # Recognises a page's text from its image; None: recognise here, keep nothing.
    page_recogniser: PageRecogniser | None = None
    pages_recognised: int = 0
    low_confidence_pages: list[int] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    # An e-mail's attachments in formats that can be indexed, each a document of its own.
    attachments: list[Attachment] = field(default_factory=list)
    attachments_left_out: int = 0

    def blocks(self) -> Iterator[TextBlock]:
        return self._blocks

    def recognise(self, number: int, render: Callable[[], Image]) -> RecognisedPage:
        """Page `number`'s text recognised from its image; counted for the file's status."""
        if self.page_recogniser is not None:
            page = self.page_recogniser(number, render)
        else:
            page = shared_recogniser().recognise(render())
        self.pages_recognised += 1
        if page.lines:
            self.confidences.append(page.confidence)
            if page.confidence < LOW_CONFIDENCE:
                self.low_confidence_pages.append(number)
        return page

    @property
    def recognition_confidence(self) -> float | None:
        if not self.confidences:
            return None
        return sum(self.confidences) / len(self.confidences)


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def open_document(path: Path, data: bytes | None = None) -> ParsedFile:
    """Check and open a file (or `data`, its bytes already in memory, named by `path`); raise
    UnreadableFileError with a plain reason if it cannot be read."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".doc":
        raise UnreadableFileError(
            "Old Word documents (.doc) are not supported.",
            "Open it in Word and save it as .docx, then add it again.",
            status=FileStatus.SKIPPED,
        )
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFileError(UNSUPPORTED_REASON, status=FileStatus.SKIPPED)
    try:
        size = path.stat().st_size if data is None else len(data)
    except FileNotFoundError:
        raise vanished_error() from None
    except OSError as error:
        raise UnreadableFileError(
            f"The file could not be opened ({error.strerror or error}).",
            "Check that you may read it.",
        ) from error
    if size == 0:
        raise UnreadableFileError("The file is empty.", status=FileStatus.SKIPPED)
    if suffix in PDF_SUFFIXES:
        return _open_pdf(path, data)
    if suffix in DOCX_SUFFIXES:
        return _open_docx(path, size, data)
    if suffix in IMAGE_SUFFIXES:
        return open_image(path, data)
    if suffix in MAIL_SUFFIXES:
        from localai_desktop.core.documents.mail import open_mail

        return open_mail(path, data)
    if suffix in OFFICE_SUFFIXES:
        from localai_desktop.core.documents.office import open_odt, open_rtf

        return open_odt(path, data) if suffix == ".odt" else open_rtf(path, data)
    if size > MAX_TEXT_BYTES:
        raise UnreadableFileError(
            f"The file is too large to index ({size // (1024 * 1024)} MB of text).",
            "Split it into smaller files.",
            status=FileStatus.SKIPPED,
        )
    text = _read_text(path, data)
    if suffix in HTML_SUFFIXES:
        parser = HtmlBlocks()
        parser.feed(text)
        parser.close()
        return ParsedFile(path, "html", None, iter(parser.blocks), title=parser.title)
    if suffix in MARKDOWN_SUFFIXES:
        return ParsedFile(path, "markdown", None, markdown_blocks(text))
    return ParsedFile(path, "text", None, _paragraph_blocks(text, heading=None))


def vanished_error() -> UnreadableFileError:
    return UnreadableFileError(
        "The file was moved or deleted before it could be read.",
        "Add it again from where it is now.",
    )


# -- PDF --------------------------------------------------------------------------------------


def _open_pdf(path: Path, data: bytes | None = None) -> ParsedFile:
    import pypdfium2 as pdfium

    try:
        with _PDFIUM_LOCK:
            document = pdfium.PdfDocument(data if data is not None else str(path))
            page_count = len(document)
    except FileNotFoundError:
        raise vanished_error() from None
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise UnreadableFileError(
                "The PDF is protected by a password, so it cannot be read.",
                "Save an unprotected copy (for example with 'Print to PDF') and add that.",
            ) from error
        raise UnreadableFileError(
            "The PDF is damaged or is not really a PDF.",
            "Open it in a PDF viewer; if it opens, save a new copy and add that.",
        ) from error
    parsed = ParsedFile(path, "pdf", page_count, iter(()))
    parsed._blocks = _pdf_pages(document, parsed)
    return parsed


def _pdf_pages(document: Any, parsed: ParsedFile) -> Iterator[TextBlock]:
    # Any: pypdfium2 ships no type hints (a pdfium.PdfDocument).
    try:
        for index in range(parsed.page_count or 0):
            with _PDFIUM_LOCK:
                page = document[index]
                try:
                    textpage = page.get_textpage()
                    try:
                        raw = textpage.get_text_bounded()
                    finally:
                        textpage.close()
                    text = _clean_pdf_text(raw)
                    scanned = pdf_page_needs_recognition(page, text)
                finally:
                    page.close()
            if parsed.on_page is not None:
                parsed.on_page(index + 1)
            if scanned:
                recognised = parsed.recognise(index + 1, partial(_render, document, index))
                if recognised.lines:
                    yield from page_blocks(recognised, index + 1)
                    continue
            if not text:
                parsed.pages_without_text += 1
                continue
            for paragraph in _split_paragraphs(text):
                yield TextBlock(paragraph, page=index + 1)
    finally:
        with _PDFIUM_LOCK:
            document.close()


def _render(document: Any, index: int) -> Image:
    # Rendered under the lock, recognised outside it: another file's text can be read meanwhile.
    with _PDFIUM_LOCK:
        page = document[index]
        try:
            return render_pdf_page(page)
        finally:
            page.close()


_HYPHENATED_BREAK = re.compile(r"(\w)-\r?\n(\w)")


def _clean_pdf_text(raw: str) -> str:
    # Words hyphenated across a line break are joined ("treat-\nment" -> "treatment").
    text = _HYPHENATED_BREAK.sub(r"\1\2", raw.replace("\x00", "").replace("\ufffe", ""))
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


# -- Word -------------------------------------------------------------------------------------


def _open_docx(path: Path, size: int, data: bytes | None = None) -> ParsedFile:
    source: Any = io.BytesIO(data) if data is not None else path
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except FileNotFoundError:
        raise vanished_error() from None
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UnreadableFileError(
            "The file is not a valid Word document (.docx) or it is damaged.",
            "Open it in Word and save it again, then add the new copy.",
        ) from error
    unpacked = sum(member.file_size for member in members)
    worst_ratio = max(
        (m.file_size / max(m.compress_size, 1) for m in members if m.file_size > 1024 * 1024),
        default=0.0,
    )
    if unpacked > MAX_DOCX_UNPACKED_BYTES or worst_ratio > MAX_DOCX_RATIO:
        raise UnreadableFileError(
            f"The Word file would unpack to {unpacked // (1024 * 1024)} MB from "
            f"{max(size // 1024, 1)} KB, which is how a harmful 'zip bomb' looks; "
            "it was not opened.",
            "If you trust it, open it in Word and save a new copy.",
        )
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data) if data is not None else str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise UnreadableFileError(
            "The file is not a valid Word document (.docx) or it is damaged.",
            "Open it in Word and save it again, then add the new copy.",
        ) from error
    except Exception as error:  # lxml raises its own XML errors for a broken document.xml
        raise UnreadableFileError(
            "The Word document is damaged and could not be read.",
            "Open it in Word and save it again, then add the new copy.",
        ) from error
    title = (document.core_properties.title or "").strip() or None
    return ParsedFile(path, "docx", None, _docx_blocks(document), title=title)


def _docx_blocks(document: WordDocument) -> Iterator[TextBlock]:
    from docx.table import Table

    heading: str | None = None
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                # Merged cells repeat their text in every cell they span.
                unique = [c for i, c in enumerate(cells) if c and c not in cells[:i]]
                if unique:
                    yield TextBlock(" | ".join(unique), heading=heading)
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if style.startswith("Heading") or style == "Title":
            heading = text
        yield TextBlock(text, heading=heading)


# -- plain text, Markdown -----------------------------------------------------------------------


def _read_text(path: Path, data: bytes | None = None) -> str:
    try:
        if data is None:
            data = path.read_bytes()
    except FileNotFoundError:
        raise vanished_error() from None
    except OSError as error:
        raise UnreadableFileError(
            f"The file could not be read ({error.strerror or error}).",
            "Check that you may read it.",
        ) from error
    text = decode_text(data)
    if text is None:
        raise UnreadableFileError(
            "This file has a text name but holds binary data (not text).",
            "Check that it is the file you meant to add.",
            status=FileStatus.SKIPPED,
        )
    if not text.strip():
        raise UnreadableFileError("The file is empty.", status=FileStatus.SKIPPED)
    return text


def decode_text(data: bytes) -> str | None:
    """Text from bytes in the usual encodings, or None when the bytes are not text."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:65536]:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Windows-1252 is what old text files from Windows machines usually are.
        text = data.decode("cp1252", errors="replace")
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f")
    replaced = sample.count("\ufffd")
    if sample and (controls + replaced) / len(sample) > BINARY_CONTROL_SHARE:
        return None
    return text


_BLANK_LINES = re.compile(r"\n\s*\n")
# White space that is not already one plain space: runs, tabs, line breaks.
_OTHER_WHITE_SPACE = re.compile(r"\s{2,}|[^\S ]")


def _split_paragraphs(text: str) -> list[str]:
    # The same as " ".join(p.split()), without a list of every word of a long paragraph: a
    # book in one paragraph took 14 times its size in memory that way.
    return [
        _OTHER_WHITE_SPACE.sub(" ", p).strip()
        for p in _BLANK_LINES.split(text)
        if p and not p.isspace()
    ]


def _paragraph_blocks(text: str, heading: str | None) -> Iterator[TextBlock]:
    for paragraph in _split_paragraphs(text.replace("\r\n", "\n").replace("\r", "\n")):
        yield TextBlock(paragraph, heading=heading)
