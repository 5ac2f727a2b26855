"""Each scoring rule passes a good answer and fails a bad one; abstentions are recognised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.documents.embedder import Embedder
from localai_desktop.core.documents.sentence_support import check_answer, is_abstention
from localai_desktop.core.evaluation.scoring import score_answer
from localai_desktop.core.evaluation.testset import parse_jsonl
from tests.support.documents_support import GUIDELINE_PAGES


def question(expect: str, extra: str = "") -> object:
    return parse_jsonl(f'{{"id": "q", "question": "?", "expect": {expect}{extra}}}')[0]


SEPSIS = {"n": 1, "file_name": "guideline.pdf", "page": 7, "text": GUIDELINE_PAGES[6]}
FALLS = {"n": 2, "file_name": "guideline.pdf", "page": 3, "text": GUIDELINE_PAGES[2]}


@pytest.fixture(scope="module")
def similarity(models_dir: Path) -> Iterator[object]:
    embedder = Embedder(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf")

    def cosine(a: str, b: str) -> float:
        vectors = embedder.embed_texts([a, b])
        return float(vectors[0] @ vectors[1])

    yield cosine
    embedder.close()


def test_contains_ignores_case_and_thousands_separators_but_wants_whole_words() -> None:
    q = question('{"contains": ["One hour", "1200"]}')
    assert score_answer(q, "Within one hour; rent is 1,200 euros.").passed
    failed = score_answer(q, "Within one hours; rent is 12000.")
    assert not failed.passed and failed.reason == "It does not contain 'One hour', '1200'."


def test_regex_passes_a_match_and_fails_without_one() -> None:
    q = question('{"regex": "\\\\b\\\\d+ hours?\\\\b"}')
    assert score_answer(q, "Turn them every 2 hours.").passed
    assert not score_answer(q, "Turn them often.").passed


def test_similar_to_uses_the_embedding_model_and_its_threshold(similarity: object) -> None:
    q = question('{"similar_to": "Antibiotics are given within an hour of recognising sepsis."}')
    close = score_answer(
        q, "Give antibiotics within one hour once sepsis is recognised.", similarity=similarity
    )
    far = score_answer(q, "The cat sat on the mat and purred.", similarity=similarity)
    assert close.passed and close.similarity is not None and close.similarity >= 0.8
    assert not far.passed and far.similarity is not None and far.similarity < 0.3
    assert "below the 0.8 needed" in far.reason


@pytest.mark.parametrize(
    "answer",
    [
        "The documents do not say.",
        "The provided sources don't mention the capital of Mars.",
        "I don't know; this is not mentioned in the documents.",
        "There is no information about that in your files.",
        "I’m sorry, but I cannot find that in the passages. The sources do not contain it.",
        "That cannot be determined from the sources given.",
    ],
)
def test_abstentions_are_recognised(answer: str) -> None:
    assert is_abstention(answer)
    assert score_answer(question('{"abstain": true}'), answer).passed


@pytest.mark.parametrize(
    "answer",
    [
        "The capital of Mars is Olympus City.",
        "The documents do not say, but it is probably Olympus City.",
        "Documents say the ward is not open on Sundays.",  # a "not" that is no abstention
    ],
)
def test_an_answer_instead_of_an_abstention_is_made_up(answer: str) -> None:
    verdict = score_answer(question('{"abstain": true}'), answer)
    assert not verdict.passed and verdict.made_up
    assert "(made up)" in verdict.reason


def test_the_required_source_must_be_cited_and_citations_must_hold() -> None:
    q = question('{"contains": ["one hour"]}', ', "source": {"file": "guideline.pdf", "page": 7}')
    good = "Antibiotics are given within one hour of recognising sepsis [1]."
    support = check_answer(good, [SEPSIS, FALLS])
    verdict = score_answer(q, good, sources=[SEPSIS, FALLS], support=support)
    assert verdict.passed and verdict.citation_ok is True
    assert "It cites guideline.pdf, page 7." in verdict.reason
    wrong = "Antibiotics are given within one hour of recognising sepsis [2]."
    support = check_answer(wrong, [SEPSIS, FALLS])
    verdict = score_answer(q, wrong, sources=[SEPSIS, FALLS], support=support)
    assert not verdict.passed and verdict.citation_ok is False
    assert "does not cite guideline.pdf, page 7 (it cites guideline.pdf, page 3)" in verdict.reason
