"""Scans and pictures: text recognised on this computer, cited to its page, resumed after a kill.

Every scan is made here: text rendered into images with Pillow and saved as an image-only PDF
(no text layer), so whatever is found was recognised from pixels by the real OCR models.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.indexer import IndexingState, IndexProgress
from localai_desktop.core.documents.ocr import shared_recogniser
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import documents_support as docs
from tests.support import scans

MINILM = "all-MiniLM-L6-v2-Q8_0.gguf"


@pytest.fixture
def library(tmp_path: Path, models_dir: Path) -> Iterator[DocumentLibrary]:
    db = Database(tmp_path / "data" / "localai.db")
    registry = ModelRegistry(db, tmp_path / "data" / "models")
    registry.import_model(models_dir / MINILM, name="minilm", probe=False)
    library = DocumentLibrary(db, registry)
    library.create("Letters")
    yield library
    library.close()
    db.close()


def by_name(library: DocumentLibrary) -> dict[str, object]:
    return {f.name: f for f in library.files("Letters")}


def test_a_fact_on_page_2_of_a_scan_is_found_and_cited_to_page_2(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    letter = scans.write_scanned_letter(tmp_path / "referral-scan.pdf")
    library.add_paths("Letters", [letter])
    report = library.index("Letters")
    assert report.indexed == 1
    file = library.files("Letters")[0]
    assert (file.pages, file.pages_recognised) == (3, 3)
    assert file.recognition_confidence is not None and file.recognition_confidence > 0.9
    hits = library.search(["Letters"], "Which anticoagulant does the patient take?", k=3)
    assert hits[0].page == 2 and hits[0].location == "referral-scan.pdf, page 2"
    assert "warfarin" in hits[0].text.lower()
    # The passage knows where it sits on the page, for the viewer's highlight.
    box = library.passage_context(hits[0].chunk_id).passage.box
    assert box is not None and 0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1


def test_a_mixed_pdf_reads_its_text_layer_and_recognises_its_scanned_page(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    import pypdfium2 as pdfium

    typed = docs.write_pdf(tmp_path / "typed.pdf", ["Typed page. The clinic opens at eight."])
    scanned = scans.write_scanned_letter(tmp_path / "scan.pdf", scans.REFERRAL_PAGES[1:2])
    merged = pdfium.PdfDocument.new()
    for source in (typed, scanned):
        merged.import_pages(pdfium.PdfDocument(str(source)))
    merged.save(str(tmp_path / "mixed.pdf"))
    library.add_paths("Letters", [tmp_path / "mixed.pdf"])
    library.index("Letters")
    file = library.files("Letters")[0]
    assert (file.status, file.pages, file.pages_recognised) == ("indexed", 2, 1)
    hits = library.search(["Letters"], "warfarin", k=1)
    assert hits[0].page == 2
    assert library.search(["Letters"], "When does the clinic open?", k=1)[0].page == 1


def test_pictures_are_read_like_scans_including_every_page_of_a_tiff(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    page1, page2 = (scans.render_page(t, dpi=150) for t in scans.REFERRAL_PAGES[:2])
    page1.save(tmp_path / "letter.png")
    page2.convert("RGB").save(tmp_path / "photo.jpg", quality=90)
    page1.save(tmp_path / "fax.tiff", save_all=True, append_images=[page2], compression="tiff_lzw")
    library.add_paths("Letters", [tmp_path / n for n in ("letter.png", "photo.jpg", "fax.tiff")])
    report = library.index("Letters")
    assert report.indexed == 3
    files = by_name(library)
    assert files["fax.tiff"].pages_recognised == 2  # type: ignore[attr-defined]
    hits = library.search(["Letters"], "warfarin atrial fibrillation", k=3)
    assert {(h.file_name, h.page) for h in hits} >= {("fax.tiff", 2), ("photo.jpg", 1)}


def test_a_killed_run_resumes_without_recognising_pages_again(
    library: DocumentLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    letter = scans.write_scanned_letter(tmp_path / "referral-scan.pdf")
    library.add_paths("Letters", [letter])
    state = IndexingState()
    pages_seen: list[int] = []

    def on_progress(progress: IndexProgress) -> None:
        if progress.current_page:
            pages_seen.append(progress.current_page)
        if progress.current_page == 3:
            state.request_interruption()  # stopped as page 3 is reached

    state._on_progress = on_progress
    report = library.index("Letters", state)
    assert report.cancelled and library.files("Letters")[0].status == "indexing"
    recognised: list[int] = []
    real = shared_recogniser().recognise

    def counting(image, cancel=None):  # type: ignore[no-untyped-def]
        recognised.append(1)
        return real(image, cancel)

    monkeypatch.setattr(shared_recogniser(), "recognise", counting)
    report = library.index("Letters")
    assert report.indexed == 1
    assert len(recognised) == 1  # only page 3: pages 1 and 2 came from the database
    assert 3 in pages_seen
    assert library.files("Letters")[0].pages_recognised == 3


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _tiff_bomb(width: int, height: int) -> bytes:
    """A 1 KB TIFF that says it holds width x height pixels in one deflate strip of zeros."""
    strip = zlib.compress(b"\x00" * 65536, 9)
    tags = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 8),  # Compression: deflate
        (262, 3, 1, 1),  # Photometric: black is zero
        (273, 4, 1, 0),  # StripOffsets, patched below
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, len(strip)),  # StripByteCounts
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(tags) + 4
    data_offset = ifd_offset + ifd_size
    out = b"II*\x00" + struct.pack("<I", ifd_offset) + struct.pack("<H", len(tags))
    for tag, kind, count, value in tags:
        if tag == 273:
            value = data_offset
        packed = struct.pack("<HHI", tag, kind, count)
        packed += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        out += packed
    return out + struct.pack("<I", 0) + strip


def test_bad_pictures_get_a_reason_and_the_rest_index(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    scans.render_page(scans.REFERRAL_PAGES[1], dpi=150).save(tmp_path / "good.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50)
    (tmp_path / "huge.png").write_bytes(_png_header_only(20_000, 20_000))
    (tmp_path / "bomb.tiff").write_bytes(_tiff_bomb(100_000, 100_000))
    (tmp_path / "wide.png").write_bytes(_png_header_only(12_000, 6_000))
    library.add_paths("Letters", [tmp_path])
    report = library.index("Letters")
    files = by_name(library)
    assert files["good.png"].status == "indexed"  # type: ignore[attr-defined]
    assert "damaged" in files["corrupt.png"].reason  # type: ignore[attr-defined]
    assert "too large" in files["huge.png"].reason  # type: ignore[attr-defined]
    assert "too large" in files["bomb.tiff"].reason  # type: ignore[attr-defined]
    assert "12,000 x 6,000" in files["wide.png"].reason  # type: ignore[attr-defined]
    assert report.indexed == 1
