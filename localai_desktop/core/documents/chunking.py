"""Cutting text blocks into passages sized for the embedding model, following the structure.

A chunk never crosses a page or a heading, so each one has one exact page (and section) to
cite; inside those bounds paragraphs are packed up to ``max_tokens``, a paragraph that is too
long is cut between sentences, and a sentence that is too long between words. Chunks do not
overlap: the text around a passage is its neighbours (``ordinal`` +/- 1), which is how the
viewer shows a passage in its context. The output is deterministic for the same file and
settings, which is what lets an interrupted file resume at the first chunk not yet stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from localai_desktop.core.documents.blocks import Box, TextBlock

CountTokens = Callable[[str], int]
"""Tokens the embedding model will see for a text (its own tokenizer, or an estimate)."""

# MiniLM and BGE were trained on passages of 128-256 word pieces: longer passages dilute what
# the vector says. Bigger models get bigger chunks, up to this.
MAX_CHUNK_TOKENS = 256
MIN_CHUNK_TOKENS = 64
# Room left for the heading that is embedded with each chunk and the model's special tokens.
HEADING_ALLOWANCE = 24

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Chunk:
    """One passage: what gets embedded, searched and cited."""

    ordinal: int  # position in its file, from 0
    text: str
    page: int | None
    heading: str | None
    token_count: int
    box: Box | None = None  # the region of a recognised passage on its page

    @property
    def region(self) -> str | None:
        """The box as stored: "x0,y0,x1,y1"."""
        return None if self.box is None else ",".join(f"{v:.5f}" for v in self.box)

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    @property
    def embedding_text(self) -> str:
        """What the embedding model sees: the section heading gives the passage its topic."""
        if self.heading and not self.text.startswith(self.heading):
            return f"{self.heading}\n{self.text}"
        return self.text


def chunk_tokens_for(context_length: int) -> int:
    """The chunk size for an embedding model with this training context."""
    return max(MIN_CHUNK_TOKENS, min(MAX_CHUNK_TOKENS, context_length // 2))


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (English averages about 1.3 word pieces per word)."""
    return int(len(text.split()) * 1.3) + 1


def chunk_blocks(
    blocks: Iterable[TextBlock],
    *,
    max_tokens: int,
    count_tokens: CountTokens = estimate_tokens,
) -> Iterator[Chunk]:
    """Chunks from a document's blocks, in reading order."""
    budget = max(16, max_tokens - HEADING_ALLOWANCE)
    pieces: list[str] = []
    used = 0
    page: int | None = None
    heading: str | None = None
    boxes: list[Box] = []
    ordinal = 0

    def flush() -> Iterator[Chunk]:
        nonlocal pieces, used, ordinal, boxes
        if pieces:
            box = None
            if boxes:
                box = (
                    min(b[0] for b in boxes),
                    min(b[1] for b in boxes),
                    max(b[2] for b in boxes),
                    max(b[3] for b in boxes),
                )
            yield Chunk(ordinal, " ".join(pieces), page, heading, used, box)
            ordinal += 1
        pieces = []
        boxes = []
        used = 0

    for block in blocks:
        if block.page != page or block.heading != heading:
            yield from flush()
            page, heading = block.page, block.heading
        for piece, tokens in _fitting_pieces(block.text, budget, count_tokens):
            if pieces and used + tokens > budget:
                yield from flush()
            pieces.append(piece)
            used += tokens
            if block.box is not None:
                boxes.append(block.box)
    yield from flush()


def _fitting_pieces(text: str, budget: int, count: CountTokens) -> Iterator[tuple[str, int]]:
    """The text whole if it fits, else its sentences, else runs of words; with token counts."""
    # Every word is at least one token: a text of more words than the budget is too long
    # without tokenizing it whole (a book in one paragraph would be, at once, otherwise).
    tokens = None if text.count(" ") >= budget else count(text)
    if tokens is not None and tokens <= budget:
        yield text, tokens
        return
    sentences = _SENTENCE_END.split(text)
    if len(sentences) == 1:
        yield from _word_runs(text, count(text) if tokens is None else tokens, budget, count)
        return
    for sentence in sentences:
        yield from _fitting_pieces(sentence, budget, count)


def _word_runs(
    text: str, tokens: int, budget: int, count: CountTokens
) -> Iterator[tuple[str, int]]:
    words = text.split()
    # Aim a little under the budget so that most runs fit at the first try.
    per_run = max(1, int(len(words) * budget * 0.9 / max(tokens, 1)))
    start = 0
    while start < len(words):
        size = per_run
        while True:
            run = " ".join(words[start : start + size])
            run_tokens = count(run)
            if run_tokens <= budget or size == 1:
                break
            size = max(1, size * budget // (run_tokens + 1))
        yield run, run_tokens
        start += size
