"""Marks in an answer's text on the sentences the grounding check found no support for."""

from __future__ import annotations

import re

from PySide6.QtGui import QTextCharFormat, QTextDocument, QTextFormat

from localai_desktop.core.documents.sentence_support import SupportReport
from localai_desktop.ui.widgets.safe_text import inert_tooltip
from localai_desktop.ui.widgets.theme import colours

# Set on a marked sentence's characters, so a reader (or a test) can find the marks.
UNSUPPORTED_PROPERTY = QTextFormat.Property.UserProperty + 1
_CITATION_MARK = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def sentence_search_texts(sentence: str) -> list[str]:
    """What to look for in the shown answer to find a sentence of its Markdown source: the
    sentence, then without Markdown emphasis, then without citation marks, then its first
    words."""
    plain = re.sub(r"[*_`]", "", sentence).strip()
    bare = _CITATION_MARK.sub("", plain).strip()
    texts = [sentence.strip(), plain, bare, " ".join(bare.split()[:6])]
    return [t for i, t in enumerate(texts) if t and t not in texts[:i]]


def describe_unsupported(explanation: str) -> str:
    """The tooltip of a sentence the grounding check did not find in the passages."""
    why = explanation.strip() or "The passages it was given do not say this."
    return f"Not supported by the passages. {why}"


def mark_unsupported(document: QTextDocument, report: SupportReport | None) -> list[str]:
    """Tint and underline, in the text itself, each sentence without support, with the reason
    as its tooltip; returns the sentences marked (one not found in the text stays listed under
    the answer only)."""
    if report is None or not report.unsupported:
        return []
    theme = colours()
    tint = theme.qcolor("warning_text")
    tint.setAlpha(28)
    marked = []
    for sentence in report.unsupported:
        for text in sentence_search_texts(sentence.text):
            cursor = document.find(text)
            if cursor.isNull():
                continue
            mark = QTextCharFormat()
            mark.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
            mark.setUnderlineColor(theme.qcolor("warning_text"))
            mark.setBackground(tint)
            mark.setToolTip(inert_tooltip(describe_unsupported(sentence.explanation)))
            mark.setProperty(UNSUPPORTED_PROPERTY, True)
            cursor.mergeCharFormat(mark)
            marked.append(sentence.text)
            break
    return marked
