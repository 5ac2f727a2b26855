"""Reading documents into blocks and chunks: structure kept, bad input refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.core.documents import parsers
from localai_desktop.core.documents.chunking import chunk_blocks, chunk_tokens_for
from localai_desktop.core.documents.parsers import (
    FileStatus,
    TextBlock,
    UnreadableFileError,
    open_document,
)
from tests.support import documents_support as docs


def blocks_of(path: Path) -> list[TextBlock]:
    return list(open_document(path).blocks())


def test_pdf_pages_keep_their_page_numbers(tmp_path: Path) -> None:
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES)
    parsed = open_document(pdf)
    assert parsed.kind == "pdf" and parsed.page_count == 10
    blocks = list(parsed.blocks())
    sepsis = [b for b in blocks if "antibiotics" in b.text]
    assert len(sepsis) == 1 and sepsis[0].page == 7
    assert {b.page for b in blocks} == set(range(1, 11))


def test_word_document_keeps_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    parsed = open_document(docs.write_docx(tmp_path / "lease.docx"))
    assert parsed.title == "Lease agreement"
    blocks = list(parsed.blocks())
    rent = next(b for b in blocks if "1,200 euros" in b.text)
    assert rent.heading == "Rent"
    deposit = next(b for b in blocks if "Deposit" in b.text)
    assert deposit.text == "Deposit | 3,600 euros" and deposit.heading == "Rent"
    assert next(b for b in blocks if "flooding" in b.text).heading == "Insurance"


def test_html_gives_visible_text_under_its_headings(tmp_path: Path) -> None:
    parsed = open_document(docs.write_html(tmp_path / "ruling.html"))
    assert parsed.title == "Court ruling"
    blocks = list(parsed.blocks())
    text = " ".join(b.text for b in blocks)
    assert "do not index" not in text and "color" not in text
    damages = next(b for b in blocks if "40,000" in b.text)
    assert damages.heading == "Damages"
    assert next(b for b in blocks if "void" in b.text).heading == "Smith v. Jones"


def test_markdown_headings_become_sections(tmp_path: Path) -> None:
    blocks = blocks_of(docs.write_markdown(tmp_path / "asthma.md"))
    assert [(b.heading, b.text.split()[0]) for b in blocks] == [
        ("Asthma", "Inhaled"),
        ("Acute attack", "Give"),
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Café au lait, naïve résumé.".encode(), "Café au lait"),
        ("Grüße aus Köln.".encode("utf-16"), "Grüße"),
        ("Père Noël à Noël.".encode("cp1252"), "Père Noël"),
        (b"\xef\xbb\xbfWith a byte order mark.", "With a byte"),
    ],
)
def test_text_files_in_the_usual_encodings(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(data)
    assert blocks_of(path)[0].text.startswith(expected)


def test_paragraphs_of_a_text_file_are_split_on_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "two.txt"
    path.write_text("First paragraph\nstill first.\n\n\nSecond one.\n")
    assert [b.text for b in blocks_of(path)] == ["First paragraph still first.", "Second one."]


def reason_for(path: Path) -> UnreadableFileError:
    with pytest.raises(UnreadableFileError) as caught:
        list(open_document(path).blocks())
    return caught.value


def test_password_protected_pdf_is_refused_with_what_to_do(tmp_path: Path) -> None:
    error = reason_for(docs.write_encrypted_pdf(tmp_path / "secret.pdf"))
    assert error.status == FileStatus.FAILED
    assert "password" in error.what and "unprotected copy" in error.todo


def test_damaged_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    error = reason_for(path)
    assert error.status == FileStatus.FAILED and "damaged" in error.what


def test_scanned_pdf_has_pages_without_text(tmp_path: Path) -> None:
    parsed = open_document(docs.write_scanned_pdf(tmp_path / "scan.pdf", pages=3))
    assert list(parsed.blocks()) == []
    assert parsed.pages_without_text == 3


def test_empty_file_is_skipped(tmp_path: Path) -> None:
    for name in ("empty.txt", "empty.pdf", "blank.md"):
        path = tmp_path / name
        path.write_text("" if name != "blank.md" else "\n   \n")
        error = reason_for(path)
        assert error.status == FileStatus.SKIPPED and "empty" in error.what


def test_binary_file_with_a_text_name_is_skipped(tmp_path: Path) -> None:
    error = reason_for(docs.write_binary_named_txt(tmp_path / "data.txt"))
    assert error.status == FileStatus.SKIPPED and "binary" in error.what


def test_zip_bomb_docx_is_not_opened(tmp_path: Path) -> None:
    error = reason_for(docs.write_zip_bomb_docx(tmp_path / "bomb.docx"))
    assert error.status == FileStatus.FAILED and "zip bomb" in error.what


def test_docx_over_the_unpacked_size_limit_is_not_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsers, "MAX_DOCX_UNPACKED_BYTES", 1024)
    error = reason_for(docs.write_docx(tmp_path / "lease.docx"))
    assert "zip bomb" in error.what


def test_a_file_that_is_not_really_a_docx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.docx"
    path.write_text("I am plain text pretending to be Word.")
    error = reason_for(path)
    assert error.status == FileStatus.FAILED and "not a valid Word document" in error.what


def test_old_word_and_unknown_types_are_skipped_with_a_reason(tmp_path: Path) -> None:
    old = tmp_path / "old.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert ".docx" in reason_for(old).todo
    drawing = tmp_path / "drawing.psd"  # pictures are read (recognised); Photoshop files not
    drawing.write_bytes(b"8BPS" + b"\0" * 100)
    error = reason_for(drawing)
    assert error.status == FileStatus.SKIPPED and "not supported" in error.what


def test_a_vanished_file_says_so(tmp_path: Path) -> None:
    error = reason_for(tmp_path / "gone.pdf")
    assert error.status == FileStatus.FAILED and "moved or deleted" in error.what


# -- chunking ---------------------------------------------------------------------------------


def test_chunks_never_cross_pages_or_headings(tmp_path: Path) -> None:
    blocks = [
        TextBlock("Alpha one. " * 5, page=1),
        TextBlock("Alpha two. " * 5, page=1),
        TextBlock("Beta. " * 5, page=2),
        TextBlock("Gamma. " * 5, page=2, heading="G"),
    ]
    chunks = list(chunk_blocks(blocks, max_tokens=200))
    assert [(c.page, c.heading) for c in chunks] == [(1, None), (2, None), (2, "G")]
    assert [c.ordinal for c in chunks] == [0, 1, 2]
    assert "Alpha one" in chunks[0].text and "Alpha two" in chunks[0].text


def test_long_text_is_cut_between_sentences_within_the_budget() -> None:
    sentences = [f"Sentence number {i} says something short about item {i}." for i in range(200)]
    blocks = [TextBlock(" ".join(sentences))]
    chunks = list(chunk_blocks(blocks, max_tokens=100))
    assert len(chunks) > 5
    assert all(c.token_count <= 100 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)  # cut at sentence ends
    joined = " ".join(c.text for c in chunks)
    assert joined == " ".join(sentences)  # nothing lost, nothing repeated


def test_a_sentence_longer_than_the_budget_is_cut_between_words() -> None:
    text = " ".join(f"word{i}" for i in range(1000))
    chunks = list(chunk_blocks([TextBlock(text)], max_tokens=80))
    assert all(c.token_count <= 80 for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def test_chunking_is_deterministic_so_an_interrupted_file_can_resume(tmp_path: Path) -> None:
    pdf = docs.write_pdf(tmp_path / "g.pdf", docs.GUIDELINE_PAGES, filler=6)
    first = list(chunk_blocks(open_document(pdf).blocks(), max_tokens=64))
    second = list(chunk_blocks(open_document(pdf).blocks(), max_tokens=64))
    assert first == second and len(first) > 10


def test_chunk_size_follows_the_embedding_models_context() -> None:
    assert chunk_tokens_for(512) == 256
    assert chunk_tokens_for(128) == 64
    assert chunk_tokens_for(32768) == 256
