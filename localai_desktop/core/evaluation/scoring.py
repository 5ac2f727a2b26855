"""Scoring one answer: did it do what the question expects, and do its citations hold?

The rules (testset.Rule): "contains" wants every given word or number (case and thousands
separators ignored, whole words only); "regex" a match of the pattern (case ignored);
"similar_to" a cosine of at least the threshold between the answer and the reference, both
embedded with the workspace's embedding model; "abstain" an answer that says the documents do
not hold it (documents.sentence_support.is_abstention). A required source must be among the
passages the answer cites. Citation accuracy uses the grounding check: an answer's citations
are accurate when it cites something, every sentence that cites a passage is supported by one
it cites, and the required source (if any) is cited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localai_desktop.core.documents.grounding import cited_source_numbers
from localai_desktop.core.documents.sentence_support import SupportReport, is_abstention
from localai_desktop.core.evaluation.testset import RequiredSource, Rule, TestQuestion

# Cosine between two texts (unit vectors from the embedding model).
Similarity = Callable[[str, str], float]


@dataclass(frozen=True)
class Verdict:
    """Whether an answer passed, and why, in plain words."""

    passed: bool
    reason: str
    abstained: bool
    made_up: bool  # the question should have been abstained from, and it was answered
    citation_ok: bool | None  # None: no passages to cite, or nothing to check
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "abstained": self.abstained,
            "made_up": self.made_up,
            "citation_ok": self.citation_ok,
            "similarity": self.similarity,
        }


def _plain(text: str) -> str:
    return re.sub(r"(?<=\d)[,\u202f\u00a0](?=\d{3}\b)", "", text.lower())


def contains_all(answer: str, items: Sequence[str]) -> list[str]:
    """The items missing from the answer (whole words; case and 1,200 vs 1200 ignored)."""
    plain = _plain(answer)
    missing: list[str] = []
    for item in items:
        pattern = r"(?<!\w)" + re.escape(_plain(item)) + r"(?!\w)"
        if re.search(pattern, plain) is None:
            missing.append(item)
    return missing


def cited_sources(answer: str, sources: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The passages (provenance source dicts) the answer cites with [n]."""
    numbers = cited_source_numbers(answer, len(sources))
    return [s for s in sources if s.get("n") in numbers]


def cites_source(cited: Sequence[Mapping[str, Any]], required: RequiredSource) -> bool:
    wanted = required.file.strip().lower()
    for source in cited:
        name = str(source.get("file_name", "")).lower()
        if name != wanted:
            continue
        if required.page is None or source.get("page") == required.page:
            return True
    return False


def score_answer(
    question: TestQuestion,
    answer: str,
    *,
    sources: Sequence[Mapping[str, Any]] = (),
    support: SupportReport | None = None,
    similarity: Similarity | None = None,
) -> Verdict:
    """Score one answer to one question (see the module's docstring for the rules)."""
    expect = question.expect
    abstained = is_abstention(answer)
    made_up = expect.rule is Rule.ABSTAIN and not abstained and bool(answer.strip())
    cited = cited_sources(answer, sources)
    citation_ok = _citation_ok(question, answer, sources, cited, support, abstained)
    value: float | None = None
    if not answer.strip():
        return Verdict(False, "The answer is empty.", False, False, citation_ok)
    if expect.rule is Rule.CONTAINS:
        missing = contains_all(answer, expect.contains)
        passed = not missing
        reason = (
            f"It contains {', '.join(repr(w) for w in expect.contains)}."
            if passed
            else f"It does not contain {', '.join(repr(w) for w in missing)}."
        )
    elif expect.rule is Rule.REGEX:
        passed = re.search(expect.regex, answer, re.IGNORECASE) is not None
        reason = (
            f"It matches the pattern /{expect.regex}/."
            if passed
            else f"Nothing in it matches the pattern /{expect.regex}/."
        )
    elif expect.rule is Rule.SIMILAR_TO:
        if similarity is None:
            raise ValueError("similar_to needs the embedding model's similarity")
        value = round(float(similarity(answer, expect.similar_to)), 4)
        passed = value >= expect.threshold
        relation = "at least" if passed else "below"
        reason = (
            f"Its closeness in meaning to the reference is {value:.2f}, "
            f"{relation} the {expect.threshold:g} needed."
        )
    else:
        passed = abstained
        reason = (
            "It says the documents do not hold the answer, as it should."
            if passed
            else "It answers instead of saying the documents do not hold the answer (made up)."
        )
    if expect.rule is not Rule.ABSTAIN and abstained and not passed:
        reason += " It said it does not know."
    if question.source is not None and expect.rule is not Rule.ABSTAIN:
        if cites_source(cited, question.source):
            reason += f" It cites {question.source.describe()}."
        else:
            passed = False
            named = ", ".join(_where(s) for s in cited) or "nothing"
            reason += f" It does not cite {question.source.describe()} (it cites {named})."
    return Verdict(passed, reason, abstained, made_up, citation_ok, value)


def _citation_ok(
    question: TestQuestion,
    answer: str,
    sources: Sequence[Mapping[str, Any]],
    cited: Sequence[Mapping[str, Any]],
    support: SupportReport | None,
    abstained: bool,
) -> bool | None:
    if not sources or abstained or not answer.strip():
        return None
    if not cited:
        return False
    if question.source is not None and not cites_source(cited, question.source):
        return False
    if support is not None:
        citing = [s for s in support.claims if s.cited]
        if any(not s.cited_support for s in citing):
            return False
    return True


def _where(source: Mapping[str, Any]) -> str:
    page = source.get("page")
    return str(source.get("file_name", "?")) + (f", page {page}" if page is not None else "")
