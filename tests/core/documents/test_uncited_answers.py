"""An answer from documents that cites none of its passages is told apart from one that does."""

from __future__ import annotations

from localai_desktop.core.documents.grounding import cited_source_numbers, cites_nothing

SOURCES = [{"n": 1}, {"n": 2}, {"n": 3}]


def test_citation_markers_are_read_in_the_forms_answers_use() -> None:
    answer = "Visiting ends at 8 pm [2]. Dosing is weight-based [1, 3][3]. See [7] and [x]."
    assert cited_source_numbers(answer, len(SOURCES)) == {1, 2, 3}


def test_an_answer_with_no_marker_or_only_unknown_numbers_cites_nothing() -> None:
    assert cites_nothing("The dose is 5 mg.", SOURCES)
    assert cites_nothing("The dose is 5 mg [9].", SOURCES)  # no such passage
    assert not cites_nothing("The dose is 5 mg [1].", SOURCES)
    assert not cites_nothing("The dose is 5 mg.", [])  # nothing was found to cite
    assert not cites_nothing("", SOURCES)  # nothing written (failed or stopped at once)
