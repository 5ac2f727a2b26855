"""Only passages close enough to the question are used; measured on the ward guideline corpus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.grounding import describe_match, usable_hits
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import documents_support as docs

# Question -> the guideline page that answers it (GUIDELINE_PAGES, 1-based).
ANSWERED = {
    "When do staff wash their hands?": 2,
    "How soon is the falls risk assessed for older patients?": 3,
    "How often are patients at risk of pressure ulcers turned?": 5,
    "What is recorded about blood clot risk at admission?": 6,
    "How quickly must antibiotics be given in sepsis?": 7,
    "Which test screens for delirium?": 8,
    "When is the discharge letter sent to the GP?": 9,
    "How often is compliance audited?": 10,
}
# Close to the guideline's vocabulary, but not answered by it.
NOT_ANSWERED = (
    "What dose of noradrenaline is used in the ICU?",
    "What are the visiting hours?",
    "What is the capital city of Mongolia?",
    "How do I file my taxes?",
    "What is the maximum dose of paracetamol for adults?",
)


@pytest.fixture(scope="module")
def library(
    models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DocumentLibrary]:
    folder = tmp_path_factory.mktemp("relevance")
    db = Database(folder / "localai.db")
    registry = ModelRegistry(db, folder / "models")
    registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False)
    library = DocumentLibrary(db, registry)
    library.create("Ward guideline")
    pdf = docs.write_pdf(folder / "ward-guideline.pdf", docs.GUIDELINE_PAGES)
    library.add_paths("Ward guideline", [pdf])
    library.index("Ward guideline")
    yield library
    library.close()
    db.close()


@pytest.mark.parametrize(("question", "page"), ANSWERED.items())
def test_an_answered_question_uses_only_the_passage_that_answers_it(
    library: DocumentLibrary, question: str, page: int
) -> None:
    hits = library.search(["Ward guideline"], question, k=5)
    assert [hit.page for hit in usable_hits(hits)] == [page]
    # The search itself still lists its neighbours; they are not given to the model.
    assert len(hits) == 5


@pytest.mark.parametrize("question", NOT_ANSWERED)
def test_a_question_the_documents_do_not_cover_uses_no_passage(
    library: DocumentLibrary, question: str
) -> None:
    hits = library.search(["Ward guideline"], question, k=5)
    assert usable_hits(hits) == []


def test_the_match_is_said_in_plain_words() -> None:
    assert describe_match({"similarity": 0.67}) == "Close match (0.67)"
    assert describe_match({"similarity": 0.4}) == "Good match (0.40)"
    assert describe_match({"similarity": 0.31}) == "Partial match (0.31)"
    assert describe_match({}) == ""
