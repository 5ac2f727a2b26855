"""Text that wraps anywhere when it must: a long word, path or address never widens a widget.

A word-wrapped QLabel breaks lines only at spaces, so one 200-character address makes it
(and every layout around it) at least as wide as that address, and the window's edge cuts it.
"""

from __future__ import annotations

import re

# Invisible, and a place where a line may break.
ZERO_WIDTH_SPACE = "\u200b"
BREAK_EVERY = 24
LONG_WORD = re.compile(rf"\S{{{BREAK_EVERY + 1},}}")


def breakable(text: str) -> str:
    """`text` with a possible line break every so often inside very long words."""

    def split(match: re.Match[str]) -> str:
        word = match.group(0)
        return ZERO_WIDTH_SPACE.join(
            word[i : i + BREAK_EVERY] for i in range(0, len(word), BREAK_EVERY)
        )

    return LONG_WORD.sub(split, text)


def unbroken(text: str) -> str:
    """The text as written (without the break points `breakable` added)."""
    return text.replace(ZERO_WIDTH_SPACE, "")
