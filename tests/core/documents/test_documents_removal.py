"""Taking documents out of a collection: their passages leave search and the database files."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.audit.entries import DOCUMENT_REMOVED
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.grounding import ground_retrieved, retrieve
from localai_desktop.core.documents.indexer import IndexingState, IndexProgress
from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import documents_support as docs

MINILM = "all-MiniLM-L6-v2-Q8_0.gguf"
# A word only the wrong patient's letter holds: the keyword index must not know it afterwards.
CODE = "ZX81QK"
WRONG_LETTER = (
    f"Discharge letter for patient {CODE}. The patient was treated for a fractured wrist "
    "and goes home with a cast; the plaster clinic sees her again in six weeks."
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "data" / "localai.db")
    yield database
    database.close()


@pytest.fixture
def library(db: Database, tmp_path: Path, models_dir: Path) -> Iterator[DocumentLibrary]:
    registry = ModelRegistry(db, tmp_path / "data" / "models")
    registry.import_model(models_dir / MINILM, name="minilm", probe=False)
    library = DocumentLibrary(db, registry, audit=AuditTrail(db))
    library.create("Patient 12")
    yield library
    library.close()


def index_terms(database_file: Path, term: str) -> int:
    """How many passages the FTS5 index itself lists for `term` (read from the file)."""
    raw = sqlite3.connect(database_file)
    try:
        raw.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, doc_chunks_fts, 'row')")
        row = raw.execute("SELECT doc FROM temp.terms WHERE term = ?", (term,)).fetchone()
        raw.execute("INSERT INTO doc_chunks_fts(doc_chunks_fts) VALUES ('integrity-check')")
        return int(row[0]) if row else 0
    finally:
        raw.close()


def stored_rows(database_file: Path, sql: str, *args: object) -> int:
    raw = sqlite3.connect(database_file)
    try:
        return int(raw.execute(sql, args).fetchone()[0])
    finally:
        raw.close()


def passages_of(database_file: Path, file_id: int) -> int:
    """Passages (with their vectors) the database file holds for a file."""
    return stored_rows(database_file, "SELECT count(*) FROM doc_chunks WHERE file_id = ?", file_id)


def test_a_removed_document_is_no_longer_found_nor_in_the_database(
    library: DocumentLibrary, db: Database, tmp_path: Path
) -> None:
    wrong = tmp_path / "letter-wrong-patient.txt"
    wrong.write_text(WRONG_LETTER, encoding="utf-8")
    right = docs.write_markdown(tmp_path / "asthma.md")
    library.add_paths("Patient 12", [wrong, right])
    library.index("Patient 12")
    assert library.search(["Patient 12"], CODE, mode="bm25")[0].file_name == wrong.name
    assert index_terms(db.path, CODE.lower()) == 1
    [file_id] = [f.id for f in library.files("Patient 12") if f.name == wrong.name]

    removed = library.remove_files("Patient 12", [wrong.name])

    assert [f.name for f in removed] == [wrong.name]
    assert [f.name for f in library.files("Patient 12")] == ["asthma.md"]
    # Neither the keywords nor the meaning of the letter can be found any more.
    assert library.search(["Patient 12"], CODE, mode="bm25") == []
    meaning = library.search(["Patient 12"], "fractured wrist in a plaster cast", k=5)
    assert meaning and all(hit.file_name == "asthma.md" for hit in meaning)
    # Nor is anything of it left in the database file: passages, vectors, keyword index.
    assert index_terms(db.path, CODE.lower()) == 0
    assert index_terms(db.path, "plaster") == 0
    assert passages_of(db.path, file_id) == 0
    assert stored_rows(db.path, "SELECT count(*) FROM doc_files WHERE id = ?", file_id) == 0
    # The other document is untouched, and so is the file on disk.
    assert library.search(["Patient 12"], "salbutamol spacer")[0].file_name == "asthma.md"
    assert wrong.read_text(encoding="utf-8") == WRONG_LETTER
    # The audit trail records the removal by the file's sha256, never by its name or text.
    [entry] = [e for e in AuditTrail(db).entries() if e.kind == DOCUMENT_REMOVED]
    assert entry.facts["file_sha256"] == removed[0].sha256
    assert wrong.name not in str(entry.facts) and CODE not in str(entry.facts)


def test_several_files_go_by_path_name_or_id_and_an_unknown_one_removes_nothing(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "letters"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        (folder / name).write_text(f"Letter {name} about the knee.\n", encoding="utf-8")
    library.add_paths("Patient 12", [folder])
    library.index("Patient 12")
    by_name = {f.name: f for f in library.files("Patient 12")}

    with pytest.raises(NotFoundError) as unknown:
        library.remove_files("Patient 12", ["a.txt", "missing.pdf"])
    assert "'missing.pdf' is not in the collection 'Patient 12'" in unknown.value.message
    assert "nothing was removed" in unknown.value.message
    assert len(library.files("Patient 12")) == 4

    removed = library.remove_files(
        "Patient 12", ["a.txt", str(folder / "b.txt"), by_name["c.txt"].id, "a.txt"]
    )
    assert sorted(f.name for f in removed) == ["a.txt", "b.txt", "c.txt"]
    assert [f.name for f in library.files("Patient 12")] == ["d.txt"]


def test_a_name_two_files_share_asks_for_the_path(library: DocumentLibrary, tmp_path: Path) -> None:
    for folder in ("2023", "2024"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "letter.txt").write_text(f"Letter of {folder}.\n", encoding="utf-8")
    library.add_paths("Patient 12", [tmp_path / "2023", tmp_path / "2024"])
    with pytest.raises(LocalAIError) as ambiguous:
        library.remove_files("Patient 12", ["letter.txt"])
    assert "Several files of 'Patient 12' are called 'letter.txt'" in ambiguous.value.message
    assert ambiguous.value.todo == "Give the full path of the one to remove."
    [removed] = library.remove_files("Patient 12", [tmp_path / "2023" / "letter.txt"])
    assert removed.path.parent.name == "2023"


def test_removing_a_document_while_it_is_indexed_does_not_bring_it_back(
    library: DocumentLibrary, db: Database, tmp_path: Path
) -> None:
    wrong = docs.write_pdf(tmp_path / "wrong-patient.pdf", docs.GUIDELINE_PAGES * 2, filler=3)
    later = tmp_path / "x-ray-wrong-patient.txt"  # after the PDF: not reached yet
    later.write_text(WRONG_LETTER, encoding="utf-8")
    right = docs.write_markdown(tmp_path / "asthma.md")
    library.add_paths("Patient 12", [wrong, later, right])
    library.indexer.batch_chunks = 4  # several batches of the PDF, so it is caught mid-way
    ids = {f.name: f.id for f in library.files("Patient 12")}
    mid_way, removed_now = threading.Event(), threading.Event()

    def pause_mid_pdf(progress: IndexProgress) -> None:
        mid_pdf = progress.current_file == wrong.name and progress.chunks_done >= 8
        if mid_pdf and not mid_way.is_set():
            mid_way.set()
            assert removed_now.wait(60)

    outcome: dict[str, object] = {}

    def index() -> None:
        outcome["report"] = library.index("Patient 12", IndexingState(on_progress=pause_mid_pdf))

    run = threading.Thread(target=index)
    run.start()
    try:
        assert mid_way.wait(120)
        assert passages_of(db.path, ids[wrong.name]) >= 8  # the run had stored some of it
        # The person removes the PDF being indexed and the file the run has not reached yet.
        library.remove_files("Patient 12", [wrong.name, later.name])
    finally:
        removed_now.set()
        run.join(300)
    report = outcome["report"]
    assert not report.cancelled  # type: ignore[attr-defined]
    assert [f.name for f in report.files] == ["asthma.md"]  # type: ignore[attr-defined]
    assert report.indexed == 1 and report.failed == 0  # type: ignore[attr-defined]
    assert [(f.name, f.status) for f in library.files("Patient 12")] == [("asthma.md", "indexed")]
    for file_id in (ids[wrong.name], ids[later.name]):
        assert passages_of(db.path, file_id) == 0
    assert index_terms(db.path, "antibiot") == 0 and index_terms(db.path, CODE.lower()) == 0
    assert library.search(["Patient 12"], "antibiotics in sepsis", mode="bm25") == []


def test_answers_that_quoted_a_removed_document_keep_their_quotes(
    library: DocumentLibrary, db: Database, tmp_path: Path
) -> None:
    wrong = tmp_path / "letter-wrong-patient.txt"
    wrong.write_text(WRONG_LETTER, encoding="utf-8")
    library.add_paths("Patient 12", [wrong])
    library.index("Patient 12")
    question = "When is the plaster clinic?"
    retrieval = retrieve(library, question, ["Patient 12"])
    _, facts = ground_retrieved(
        [ChatTurn("user", question)], retrieval, tokenize=str.split, n_ctx=2048, max_tokens=100
    )
    store = ConversationStore(db)
    conversation = store.create(title="Follow-up")
    store.add_message(conversation.id, "user", question)
    answer = store.add_message(conversation.id, "assistant", "In six weeks [1].", provenance=facts)

    library.remove_files("Patient 12", [wrong.name])

    [kept] = [m for m in store.get(conversation.id).messages if m.id == answer.id]
    [source] = kept.provenance["sources"]
    assert source["file_name"] == wrong.name and "six weeks" in source["text"]
