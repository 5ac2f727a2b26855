"""A paragraph-sized piece of a document and where it sits: what parsers give chunking."""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1) on a page, as fractions of its width and height (recognised text)."""


@dataclass(frozen=True)
class TextBlock:
    """A paragraph-sized piece of a document and where it sits."""

    text: str
    page: int | None = None  # 1-based, for paged formats (PDF); None otherwise
    heading: str | None = None  # the nearest heading above this block
    box: Box | None = None  # where recognised text sits on its page; None for a text layer
