"""Putting retrieved passages into a chat prompt, numbered for citation, within the context.

``ground_question`` turns the person's question and the search hits into the text the model
sees for that turn: numbered sources, the instruction to cite them as [1], [2], and to say it
does not know when they do not hold the answer. When no passage is relevant, the model is told
exactly that instead of being handed unrelated text to guess from. The sources that made it
into the prompt are returned as plain dicts for the answer's provenance (the GUI's source cards
read them from there).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localai_desktop.core.documents.retrieval import SearchHit
from localai_desktop.core.inference.generation import ChatTurn

if TYPE_CHECKING:
    from localai_desktop.core.documents.collections import DocumentLibrary

Tokenize = Callable[[str], list[int]]

# Passages retrieved for a chat question (fewer may fit the model's context).
RETRIEVED_PASSAGES = 5
# Share of the prompt's room given to sources; the rest keeps the recent conversation.
SOURCES_SHARE = 0.7
# A source cut to fit is not worth including below this many tokens.
MIN_SOURCE_TOKENS = 24

# Which passages an answer may use, chosen by measurement on the test corpus (the ten-page
# ward guideline of tests/support/documents_support, MiniLM; noise floor about 0.12). The ten
# questions it answers reach a best similarity of 0.35 to 0.73, always on the right page; six
# it does not answer reach 0.01 to 0.26 (an ICU dosing question found the sepsis page at 0.26,
# the "unrelated sources" of issue 19), except one sharing its everyday words ("overnight on
# the ward", 0.45). So a question counts as covered when its best passage clears the floor by
# COVERED_MARGIN (about 0.30 there), and only passages within SOURCE_SPREAD of the best are
# used: the neighbours that merely share the topic's vocabulary (0.2 to 0.4 below the right
# page for most questions) stay out of the prompt and off the source list.
COVERED_MARGIN = 0.18
SOURCE_SPREAD = 0.2

NOT_COVERED_ANSWER = (
    "Your documents ({names}) do not seem to cover this question: no passage in them is close "
    "enough to it, so it is not answered from them. Try other words, attach another "
    "collection, or ask without documents."
)

# The beginnings of the app's own hidden texts, and of each of their sentences: a model that
# starts repeating its prompt (from its start or from any sentence of it) is stopped there, so
# the instruction never shows up as (part of) an answer.
ECHO_STOPS = (
    "Answer the question using the numbered sources",
    "The user's documents (",
    "\nSources:\n[1]",
    "Cite the source of each fact with its number",
    "If the sources do not contain the answer, say that",
    "Tell the user that their documents do not contain",
    "which come from the user's own documents",
)

INSTRUCTIONS = (
    "Answer the question using the numbered sources below, which come from the user's own "
    "documents. Cite the source of each fact with its number in square brackets, like [1] or "
    "[2]. If the sources do not contain the answer, say that the documents do not say, and "
    "do not guess."
)
NOTHING_FOUND = (
    "The user's documents ({names}) were searched and nothing relevant to this question was "
    "found. Tell the user that their documents do not contain the answer, and do not guess."
)


@dataclass(frozen=True)
class Grounding:
    """The grounded text of the question and the sources it cites."""

    text: str
    sources: tuple[dict[str, Any], ...] = field(default=())
    relevant_found: bool = False
    left_out: int = 0  # relevant passages that did not fit the model's memory


def ground_question(
    question: str,
    hits: Sequence[SearchHit],
    collection_names: Sequence[str],
    *,
    tokenize: Tokenize,
    token_budget: int,
) -> Grounding:
    """The question with as many relevant passages as fit in `token_budget` tokens."""
    relevant = usable_hits(hits)
    if not relevant:
        names = ", ".join(f"'{n}'" for n in collection_names) or "none"
        return Grounding(f"{NOTHING_FOUND.format(names=names)}\n\nQuestion: {question}")
    frame = f"{INSTRUCTIONS}\n\nSources:\n\n\nQuestion: {question}"
    room = token_budget - len(tokenize(frame))
    entries: list[str] = []
    sources: list[dict[str, Any]] = []
    for hit in relevant:
        number = len(entries) + 1
        entry = _entry(number, hit, hit.text)
        cost = len(tokenize(entry)) + 2
        truncated = False
        if cost > room:
            if entries or room < MIN_SOURCE_TOKENS:
                continue  # a later, shorter passage may still fit
            shortened = _shortened(number, hit, room, tokenize)
            if shortened is None:
                break
            entry, cost = shortened
            truncated = True
        entries.append(entry)
        room -= cost
        sources.append(_source(number, hit, truncated))
    if not entries:
        names = ", ".join(f"'{n}'" for n in collection_names)
        text = f"{NOTHING_FOUND.format(names=names)}\n\nQuestion: {question}"
        return Grounding(text, left_out=len(relevant))
    text = f"{INSTRUCTIONS}\n\nSources:\n" + "\n\n".join(entries) + f"\n\nQuestion: {question}"
    return Grounding(text, tuple(sources), True, left_out=len(relevant) - len(entries))


def usable_hits(hits: Sequence[SearchHit]) -> list[SearchHit]:
    """The passages an answer may use: relevant, close to the best one, and only when the best
    one is close enough to the question for the documents to cover it (see COVERED_MARGIN)."""
    relevant = [hit for hit in hits if hit.relevant]
    if not relevant:
        return []
    best = max(relevant, key=lambda hit: hit.similarity)
    if best.similarity < best.noise_floor + COVERED_MARGIN:
        return []
    return [hit for hit in relevant if hit.similarity >= best.similarity - SOURCE_SPREAD]


def describe_match(source: Mapping[str, Any]) -> str:
    """How closely a passage matches the question, in plain words, for its source card."""
    similarity = source.get("similarity")
    if not isinstance(similarity, (int, float)):
        return ""
    if similarity >= 0.55:
        return f"Close match ({similarity:.2f})"
    if similarity >= 0.35:
        return f"Good match ({similarity:.2f})"
    return f"Partial match ({similarity:.2f})"


def ground_turns(
    library: DocumentLibrary,
    turns: Sequence[ChatTurn],
    collections: Sequence[str | int],
    *,
    tokenize: Tokenize,
    n_ctx: int,
    max_tokens: int,
) -> tuple[list[ChatTurn], dict[str, Any]]:
    """The turns with the newest question grounded in the collections; provenance facts."""
    question = next(t.content for t in reversed(turns) if t.role == "user")
    retrieval = retrieve(library, question, collections)
    return ground_retrieved(turns, retrieval, tokenize=tokenize, n_ctx=n_ctx, max_tokens=max_tokens)


@dataclass(frozen=True)
class Retrieval:
    """The passages found for a question, searched ahead of the answer (plain data).

    The GUI searches on its embedding worker and hands this to the chat worker, so the chat
    model's thread never waits for the embedding model.
    """

    question: str
    collection_names: tuple[str, ...]
    hits: tuple[SearchHit, ...]
    seconds: float = 0.0


def retrieve(
    library: DocumentLibrary, question: str, collections: Sequence[str | int]
) -> Retrieval:
    """Search the collections (names or ids) for the passages that may answer `question`."""
    started = time.perf_counter()
    names = [library.get(c).name for c in collections]
    hits = library.search(names, question, k=RETRIEVED_PASSAGES)
    return Retrieval(question, tuple(names), tuple(hits), time.perf_counter() - started)


def ground_retrieved(
    turns: Sequence[ChatTurn],
    retrieval: Retrieval,
    *,
    tokenize: Tokenize,
    n_ctx: int,
    max_tokens: int,
) -> tuple[list[ChatTurn], dict[str, Any]]:
    """The turns with the newest question grounded in passages already retrieved."""
    grounded = list(turns)
    last_user = max(i for i, t in enumerate(grounded) if t.role == "user")
    question = grounded[last_user].content
    others = sum(len(tokenize(t.content)) for t in grounded if t.role == "system")
    grounding = ground_question(
        question,
        retrieval.hits,
        retrieval.collection_names,
        tokenize=tokenize,
        token_budget=sources_budget(n_ctx, max_tokens, others),
    )
    grounded[last_user] = ChatTurn("user", grounding.text)
    facts = {
        "collections": list(retrieval.collection_names),
        "sources": list(grounding.sources),
        "retrieval": {
            "passages_found": len(retrieval.hits),
            "relevant_found": grounding.relevant_found,
            "passages_left_out": grounding.left_out,
            "seconds": round(retrieval.seconds, 4),
        },
    }
    return grounded, facts


def sources_budget(n_ctx: int, max_tokens: int, other_tokens: int) -> int:
    """Tokens the sources may take, given the context, the answer's room and everything else."""
    answer_room = max(64, min(max_tokens, n_ctx // 2))
    prompt_room = n_ctx - answer_room
    return max(0, int(prompt_room * SOURCES_SHARE) - other_tokens)


def _entry(number: int, hit: SearchHit, text: str) -> str:
    return f"[{number}] ({hit.location})\n{text}"


def _shortened(
    number: int, hit: SearchHit, room: int, tokenize: Tokenize
) -> tuple[str, int] | None:
    words = hit.text.split()
    keep = len(words)
    while keep > 8:
        keep = keep * 3 // 4
        entry = _entry(number, hit, " ".join(words[:keep]) + " …")
        cost = len(tokenize(entry)) + 2
        if cost <= room:
            return entry, cost
    return None


def _source(number: int, hit: SearchHit, truncated: bool) -> dict[str, Any]:
    return {
        "n": number,
        "chunk_id": hit.chunk_id,
        "collection": hit.collection_name,
        "file": str(hit.file_path),
        "file_name": hit.file_name,
        "file_sha256": hit.file_sha256,
        "page": hit.page,
        "heading": hit.heading,
        "text": hit.text,
        "similarity": round(hit.similarity, 4),
        "truncated": truncated,
    }


def format_sources(sources: Sequence[Mapping[str, Any]], *, excerpt_chars: int = 240) -> str:
    """The numbered list printed under an answer: "[1] report.pdf, page 7: "…"."""
    lines: list[str] = []
    for source in sources:
        where = source["file_name"]
        if source.get("page") is not None:
            where += f", page {source['page']}"
        elif source.get("heading"):
            where += f", section '{source['heading']}'"
        text = " ".join(str(source.get("text", "")).split())
        if len(text) > excerpt_chars:
            text = text[: excerpt_chars - 1].rstrip() + "…"
        lines.append(f'[{source["n"]}] {where}: "{text}"')
    return "\n".join(lines)


# "[2]", "[1, 3]", "[1][2]": the markers the instructions ask answers to cite passages with.
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")

UNCITED_NOTE = (
    "This answer cites none of the passages found in your documents: it may not come from "
    "them. Check it against the sources before relying on it."
)


def cited_source_numbers(answer: str, source_count: int) -> set[int]:
    """The source numbers (1-based) an answer cites with [n] markers; others are ignored."""
    cited: set[int] = set()
    for match in _CITATION.finditer(answer):
        for number in match.group(1).split(","):
            value = int(number)
            if 1 <= value <= source_count:
                cited.add(value)
    return cited


def cites_nothing(answer: str, sources: Sequence[object]) -> bool:
    """Whether a written answer had passages to cite and cites none of them."""
    return bool(sources) and bool(answer.strip()) and not cited_source_numbers(answer, len(sources))
