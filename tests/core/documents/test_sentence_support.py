"""The grounding check: each sentence of an answer against the passages it cites."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.documents.embedder import Embedder
from localai_desktop.core.documents.sentence_support import (
    SupportReport,
    check_answer,
    split_sentences,
)
from tests.support.documents_support import GUIDELINE_PAGES

SOURCES = [{"n": i + 1, "text": text} for i, text in enumerate(GUIDELINE_PAGES[5:9])]


@pytest.fixture(scope="module")
def embed(models_dir: Path) -> Iterator[object]:
    embedder = Embedder(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf")
    yield embedder.embed_texts
    embedder.close()


def test_a_quoted_sentence_passes_and_one_made_up_on_purpose_is_flagged(embed: object) -> None:
    answer = (
        "Broad-spectrum antibiotics are given within one hour of recognising sepsis [2]. "
        "Sepsis patients also receive a free parking permit for their family [2]."
    )
    report = check_answer(answer, SOURCES, embed=embed)
    quoted, made_up = report.claims
    assert quoted.supported and quoted.cited_support and quoted.source == 2
    assert not made_up.supported
    assert "'free', 'parking'" in made_up.explanation
    assert report.summary == "1 of 2 sentences supported by the passages"


def test_a_changed_number_and_a_negation_are_flagged() -> None:
    report = check_answer(
        "Antibiotics are given within 48 hours of recognising sepsis [2]. "
        "Confusion is not screened with the 4AT test [3].",
        SOURCES,
    )
    number, negated = report.claims
    assert not number.supported and "number 48" in number.explanation
    assert not negated.supported and "opposite" in negated.explanation


def test_support_from_a_passage_it_does_not_cite_is_said() -> None:
    answer = "A discharge letter goes to the family doctor within 24 hours [1]."
    report = check_answer(answer, SOURCES)
    [claim] = report.claims
    assert claim.supported and not claim.cited_support and claim.source == 4
    assert "not by the one it cites ([1])" in claim.explanation


def test_abstentions_and_questions_are_not_counted_as_claims() -> None:
    report = check_answer("The documents do not say. Do you mean delirium?", SOURCES)
    assert report.claims == () and report.summary == "0 of 0 sentences supported by the passages"


def test_sentences_are_split_after_citations_and_not_after_abbreviations() -> None:
    assert split_sentences("Dr. Lee agrees [1]. It is 3.5 mg, e.g. daily!\n- Next point.") == [
        "Dr. Lee agrees [1].",
        "It is 3.5 mg, e.g. daily!",
        "Next point.",
    ]


def test_the_report_round_trips_through_its_stored_json() -> None:
    report = check_answer("Skin is inspected daily [1]. The moon is green [1].", SOURCES)
    assert SupportReport.from_dict(report.to_dict()) == report
