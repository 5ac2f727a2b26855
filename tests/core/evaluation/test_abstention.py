"""The abstain rule's detector on 127 hand-labelled answers: precision and recall of
"abstained" at least 0.9 each (bench/bench_abstention.py prints them and lists each miss)."""

from __future__ import annotations

import pytest

from localai_desktop.core.documents.abstention import is_abstention
from localai_desktop.core.evaluation.scoring import score_answer
from localai_desktop.core.evaluation.testset import parse_jsonl
from tests.core.evaluation.abstention_set import ABSTAINING, ANSWERING

ABSTAIN = parse_jsonl('{"id": "q", "question": "?", "expect": {"abstain": true}}')[0]


def test_the_set_is_large_and_varied_enough() -> None:
    assert len(ABSTAINING) + len(ANSWERING) >= 60
    assert len(set(ABSTAINING)) == len(ABSTAINING) and len(set(ANSWERING)) == len(ANSWERING)
    assert sum(" not " in f" {a.lower()} " for a in ANSWERING) >= 15  # "not" that answers


def test_precision_and_recall_of_abstained_are_at_least_0_9() -> None:
    found = [a for a in ABSTAINING if is_abstention(a)]
    false = [a for a in ANSWERING if is_abstention(a)]
    missed = sorted(set(ABSTAINING) - set(found))
    precision = len(found) / (len(found) + len(false))
    recall = len(found) / len(ABSTAINING)
    assert precision >= 0.9, false
    assert recall >= 0.9, missed


@pytest.mark.parametrize(
    "answer",
    [
        "The ward is on the second floor [2], but the sources do not mention its opening hours.",
        "I could not find the monthly rent in the documents.",
    ],
)
def test_an_answer_that_abstains_passes_the_abstain_rule(answer: str) -> None:
    verdict = score_answer(ABSTAIN, answer)
    assert verdict.passed and verdict.abstained and not verdict.made_up


@pytest.mark.parametrize(
    "answer",
    [
        "The dose is not above 5 mg; it is 4 mg.",
        "The passages do not state the rent. It is likely around 1,000 euros a month.",
        "The contract does not say 'monthly'; it says the rent is paid every quarter [1].",
    ],
)
def test_an_answer_with_not_or_a_guess_after_abstaining_is_made_up(answer: str) -> None:
    verdict = score_answer(ABSTAIN, answer)
    assert not verdict.passed and verdict.made_up
    assert "(made up)" in verdict.reason
