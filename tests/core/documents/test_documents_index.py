"""Indexing and searching collections with the real MiniLM embedding model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents import indexer, retrieval
from localai_desktop.core.documents.chunking import Chunk
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.embedder import prefixes_for
from localai_desktop.core.documents.index_store import DocumentFile
from localai_desktop.core.documents.indexer import IndexingState, IndexProgress
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import documents_support as docs

MINILM = "all-MiniLM-L6-v2-Q8_0.gguf"


@pytest.fixture
def library(tmp_path: Path, models_dir: Path) -> Iterator[DocumentLibrary]:
    db = Database(tmp_path / "data" / "localai.db")
    registry = ModelRegistry(db, tmp_path / "data" / "models")
    registry.import_model(models_dir / MINILM, name="minilm", probe=False)
    library = DocumentLibrary(db, registry)
    library.create("Guidelines")
    yield library
    library.close()
    db.close()


def statuses(library: DocumentLibrary) -> dict[str, tuple[str, str | None]]:
    return {f.name: (f.status, f.reason) for f in library.files("Guidelines")}


def test_a_question_about_page_7_finds_page_7(library: DocumentLibrary, tmp_path: Path) -> None:
    pdf = docs.write_pdf(tmp_path / "ward-guideline.pdf", docs.GUIDELINE_PAGES)
    library.add_paths("Guidelines", [pdf])
    report = library.index("Guidelines")
    assert report.indexed == 1 and report.pages == 10 and report.chunks >= 10
    hits = library.search(["Guidelines"], "How quickly must antibiotics be started in sepsis?")
    assert hits[0].page == 7 and hits[0].file_name == "ward-guideline.pdf"
    assert hits[0].relevant and "within one hour" in hits[0].text
    assert hits[0].keyword_rank is not None and hits[0].vector_rank == 1
    # A paraphrase with none of the passage's key words still finds it, through its meaning.
    paraphrase = library.search(["Guidelines"], "screening for acute confusion", k=3)
    assert paraphrase[0].page == 8


def test_every_format_is_indexed_and_searchable(library: DocumentLibrary, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    docs.write_docx(folder / "lease.docx")
    docs.write_html(folder / "ruling.html")
    docs.write_markdown(folder / "asthma.md")
    (folder / "note.txt").write_text("The parking permit expires on 30 June 2025.\n")
    result = library.add_paths("Guidelines", [folder])
    assert len(result.pending) == 4
    report = library.index("Guidelines")
    assert report.indexed == 4, statuses(library)
    expectations = {
        "How much is the monthly rent?": ("lease.docx", "Rent"),
        "What damages were awarded to the claimant?": ("ruling.html", "Damages"),
        "How many puffs of salbutamol in an attack?": ("asthma.md", "Acute attack"),
        "When does the parking permit expire?": ("note.txt", None),
    }
    for question, (name, heading) in expectations.items():
        best = library.search(["Guidelines"], question, k=3)[0]
        assert (best.file_name, best.heading) == (name, heading), question


def test_bad_files_get_a_status_and_the_rest_indexes(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    docs.write_encrypted_pdf(folder / "secret.pdf")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n" + b"garbage" * 100)
    docs.write_scanned_pdf(folder / "scan.pdf")
    (folder / "empty.txt").write_text("")
    docs.write_binary_named_txt(folder / "data.txt")
    docs.write_zip_bomb_docx(folder / "bomb.docx")
    (folder / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 64)
    docs.write_markdown(folder / "good.md")
    library.add_paths("Guidelines", [folder])
    report = library.index("Guidelines")
    found = statuses(library)
    assert found["good.md"] == ("indexed", None)
    assert found["secret.pdf"][0] == "failed" and "password" in found["secret.pdf"][1]
    assert found["broken.pdf"][0] == "failed" and "damaged" in found["broken.pdf"][1]
    assert found["scan.pdf"] == ("skipped", indexer.NO_TEXT_PDF_REASON)
    assert found["empty.txt"][0] == "skipped" and "empty" in found["empty.txt"][1]
    assert found["data.txt"][0] == "skipped" and "binary" in found["data.txt"][1]
    assert found["bomb.docx"][0] == "failed" and "zip bomb" in found["bomb.docx"][1]
    assert found["old.doc"][0] == "skipped" and ".docx" in found["old.doc"][1]
    assert (report.indexed, report.skipped, report.failed) == (1, 4, 3)
    assert library.search(["Guidelines"], "salbutamol spacer")[0].file_name == "good.md"


def test_a_2000_page_pdf_with_the_fact_near_the_end(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    pdf = docs.write_long_pdf(
        tmp_path / "bundle.pdf",
        2000,
        {
            3: "Index of exhibits for the hearing.",
            1999: "Exhibit 77: the delivery note was signed by the warehouse manager on "
            "12 May 2019, which proves the goods arrived.",
        },
    )
    pages_seen: list[int] = []

    def on_progress(progress: IndexProgress) -> None:
        if progress.current_page:
            pages_seen.append(progress.current_page)

    library.add_paths("Guidelines", [pdf])
    report = library.index("Guidelines", IndexingState(on_progress=on_progress))
    assert report.pages == 2000 and report.indexed == 1
    (status, reason) = statuses(library)["bundle.pdf"]
    assert status == "indexed" and reason is not None and "1998 of 2000 pages" in reason
    hit = library.search(["Guidelines"], "who signed the delivery note?")[0]
    assert hit.page == 1999 and "warehouse manager" in hit.text
    assert pages_seen and pages_seen[-1] == 2000  # progress went through every page


def test_readding_a_changed_file_replaces_its_passages(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    note = tmp_path / "policy.txt"
    note.write_text("Visiting hours are from 2 pm to 4 pm on weekdays.\n")
    library.add_paths("Guidelines", [note])
    library.index("Guidelines")
    note.write_text("Visiting hours are now from 10 am to 8 pm every day, including weekends.\n")
    library.add_paths("Guidelines", [note])
    report = library.index("Guidelines")
    assert report.indexed == 1
    [file] = library.files("Guidelines")
    assert file.chunks == 1 and library.get("Guidelines").chunk_count == 1
    assert library.search(["Guidelines"], "weekdays", mode="bm25") == []  # the old words are gone
    assert "weekends" in library.search(["Guidelines"], "visiting hours")[0].text


def test_the_same_file_twice_or_a_copy_is_not_duplicated(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    original = docs.write_markdown(tmp_path / "asthma.md")
    library.add_paths("Guidelines", [original, original])
    library.index("Guidelines")
    copy = tmp_path / "copy-of-asthma.md"
    shutil.copy(original, copy)
    library.add_paths("Guidelines", [original, copy])
    report = library.index("Guidelines")
    assert (report.indexed, report.unchanged, report.skipped) == (0, 1, 1)
    found = statuses(library)
    assert found["copy-of-asthma.md"] == (
        "skipped",
        "Same content as 'asthma.md', which is already in this collection.",
    )
    hits = library.search(["Guidelines"], "salbutamol", k=5)
    assert len({h.text for h in hits}) == len(hits)  # each passage once
    assert all(h.file_name == "asthma.md" for h in hits)


def test_refresh_drops_deleted_files_and_picks_up_new_ones(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "a.txt").write_text("Letter A is about the knee operation.\n")
    (folder / "b.txt").write_text("Letter B is about the hearing aid.\n")
    library.add_paths("Guidelines", [folder])
    library.index("Guidelines")
    (folder / "a.txt").unlink()
    (folder / "c.txt").write_text("Letter C is about the cataract surgery.\n")
    result = library.refresh("Guidelines")
    assert [p.name for p in result.removed] == ["a.txt"]
    assert [f.name for f in result.pending] == ["c.txt"]
    library.index("Guidelines")
    assert sorted(statuses(library)) == ["b.txt", "c.txt"]
    assert library.search(["Guidelines"], "knee operation", mode="bm25") == []


def test_cancel_keeps_what_was_indexed_and_the_next_run_resumes(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES * 4, filler=3)
    library.add_paths("Guidelines", [pdf])
    cancel = Cancellation()

    def stop_after_two_batches(progress: IndexProgress) -> None:
        if progress.chunks_done >= 32:
            cancel.set()

    state = IndexingState(on_progress=stop_after_two_batches, cancel=cancel)
    first = library.index("Guidelines", state)
    assert first.cancelled and first.chunks == 32
    [file] = library.files("Guidelines")
    assert file.status == "indexing" and file.chunks == 32
    assert library.search(["Guidelines"], "hand hygiene")[0].page == 2  # already searchable
    second = library.index("Guidelines")
    assert not second.cancelled and second.indexed == 1
    [file] = library.files("Guidelines")
    assert file.status == "indexed"
    assert second.chunks == file.chunks - 32  # only the rest was embedded
    store = library.store
    ordinals = [c.ordinal for c in store.neighbours(_first_chunk_id(library), 0, 10_000)]
    assert ordinals == list(range(file.chunks))  # no gaps, no duplicates


def _first_chunk_id(library: DocumentLibrary) -> int:
    ids, _ = library.store.load_vectors(library.get("Guidelines").id, 384)
    return int(ids.min())


def test_a_file_that_vanishes_during_indexing_fails_and_the_rest_goes_on(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text(f"File {name} talks about topic {name[0]}.\n")

    def delete_b(file: DocumentFile) -> None:
        if file.name == "a.txt":
            (folder / "b.txt").unlink()

    library.add_paths("Guidelines", [folder])
    report = library.index("Guidelines", IndexingState(on_file=delete_b))
    found = statuses(library)
    assert found["b.txt"][0] == "failed" and "moved or deleted" in found["b.txt"][1]
    assert found["a.txt"][0] == found["c.txt"][0] == "indexed"
    assert (report.indexed, report.failed) == (2, 1)


def test_an_unrelated_question_finds_nothing_relevant(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    library.add_paths("Guidelines", [docs.write_pdf(tmp_path / "g.pdf", docs.GUIDELINE_PAGES)])
    library.index("Guidelines")
    hits = library.search(["Guidelines"], "What is the capital city of Mongolia?")
    assert hits and not any(h.relevant for h in hits)


def test_keyword_search_finds_exact_codes_that_vectors_miss(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    note = tmp_path / "cases.txt"
    note.write_text(
        "\n\n".join(
            f"Case file {code} concerns a dispute between neighbours about a fence."
            for code in ("ZX-4471", "QR-9302", "LM-1188", "TT-5520")
        )
    )
    library.add_paths("Guidelines", [note])
    library.index("Guidelines")
    hits = library.search(["Guidelines"], "QR-9302", mode="bm25")
    assert hits and "QR-9302" in hits[0].text


def test_the_source_viewer_gets_the_passage_in_its_context(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    pdf = docs.write_pdf(tmp_path / "g.pdf", docs.GUIDELINE_PAGES)
    library.add_paths("Guidelines", [pdf])
    library.index("Guidelines")
    hit = library.search(["Guidelines"], "antibiotics within one hour")[0]
    context = library.passage_context(hit.chunk_id, around=1)
    assert context.text[context.start : context.end] == hit.text
    assert len(context.chunks) == 3 and context.chunks[1].id == hit.chunk_id
    assert "Venous thromboembolism" in context.text and "Delirium" in context.text


def test_a_collection_needs_an_embedding_model(library: DocumentLibrary) -> None:
    with pytest.raises(LocalAIError, match="already have a collection"):
        library.create("Guidelines")
    for model in library.embedding_models():
        library.registry.remove(model.id)
    with pytest.raises(LocalAIError, match="needs an embedding model"):
        library.create("Other")
    with pytest.raises(LocalAIError, match="no longer in your models"):
        library.search(["Guidelines"], "anything")


def test_deleting_a_collection_leaves_the_files_alone(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    note = docs.write_markdown(tmp_path / "asthma.md")
    library.add_paths("Guidelines", [note])
    library.index("Guidelines")
    library.delete("Guidelines")
    assert note.is_file()
    assert library.list() == []
    raw = library.store._db.engine.raw_connection()
    try:
        rows = raw.execute("SELECT count(*) FROM doc_chunks_fts").fetchone()[0]
    finally:
        raw.close()
    assert rows == 0


def test_a_second_indexing_run_of_the_same_collection_is_refused(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    library.add_paths("Guidelines", [docs.write_markdown(tmp_path / "asthma.md")])
    refusals: list[str] = []

    def try_again(_progress: IndexProgress) -> None:
        if not refusals:
            with pytest.raises(LocalAIError) as caught:
                library.index("Guidelines")
            refusals.append(caught.value.message)

    report = library.index("Guidelines", IndexingState(on_progress=try_again))
    assert report.indexed == 1
    assert refusals == [
        "The collection 'Guidelines' is already being indexed. "
        "Wait for it to finish; new files are picked up by the next run."
    ]
    assert library.index("Guidelines").indexed == 0  # free again afterwards


def test_progress_and_stop_reach_through_long_stretches_of_blank_pages(
    library: DocumentLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer, "PROGRESS_SECONDS", 0.0)
    pdf = docs.write_long_pdf(tmp_path / "scans.pdf", 1500, {1490: "The only typed page."})
    cancel = Cancellation()
    pages: list[int] = []

    def on_progress(progress: IndexProgress) -> None:
        if progress.current_page:
            pages.append(progress.current_page)
            assert progress.current_file_pages == 1500
        if progress.current_page and progress.current_page >= 700:
            cancel.set()

    library.add_paths("Guidelines", [pdf])
    report = library.index("Guidelines", IndexingState(on_progress=on_progress, cancel=cancel))
    assert report.cancelled and 700 <= max(pages) < 1490
    assert pages == sorted(pages)  # the page only ever moves forward
    assert library.index("Guidelines").indexed == 1  # and the next run finishes it


def test_a_search_only_returns_passages_of_the_collections_asked(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    library.create("Other")
    mine = tmp_path / "mine.txt"
    mine.write_text("The gazebo permit was granted, among many other unrelated matters.\n")
    library.add_paths("Guidelines", [mine])
    for number in range(6):  # more and better keyword matches in the other collection
        other = tmp_path / f"other-{number}.txt"
        other.write_text(f"Gazebo gazebo permit {number}: the gazebo permit for gazebo {number}.\n")
        library.add_paths("Other", [other])
    library.index("Guidelines")
    library.index("Other")
    collection = library.get("Guidelines")
    # One candidate per list: the other collection's six matches fill the first fetch, so the
    # search has to ask SQLite to filter by collection.
    hits = library.retriever.search([collection], "gazebo permit", k=1, candidates=1, mode="bm25")
    assert [h.file_name for h in hits] == ["mine.txt"]
    both = library.search(["Guidelines", "Other"], "gazebo permit", k=7, mode="bm25")
    assert {h.collection_name for h in both} == {"Guidelines", "Other"} and len(both) == 7


def test_everyday_words_only_rank_passages_that_hold_a_rarer_word_of_the_question(
    library: DocumentLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    collection = library.get("Guidelines")
    library.store.set_dimension(collection.id, 384)
    texts = [
        f"Ward round {n}: the ward round was quiet and the notes were filed." for n in range(30)
    ]
    texts += [
        "The gazebo permit was discussed on the ward round.",
        "The gazebo permit, the gazebo fence and the ward round were discussed.",
        "Gazebo, gazebo, gazebo: the ward asked about the gazebo permit again.",
        "A gazebo permit was granted.",
    ]
    file = library.store.upsert_file(collection.id, Path("/notes/ward.txt"), None)
    vectors = np.random.default_rng(0).standard_normal((len(texts), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(i, text, None, None, 0) for i, text in enumerate(texts)]
    library.store.add_chunks(collection.id, file.id, chunks, vectors, chunks=len(texts))
    # As in a big collection: "ward" and "round" are in most passages, "gazebo" in few.
    monkeypatch.setattr(retrieval, "SPLIT_ABOVE_MATCHES", 0)
    monkeypatch.setattr(retrieval, "COMMON_WORD_SHARE", 0.5)
    words = retrieval.keyword_terms("the gazebo on the ward round")
    counts, passages = library.store.passages_with_terms(words)
    assert counts == [4, 33, 32] and passages == 34

    everything = library.store.keyword_search_everywhere(retrieval.any_of(words), 50)
    with_gazebo = {cid for cid, _ in library.store.keyword_search_everywhere('"gazebo"', 50)}
    split = retrieval.bm25_ranked(
        library.store.keyword_search_everywhere, words, counts, passages, 50
    )
    # Passages with the rare word keep the full query's scores and order; the others go.
    expected = [(cid, score) for cid, score in everything if cid in with_gazebo]
    assert [cid for cid, _ in split] == [cid for cid, _ in expected]
    assert [score for _, score in split] == pytest.approx([score for _, score in expected])
    hits = library.search(["Guidelines"], "the gazebo on the ward round", k=10, mode="bm25")
    assert len(hits) == 4 and all("gazebo" in h.text.lower() for h in hits)
    # A word found nowhere is no rare word: everyday words alone still find passages.
    hits = library.search(["Guidelines"], "the ward round at dusk", k=10, mode="bm25")
    assert len(hits) == 10 and all("ward" in h.text.lower() for h in hits)


def test_models_trained_with_query_prefixes_get_them() -> None:
    assert prefixes_for(Path("nomic-embed-text-v1.5.Q8_0.gguf")) == (
        "search_query: ",
        "search_document: ",
    )
    assert prefixes_for(Path("bge-small-en-v1.5-q8_0.gguf"))[0].startswith("Represent this")
    assert prefixes_for(Path("multilingual-e5-small-q8.gguf")) == ("query: ", "passage: ")
    assert prefixes_for(Path(MINILM)) == ("", "")
