"""The Markdown reader every export format shares, and the marks that stand for footnotes.

Answers are Markdown. They are read by markdown-it (CommonMark with tables and strikethrough)
with raw HTML off, so a model's "<script>" stays text, and images off, so "![](/dev/zero)" is
never fetched by a writer (Qt's rich text and fpdf2 would both try to load it).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping

from markdown_it import MarkdownIt

# Private-use characters: they never come out of a model's Markdown unchanged by chance, and
# markdown-it passes them through as text, so every writer can turn them into its footnotes.
FOOTNOTE_OPEN = "\ue000"
FOOTNOTE_CLOSE = "\ue001"
FOOTNOTE_MARK = re.compile(f"{FOOTNOTE_OPEN}(\\d+){FOOTNOTE_CLOSE}")
# "[2]", "[1, 3]": how answers cite their numbered sources (see documents.grounding).
# The space before a citation goes with it: the footnote number sits on the word it follows.
CITATION = re.compile(r"[ \t]*\[(\d+(?:\s*,\s*\d+)*)\]")


_parsers = threading.local()


def markdown_parser() -> MarkdownIt:
    """The markdown-it reader for exports: one per thread, built once (building one costs more
    than reading a short message)."""
    parser: MarkdownIt | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = (
            MarkdownIt("commonmark", {"html": False, "breaks": False})
            .enable(["table", "strikethrough"])
            .disable("image")
        )
        _parsers.parser = parser
    return parser


def mark_citations(text: str, numbers: Mapping[int, int]) -> str:
    """`text` with each citation of a known source ("[2]") replaced by the mark of its
    footnote number in the document (`numbers`: the answer's source number -> footnote)."""

    def replace(match: re.Match[str]) -> str:
        cited = [int(n) for n in match.group(1).split(",")]
        if not all(n in numbers for n in cited):
            return match.group(0)  # "[2024]" in a sentence is not a citation
        return "".join(f"{FOOTNOTE_OPEN}{numbers[n]}{FOOTNOTE_CLOSE}" for n in cited)

    return CITATION.sub(replace, text)


def split_marks(text: str) -> list[str | int]:
    """Text and footnote numbers, in order: "a\ue0003\ue001b" -> ["a", 3, "b"]."""
    parts: list[str | int] = []
    position = 0
    for match in FOOTNOTE_MARK.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(int(match.group(1)))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return parts


def replace_marks(text: str, write: Callable[[int], str]) -> str:
    """`text` with every footnote mark written by `write(number)`."""
    return FOOTNOTE_MARK.sub(lambda m: write(int(m.group(1))), text)
