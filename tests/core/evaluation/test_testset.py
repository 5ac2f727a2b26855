"""Test sets read from JSONL and CSV; every bad line is named with its number."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.core.evaluation.testset import (
    Rule,
    TestSetError,
    parse_csv,
    parse_jsonl,
    read_test_set,
    write_csv,
    write_jsonl,
)

GOOD = "\n".join(
    [
        '{"id": "q1", "question": "How fast?", "expect": {"contains": ["one hour"]}}',
        '{"id": "q2", "question": "Pattern?", "expect": {"regex": "\\\\d+ hours?"}}',
        '{"id": "q3", "question": "Meaning?", "expect": {"similar_to": "Soon.", "threshold": 0.7}}',
        '{"id": "q4", "question": "Mars?", "expect": {"abstain": true}, "collection": "Ward",'
        ' "source": {"file": "g.pdf", "page": 3}}',
    ]
)


def test_every_rule_is_read_from_jsonl() -> None:
    questions = parse_jsonl(GOOD)
    assert [q.expect.rule for q in questions] == [
        Rule.CONTAINS,
        Rule.REGEX,
        Rule.SIMILAR_TO,
        Rule.ABSTAIN,
    ]
    assert questions[0].expect.contains == ("one hour",)
    assert questions[2].expect.threshold == 0.7
    assert questions[3].collection == "Ward" and questions[3].source is not None
    assert (questions[3].source.file, questions[3].source.page) == ("g.pdf", 3)


def test_malformed_lines_are_reported_with_their_numbers_and_nothing_is_returned() -> None:
    text = GOOD + "\n{not json\n" + '{"id": "q9", "question": "x", "expect": {"regex": "("}}\n'
    text += '{"id": "q1", "question": "again", "expect": {"abstain": true}}\n'
    text += '{"question": "no id", "expect": {"abstain": true}}\n'
    with pytest.raises(TestSetError) as caught:
        parse_jsonl(text, name="tests.jsonl")
    problems = caught.value.problems
    assert any(p.startswith("line 5: not valid JSON") for p in problems)
    assert any(p.startswith("line 6: 'regex' is not a valid pattern") for p in problems)
    assert any(p.startswith("line 8: 'id' is missing") for p in problems)
    assert any("'q1' is used twice" in p for p in problems)
    assert "nothing was run" in caught.value.message and "tests.jsonl" in caught.value.message


@pytest.mark.parametrize(
    ("expect", "says"),
    [
        ('{"contains": []}', "'contains' must be a list"),
        ('{"similar_to": "x", "threshold": 2}', "'threshold' must be a number"),
        ('{"abstain": false}', "'abstain' must be true"),
        ('{"contains": ["a"], "regex": "b"}', "exactly one of"),
        ('{"regex": "a", "threshold": 0.5}', "unknown field 'threshold'"),
    ],
)
def test_a_bad_expectation_says_what_is_wrong(expect: str, says: str) -> None:
    with pytest.raises(TestSetError) as caught:
        parse_jsonl(f'{{"id": "q", "question": "?", "expect": {expect}}}')
    assert caught.value.problems[0].startswith("line 1: ") and says in caught.value.problems[0]


def test_csv_round_trips_and_bad_rows_name_their_line(tmp_path: Path) -> None:
    questions = parse_jsonl(GOOD)
    path = tmp_path / "set.csv"
    path.write_text(write_csv(questions), encoding="utf-8")
    assert read_test_set(path) == questions
    assert parse_jsonl(write_jsonl(questions)) == questions
    bad = (
        "id,question,contains,source_page,source_file\n"
        "q1,Fine?,yes,,\nq2,,yes,,\nq3,P?,x,three,a.pdf\n"
    )
    with pytest.raises(TestSetError) as caught:
        parse_csv(bad)
    assert caught.value.problems == (
        "line 3: 'question' is missing or empty",
        "line 4: source_page 'three' is not a page number",
    )


def test_an_empty_or_missing_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(TestSetError, match="no questions"):
        read_test_set(empty)
    with pytest.raises(Exception, match="There is no test set file"):
        read_test_set(tmp_path / "missing.jsonl")
