"""How the Documents tab words the status of a file whose text was recognised from images."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from localai_desktop.core.documents.records import DocumentFile, FileStatus
from localai_desktop.ui.documents.document_table import describe_file_status


def scan(**changes: object) -> DocumentFile:
    values: dict[str, object] = dict(
        id=1,
        collection_id=1,
        path=Path("/letters/scan.pdf"),
        folder=None,
        size=1,
        mtime_ns=1,
        sha256="0" * 64,
        kind="pdf",
        status=FileStatus.INDEXED,
        reason=None,
        pages=14,
        chunks=20,
        words=900,
        added_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        indexed_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        pages_recognised=12,
        recognition_confidence=0.93,
    )
    values.update(changes)
    return DocumentFile(**values)  # type: ignore[arg-type]


def test_a_scan_says_on_how_many_pages_text_was_recognised() -> None:
    reason = "Low recognition confidence on page 3: check those passages against the scan."
    status, details = describe_file_status(scan(reason=reason), running=False)
    assert status == "Indexed (text recognised on 12 of 14 pages)"
    assert details == reason


def test_a_picture_and_a_typed_pdf_say_what_fits_them() -> None:
    picture = scan(kind="image", pages=1, pages_recognised=1)
    assert describe_file_status(picture, running=False)[0] == (
        "Indexed (text recognised from the image)"
    )
    typed = scan(pages_recognised=0, recognition_confidence=None)
    assert describe_file_status(typed, running=False)[0] == "Indexed"
