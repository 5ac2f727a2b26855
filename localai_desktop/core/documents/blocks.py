"""A paragraph-sized piece of a document and where it sits: what parsers give chunking."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextBlock:
    """A paragraph-sized piece of a document and where it sits."""

    text: str
    page: int | None = None  # 1-based, for paged formats (PDF); None otherwise
    heading: str | None = None  # the nearest heading above this block
