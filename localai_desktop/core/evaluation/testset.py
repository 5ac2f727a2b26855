"""Test sets: questions with what a good answer must do, read from JSONL or CSV and checked.

A JSONL line: ``{"id": "q1", "question": "...", "expect": {"contains": ["..."]}}`` where
"expect" holds one rule: "contains" (words or numbers, all required), "regex", "similar_to"
(a reference answer, with an optional "threshold", default 0.8) or "abstain": true; optional
"collection" (a document collection's name) and "source" ({"file": "name.pdf", "page": 3}).
A CSV has a header row with the columns id, question, contains (several separated by "|"),
regex, similar_to, threshold, abstain, collection, source_file, source_page. Every problem of
every line is collected and reported with its line number; nothing runs until there are none.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localai_desktop.core.common.enums import StrEnum
from localai_desktop.core.common.errors import LocalAIError, NotFoundError

DEFAULT_SIMILARITY_THRESHOLD = 0.8
MAX_QUESTIONS = 10_000
CSV_COLUMNS = (
    "id",
    "question",
    "contains",
    "regex",
    "similar_to",
    "threshold",
    "abstain",
    "collection",
    "source_file",
    "source_page",
)


class Rule(StrEnum):
    """What a good answer must do."""

    CONTAINS = "contains"
    REGEX = "regex"
    SIMILAR_TO = "similar_to"
    ABSTAIN = "abstain"


@dataclass(frozen=True)
class Expectation:
    rule: Rule
    contains: tuple[str, ...] = ()
    regex: str = ""
    similar_to: str = ""
    threshold: float = DEFAULT_SIMILARITY_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        if self.rule is Rule.CONTAINS:
            return {"contains": list(self.contains)}
        if self.rule is Rule.REGEX:
            return {"regex": self.regex}
        if self.rule is Rule.SIMILAR_TO:
            return {"similar_to": self.similar_to, "threshold": self.threshold}
        return {"abstain": True}

    def describe(self) -> str:
        if self.rule is Rule.CONTAINS:
            return "contains " + ", ".join(f"'{w}'" for w in self.contains)
        if self.rule is Rule.REGEX:
            return f"matches /{self.regex}/"
        if self.rule is Rule.SIMILAR_TO:
            return f"close in meaning to '{self.similar_to}' (at least {self.threshold:g})"
        return "says the documents do not hold the answer"


@dataclass(frozen=True)
class RequiredSource:
    file: str
    page: int | None = None

    def describe(self) -> str:
        return self.file + (f", page {self.page}" if self.page is not None else "")


@dataclass(frozen=True)
class TestQuestion:
    """One question of a test set."""

    __test__ = False  # not a pytest test class

    id: str
    question: str
    expect: Expectation
    collection: str | None = None
    source: RequiredSource | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "expect": self.expect.to_dict(),
        }
        if self.collection:
            data["collection"] = self.collection
        if self.source is not None:
            data["source"] = {"file": self.source.file}
            if self.source.page is not None:
                data["source"]["page"] = self.source.page
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestQuestion:
        """A question from its JSON (ValueError with a plain reason when it is not valid)."""
        return _question(data)


class TestSetError(LocalAIError):
    """A test set file with problems; `problems` lists them as "line N: what is wrong"."""

    __test__ = False

    def __init__(self, name: str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:20])
        more = len(self.problems) - 20
        if more > 0:
            shown += f"\n  ... and {more} more"
        super().__init__(
            f"The test set '{name}' has {len(self.problems)} problem"
            f"{'s' if len(self.problems) != 1 else ''}, so nothing was run:\n{shown}",
            "Fix these lines and run it again.",
        )


def read_test_set(path: str | Path) -> list[TestQuestion]:
    """The questions of a .jsonl (or .json lines) or .csv file; TestSetError lists problems."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"There is no test set file at {path}.", "Check the path.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise TestSetError(path.name, [f"the file is not UTF-8 text ({error.reason})"]) from error
    if path.suffix.lower() == ".csv":
        return parse_csv(text, name=path.name)
    return parse_jsonl(text, name=path.name)


def parse_jsonl(text: str, *, name: str = "test set") -> list[TestQuestion]:
    questions: list[TestQuestion] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: not valid JSON ({error.msg}, column {error.colno})")
            continue
        try:
            questions.append(_question(data))
        except ValueError as error:
            problems.append(f"line {number}: {error}")
    return _checked(questions, problems, name)


def parse_csv(text: str, *, name: str = "test set") -> list[TestQuestion]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "question" not in header:
        raise TestSetError(
            name, [f"line 1: the header needs a 'question' column ({', '.join(CSV_COLUMNS)})"]
        )
    reader.fieldnames = header
    questions: list[TestQuestion] = []
    problems: list[str] = []
    try:
        for row in reader:
            number = reader.line_num
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            try:
                questions.append(_question(_row_to_dict(row, len(questions) + 1)))
            except ValueError as error:
                problems.append(f"line {number}: {error}")
    except csv.Error as error:
        problems.append(f"line {reader.line_num}: not valid CSV ({error})")
    return _checked(questions, problems, name)


def write_csv(questions: Sequence[TestQuestion]) -> str:
    """The questions as CSV text with the columns parse_csv reads."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for q in questions:
        e = q.expect
        writer.writerow(
            [
                q.id,
                q.question,
                "|".join(e.contains),
                e.regex,
                e.similar_to,
                e.threshold if e.rule is Rule.SIMILAR_TO else "",
                "yes" if e.rule is Rule.ABSTAIN else "",
                q.collection or "",
                q.source.file if q.source else "",
                q.source.page if q.source and q.source.page is not None else "",
            ]
        )
    return out.getvalue()


def write_jsonl(questions: Sequence[TestQuestion]) -> str:
    return "".join(json.dumps(q.to_dict(), ensure_ascii=False) + "\n" for q in questions)


def _checked(questions: list[TestQuestion], problems: list[str], name: str) -> list[TestQuestion]:
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            problems.append(f"the id '{q.id}' is used twice; each question needs its own")
        seen.add(q.id)
    if not questions and not problems:
        problems.append("there are no questions in it")
    if len(questions) > MAX_QUESTIONS:
        problems.append(f"it has {len(questions)} questions; at most {MAX_QUESTIONS} run at once")
    if problems:
        raise TestSetError(name, problems)
    return questions


def _row_to_dict(row: Mapping[str, Any], position: int) -> dict[str, Any]:
    def cell(key: str) -> str:
        value = row.get(key)
        return value.strip() if isinstance(value, str) else ""

    expect: dict[str, Any] = {}
    if cell("contains"):
        expect["contains"] = [p.strip() for p in cell("contains").split("|") if p.strip()]
    if cell("regex"):
        expect["regex"] = cell("regex")
    if cell("similar_to"):
        expect["similar_to"] = cell("similar_to")
        if cell("threshold"):
            try:
                expect["threshold"] = float(cell("threshold"))
            except ValueError:
                raise ValueError(f"threshold '{cell('threshold')}' is not a number") from None
    if cell("abstain").lower() in ("1", "yes", "true", "y", "x"):
        expect["abstain"] = True
    data: dict[str, Any] = {
        "id": cell("id") or f"q{position}",
        "question": cell("question"),
        "expect": expect,
    }
    if cell("collection"):
        data["collection"] = cell("collection")
    if cell("source_file"):
        source: dict[str, Any] = {"file": cell("source_file")}
        if cell("source_page"):
            if not cell("source_page").isdigit():
                raise ValueError(f"source_page '{cell('source_page')}' is not a page number")
            source["page"] = int(cell("source_page"))
        data["source"] = source
    return data


def _question(data: Any) -> TestQuestion:
    if not isinstance(data, dict):
        raise ValueError("each line must be a JSON object {...}")
    known = {"id", "question", "expect", "collection", "source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown field {', '.join(repr(k) for k in unknown)}")
    qid = data.get("id")
    if not isinstance(qid, (str, int)) or isinstance(qid, bool) or not str(qid).strip():
        raise ValueError("'id' is missing (a short name such as \"q1\")")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' is missing or empty")
    collection = data.get("collection")
    if collection is not None and (not isinstance(collection, str) or not collection.strip()):
        raise ValueError("'collection' must be a collection's name")
    return TestQuestion(
        str(qid).strip(),
        question.strip(),
        _expectation(data.get("expect")),
        collection.strip() if isinstance(collection, str) else None,
        _source(data.get("source")),
    )


def _expectation(expect: Any) -> Expectation:
    if not isinstance(expect, dict) or not expect:
        raise ValueError("'expect' is missing: give one of contains, regex, similar_to or abstain")
    rules = [r for r in Rule if r.value in expect]
    if len(rules) != 1:
        raise ValueError("'expect' needs exactly one of contains, regex, similar_to or abstain")
    extra = set(expect) - {rules[0].value, "threshold"}
    if extra or ("threshold" in expect and rules[0] is not Rule.SIMILAR_TO):
        odd = sorted(extra | ({"threshold"} if rules[0] is not Rule.SIMILAR_TO else set()))
        raise ValueError(f"'expect' has unknown field {', '.join(repr(k) for k in odd)}")
    rule = rules[0]
    value = expect[rule.value]
    if rule is Rule.CONTAINS:
        items = [value] if isinstance(value, str) else value
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, (str, int, float)) and str(i).strip() for i in items)
        ):
            raise ValueError("'contains' must be a list of words or numbers")
        return Expectation(rule, contains=tuple(str(i).strip() for i in items))
    if rule is Rule.REGEX:
        if not isinstance(value, str) or not value:
            raise ValueError("'regex' must be a pattern")
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"'regex' is not a valid pattern ({error})") from None
        return Expectation(rule, regex=value)
    if rule is Rule.SIMILAR_TO:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("'similar_to' must be a reference answer")
        threshold = expect.get("threshold", DEFAULT_SIMILARITY_THRESHOLD)
        if (
            not isinstance(threshold, (int, float))
            or isinstance(threshold, bool)
            or not 0 < threshold <= 1
        ):
            raise ValueError("'threshold' must be a number above 0 and at most 1")
        return Expectation(rule, similar_to=value.strip(), threshold=float(threshold))
    if value is not True:
        raise ValueError("'abstain' must be true")
    return Expectation(rule)


def _source(source: Any) -> RequiredSource | None:
    if source is None:
        return None
    if not isinstance(source, dict) or not isinstance(source.get("file"), str):
        raise ValueError('\'source\' must be {"file": "name.pdf", "page": 3}')
    if set(source) - {"file", "page"}:
        raise ValueError("'source' takes only 'file' and 'page'")
    page = source.get("page")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 1):
        raise ValueError("'source' page must be a page number (1 or more)")
    return RequiredSource(source["file"].strip(), page)
