"""OpenDocument text (``.odt``, read with odfpy) and Rich Text (``.rtf``, with striprtf)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from localai_desktop.core.documents.blocks import TextBlock
from localai_desktop.core.documents.records import FileStatus

# The same zip-bomb limits as Word files: an .odt is a zip too.
MAX_ODT_UNPACKED_BYTES = 300 * 1024 * 1024
# Rich Text past this is not a letter or a report.
MAX_RTF_BYTES = 100 * 1024 * 1024


def _unreadable(what: str, todo: str = "", *, status: FileStatus = FileStatus.FAILED) -> Exception:
    from localai_desktop.core.documents.parsers import UnreadableFileError

    return UnreadableFileError(what, todo, status=status)


def open_odt(path: Path, data: bytes | None) -> Any:
    from odf import teletype
    from odf.opendocument import load

    from localai_desktop.core.documents.parsers import ParsedFile, vanished_error

    source: Any = io.BytesIO(data) if data is not None else str(path)
    damaged = (
        "The file is not a valid OpenDocument text (.odt) or it is damaged.",
        "Open it in LibreOffice or Word and save it again, then add the new copy.",
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data) if data is not None else path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_ODT_UNPACKED_BYTES:
            raise _unreadable(
                f"The file would unpack to {unpacked // (1024 * 1024)} MB, which is how a "
                "harmful 'zip bomb' looks; it was not opened.",
                "If you trust it, open it in LibreOffice and save a new copy.",
            )
        document = load(source)
    except FileNotFoundError:
        raise vanished_error() from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise _unreadable(*damaged) from error
    except Exception as error:  # the XML parser's own errors for a broken content.xml
        if type(error).__name__ == "UnreadableFileError":
            raise
        raise _unreadable(*damaged) from error

    def blocks() -> Iterator[TextBlock]:
        heading: str | None = None
        for element in _paragraphs(document.text):
            content = " ".join(teletype.extractText(element).split())
            if not content:
                continue
            if element.qname[1] == "h":
                heading = content
            yield TextBlock(content, heading=heading)

    return ParsedFile(path, "odt", None, blocks())


def _paragraphs(node: Any) -> Iterator[Any]:
    """Headings and paragraphs in document order, into lists, tables and sections."""
    for child in node.childNodes:
        name = getattr(child, "qname", (None, None))[1]
        if name in ("h", "p"):
            yield child
        elif getattr(child, "childNodes", None):
            yield from _paragraphs(child)


def open_rtf(path: Path, data: bytes | None) -> Any:
    from striprtf.striprtf import rtf_to_text

    from localai_desktop.core.documents.parsers import (
        ParsedFile,
        _paragraph_blocks,
        decode_text,
        vanished_error,
    )

    try:
        raw = data if data is not None else path.read_bytes()
    except FileNotFoundError:
        raise vanished_error() from None
    if len(raw) > MAX_RTF_BYTES:
        raise _unreadable(
            "The Rich Text file is too large to index (over 100 MB).",
            "Save it without its pictures, or as a PDF, and add that.",
            status=FileStatus.SKIPPED,
        )
    source = decode_text(raw) if not raw.startswith(b"{\\rtf") else raw.decode("latin-1")
    if source is None or not source.lstrip().startswith("{\\rtf"):
        raise _unreadable(
            "The file is not a valid Rich Text file (.rtf) or it is damaged.",
            "Open it in a word processor and save it again, then add the new copy.",
        )
    try:
        plain = rtf_to_text(source, errors="replace")
    except Exception as error:  # striprtf fails with plain exceptions on broken input
        raise _unreadable(
            "The Rich Text file is damaged and could not be read.",
            "Open it in a word processor and save it again, then add the new copy.",
        ) from error
    return ParsedFile(path, "rtf", None, _paragraph_blocks(plain.replace("\n", "\n\n"), None))
