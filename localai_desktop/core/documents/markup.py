"""Markdown and HTML into text blocks that remember the heading they sit under."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

from localai_desktop.core.documents.blocks import TextBlock

_ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")


def markdown_blocks(text: str) -> Iterator[TextBlock]:
    heading: str | None = None
    paragraph: list[str] = []

    def flush() -> Iterator[TextBlock]:
        joined = " ".join(" ".join(paragraph).split())
        paragraph.clear()
        if joined:
            yield TextBlock(joined, heading=heading)

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        atx = _ATX_HEADING.match(line)
        if atx:
            yield from flush()
            heading = atx.group(2).strip() or heading
            continue
        if _SETEXT_UNDERLINE.match(line) and len(paragraph) == 1 and paragraph[0].strip():
            heading = paragraph[0].strip()
            paragraph.clear()
            continue
        if not line.strip():
            yield from flush()
            continue
        paragraph.append(line)
    yield from flush()


# -- HTML -------------------------------------------------------------------------------------

# Elements whose start or end begins a new paragraph.
_BLOCK_TAG_TEXT = (
    "p div li ul ol table tr td th br hr section article header footer blockquote pre "
    "dd dt dl figure figcaption main aside caption h1 h2 h3 h4 h5 h6 title"
)
_BLOCK_TAGS = frozenset(_BLOCK_TAG_TEXT.split())
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_INVISIBLE_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head"})


class HtmlBlocks(HTMLParser):
    """Collects visible text as blocks, with the heading each block sits under."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[TextBlock] = []
        self.title: str | None = None
        self._heading: str | None = None
        self._parts: list[str] = []
        self._hidden_depth = 0
        self._in_heading = False
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
            return
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth += 1
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag in _HEADING_TAGS:
            self._in_heading = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
            return
        if tag in _HEADING_TAGS and self._in_heading:
            text = " ".join("".join(self._parts).split())
            self._in_heading = False
            if text:
                self._heading = text
        if tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = ((self.title or "") + data).strip() or None
        elif not self._hidden_depth:
            self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        text = " ".join("".join(self._parts).split())
        self._parts.clear()
        if text:
            self.blocks.append(TextBlock(text, heading=self._heading))
