"""Checking each sentence of an answer against the passages it was given: the grounding check.

``check_answer`` splits an answer into sentences and scores each claim against the passages it
cites first, then the other retrieved passages. Embeddings say "same topic", not "same fact"
(see FACTS.md: on a public set they were near chance), so the verdict is lexical: every number
of the claim must be in the passage, its content words must be there (most of them), and it must
not say the opposite (a "not" where the passage has none, or the reverse), and the names and
codes it writes with capitals ("MMSE") must be there as written. The embedding model, when
given, only picks the passage sentence a claim is about (for the "not" check): letting a close
meaning stand in for missing words let most changed facts through
(bench/bench_grounding_check.py). A sentence that is not a claim (an abstention, a question,
"Yes.") is not counted. The result is plain data kept in the answer's provenance
("sentence_support").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from localai_desktop.core.documents.abstention import is_abstention, normalized
from localai_desktop.core.documents.claim_words import NEGATIONS, NUMBER_WORDS, STOPWORDS

if TYPE_CHECKING:
    import numpy as np

# Unit-length vectors, one row per text (core.documents.embedder.Embedder.embed_texts).
Embed = Callable[[Sequence[str]], "np.ndarray"]

# Share of a claim's content words that a passage must hold for the claim to be supported.
WORDS_NEEDED = 0.75
# Fewer content words than this and a sentence makes no checkable claim ("Yes, it is.").
MIN_CLAIM_WORDS = 2

_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# A sentence ends at . ! or ? (and any citation markers right after it) before a space.
_SENTENCE_END = re.compile(r"(?<!\b[A-Z])[.!?]+[\"')\]]*(?:\s*\[\d+(?:\s*,\s*\d+)*\])*(?=\s|$)")
_ABBREVIATION = re.compile(
    r"\b(?:dr|mr|mrs|ms|prof|st|vs?|etc|e\.g|i\.e|no|fig|approx|cf)\.$", re.IGNORECASE
)
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+(?:'[a-z]+)?")
# Names and codes ("MMSE", "4AT", "Lady Hale"): a claim's must be in the passage as written.
_NAME = re.compile(
    r"(?<![.!?]\s)(?<!^)\b[A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*\b"  # MMSE, COVID19
    r"|(?<=[a-z,;] )[A-Z][a-z]+"  # a capital after a lower-case word: Hale, Smith
)


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of an answer and whether the passages support it."""

    text: str
    cited: tuple[int, ...] = ()  # the source numbers it cites ([1], [2])
    is_claim: bool = True  # False: an abstention, a question, too short to check
    supported: bool = True
    source: int | None = None  # the source that supports it (or comes closest)
    cited_support: bool = False  # supported by a passage it cites
    coverage: float = 0.0  # share of its content words found in that passage
    similarity: float | None = None  # embedding cosine to the closest passage sentence
    explanation: str = ""  # plain words: why it is not supported (or what to know)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cited"] = list(self.cited)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SentenceCheck:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["cited"] = tuple(known.get("cited") or ())
        return cls(**known)


@dataclass(frozen=True)
class SupportReport:
    """The grounding check of one answer: a verdict per sentence."""

    sentences: tuple[SentenceCheck, ...] = field(default=())

    @property
    def claims(self) -> tuple[SentenceCheck, ...]:
        return tuple(s for s in self.sentences if s.is_claim)

    @property
    def supported_count(self) -> int:
        return sum(1 for s in self.claims if s.supported)

    @property
    def unsupported(self) -> tuple[SentenceCheck, ...]:
        return tuple(s for s in self.claims if not s.supported)

    @property
    def summary(self) -> str:
        """ "3 of 4 sentences supported by the passages"."""
        total = len(self.claims)
        noun = "sentence" if total == 1 else "sentences"
        return f"{self.supported_count} of {total} {noun} supported by the passages"

    def to_dict(self) -> dict[str, Any]:
        return {
            "supported": self.supported_count,
            "claims": len(self.claims),
            "sentences": [s.to_dict() for s in self.sentences],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SupportReport:
        items = (data or {}).get("sentences") or []
        return cls(tuple(SentenceCheck.from_dict(s) for s in items if isinstance(s, dict)))


# -- splitting and words ----------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    """The sentences of a text, each with the citation markers that follow it."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", "", line).strip()
        start = 0
        for match in _SENTENCE_END.finditer(line):
            if _ABBREVIATION.search(line, 0, match.end()):
                continue  # "Dr." or "e.g." does not end the sentence
            piece = line[start : match.end()].strip()
            if piece:
                sentences.append(piece)
            start = match.end()
        rest = line[start:].strip()
        if rest:
            sentences.append(rest)
    return sentences


def _stem(word: str) -> str:
    if word.isdigit():
        return word
    for suffix in ("ingly", "ing", "edly", "ed", "ies", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _words(text: str) -> list[str]:
    """Content words, stemmed, with numbers as digits ("six" -> "6", "1,200" -> "1200")."""
    plain = _CITATION.sub(" ", normalized(text))
    words: list[str] = []
    for raw in _WORD.findall(plain):
        raw = raw.removesuffix("'s")
        word = NUMBER_WORDS.get(raw, raw)
        if word[0].isdigit():
            words.append(word.replace(",", "").rstrip("."))
        elif word not in STOPWORDS and word not in NEGATIONS and len(word) > 1:
            words.append(_stem(word))
    return words


def _negated(text: str) -> bool:
    return any(w in NEGATIONS for w in _WORD.findall(normalized(text)))


# -- the check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Passage:
    number: int
    text: str  # lower case, for names
    words: frozenset[str]
    sentences: tuple[str, ...]
    sentence_words: tuple[frozenset[str], ...]


def check_answer(
    answer: str, sources: Sequence[Mapping[str, Any]], *, embed: Embed | None = None
) -> SupportReport:
    """Check each sentence of `answer` against `sources` (provenance dicts with "n", "text")."""
    passages = [_passage(int(s["n"]), str(s.get("text", ""))) for s in sources]
    sentences = split_sentences(answer)
    checks: list[SentenceCheck] = []
    claim_texts: list[str] = []
    for sentence in sentences:
        cited = tuple(sorted(_cited(sentence, len(passages))))
        words = _words(sentence)
        if (
            len(set(words)) < MIN_CLAIM_WORDS
            or sentence.rstrip().endswith("?")
            or is_abstention(sentence)
        ):
            checks.append(SentenceCheck(sentence, cited, is_claim=False, supported=False))
            continue
        checks.append(SentenceCheck(sentence, cited))
        claim_texts.append(_CITATION.sub("", sentence).strip())
    similarities = _similarities(claim_texts, passages, embed)
    claim = 0
    for index, check in enumerate(checks):
        if check.is_claim:
            checks[index] = _verdict(check, passages, similarities[claim] if similarities else None)
            claim += 1
    return SupportReport(tuple(checks))


def _passage(number: int, text: str) -> _Passage:
    sentences = tuple(split_sentences(text)) or (text,)
    return _Passage(
        number,
        text.lower(),
        frozenset(_words(text)),
        sentences,
        tuple(frozenset(_words(s)) for s in sentences),
    )


def _cited(sentence: str, count: int) -> set[int]:
    numbers: set[int] = set()
    for match in _CITATION.finditer(sentence):
        numbers.update(int(n) for n in match.group(1).split(",") if 1 <= int(n) <= count)
    return numbers


def _similarities(
    claims: list[str], passages: list[_Passage], embed: Embed | None
) -> list[list[list[float]]] | None:
    """Per claim, per passage, the cosine to each of its sentences (None without a model)."""
    if embed is None or not claims or not passages:
        return None
    flat = [s for p in passages for s in p.sentences]
    vectors = embed([*claims, *flat])
    claim_vectors, sentence_vectors = vectors[: len(claims)], vectors[len(claims) :]
    scores = claim_vectors @ sentence_vectors.T
    result: list[list[list[float]]] = []
    for row in scores:
        per_passage: list[list[float]] = []
        start = 0
        for passage in passages:
            end = start + len(passage.sentences)
            per_passage.append([float(x) for x in row[start:end]])
            start = end
        result.append(per_passage)
    return result


@dataclass(frozen=True)
class _Score:
    passage: _Passage
    coverage: float
    missing_numbers: tuple[str, ...]
    missing_words: tuple[str, ...]
    contradicts: bool
    similarity: float | None
    missing_names: tuple[str, ...] = ()

    @property
    def supports(self) -> bool:
        if self.missing_numbers or self.contradicts or self.missing_names:
            return False
        return self.coverage >= WORDS_NEEDED

    @property
    def rank(self) -> tuple[bool, float, float]:
        return (self.supports, self.coverage, self.similarity or 0.0)


def _score(text: str, words: list[str], passage: _Passage, cosines: list[float] | None) -> _Score:
    unique = list(dict.fromkeys(words))
    found = [w for w in unique if w in passage.words]
    numbers = tuple(w for w in unique if w[0].isdigit() and w not in passage.words)
    missing = tuple(w for w in unique if w not in passage.words and not w[0].isdigit())
    names = tuple(n for n in _names(text) if n.lower() not in passage.text)
    # The passage sentence the claim is about: the closest in meaning, else in words.
    if cosines:
        closest = max(range(len(cosines)), key=cosines.__getitem__)
        similarity: float | None = cosines[closest]
    else:
        closest = max(
            range(len(passage.sentences)),
            key=lambda i: len(passage.sentence_words[i].intersection(unique)),
        )
        similarity = None
    contradicts = _negated(text) != _negated(passage.sentences[closest])
    return _Score(
        passage,
        len(found) / max(1, len(unique)),
        numbers,
        missing,
        contradicts,
        similarity,
        names,
    )


def _names(text: str) -> list[str]:
    """Names and codes the claim writes with capitals (not its first word)."""
    plain = _CITATION.sub(" ", text).strip()
    return [m.group(0) for m in _NAME.finditer(plain)]


def _verdict(
    check: SentenceCheck, passages: list[_Passage], cosines: list[list[float]] | None
) -> SentenceCheck:
    if not passages:
        return _replace(
            check, False, None, 0.0, None, "No passages were found to check it against."
        )
    words = _words(check.text)
    scores = [
        _score(check.text, words, p, cosines[i] if cosines else None)
        for i, p in enumerate(passages)
    ]
    cited = [s for s in scores if s.passage.number in check.cited]
    best_cited = max(cited, key=lambda s: s.rank) if cited else None
    best = max(scores, key=lambda s: s.rank)
    if best_cited is not None and best_cited.supports:
        return _replace(check, True, best_cited, cited_support=True)
    if best.supports:
        note = (
            f"Supported by passage [{best.passage.number}], not by the one it cites "
            f"({', '.join(f'[{n}]' for n in check.cited)})."
            if check.cited
            else f"Supported by passage [{best.passage.number}], which it does not cite."
        )
        return _replace(check, True, best, note=note)
    return _replace(check, False, best, note=_why_not(check.text, best))


def _replace(
    check: SentenceCheck,
    supported: bool,
    score: _Score | None,
    coverage: float | None = None,
    similarity: float | None = None,
    note: str = "",
    *,
    cited_support: bool = False,
) -> SentenceCheck:
    return SentenceCheck(
        check.text,
        check.cited,
        True,
        supported,
        score.passage.number if score else None,
        cited_support,
        round(score.coverage if score else (coverage or 0.0), 3),
        round(score.similarity, 3) if score and score.similarity is not None else similarity,
        note,
    )


def _as_written(text: str, stems: Sequence[str]) -> list[str]:
    """The words of `text` whose stems are `stems`, as the answer wrote them."""
    wanted = set(stems)
    seen: dict[str, str] = {}
    for raw in _WORD.findall(_CITATION.sub(" ", normalized(text))):
        stem = _stem(raw)
        if stem in wanted and stem not in seen:
            seen[stem] = raw
    return [seen.get(s, s) for s in stems]


def _why_not(text: str, score: _Score) -> str:
    if score.missing_numbers:
        numbers = ", ".join(score.missing_numbers)
        return f"No passage gives the number {numbers}; check it against the sources."
    if score.missing_names:
        names = ", ".join(f"'{n}'" for n in score.missing_names)
        return f"No passage names {names}; check it against the sources."
    if score.contradicts:
        return (
            f"Passage [{score.passage.number}] seems to say the opposite (one has a 'not' or "
            "'no' the other lacks)."
        )
    shown = ", ".join(f"'{w}'" for w in _as_written(text, score.missing_words)[:4])
    return f"No passage says this: {shown} appear in none of them."


__all__ = [
    "SentenceCheck",
    "SupportReport",
    "check_answer",
    "is_abstention",
    "split_sentences",
]
