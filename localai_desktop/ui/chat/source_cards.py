"""Source cards under an answer: the file, page and passage each citation [n] points at."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from localai_desktop.core.documents.grounding import UNCITED_NOTE, cites_nothing, describe_match
from localai_desktop.core.documents.sentence_support import SupportReport
from localai_desktop.ui.widgets.elided_label import ElidedLabel
from localai_desktop.ui.widgets.theme import ACCENT_BORDER, NEUTRAL_BORDER, NEUTRAL_TINT
from localai_desktop.ui.widgets.wrapping import breakable, unbroken

EXCERPT_CHARS = 180


def describe_source_location(source: Mapping[str, Any]) -> str:
    """ "ward-guideline.pdf, page 7" or "notes.md, section 'Dosage'"."""
    where = str(source.get("file_name") or "document")
    if source.get("page") is not None:
        where += f", page {source['page']}"
    elif source.get("heading"):
        where += f", section “{source['heading']}”"
    return where


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def describe_support(report: SupportReport) -> str:
    """The grounding check in plain words: how many sentences hold, and why the others not."""
    lines = [f"Grounding check: {report.summary}."]
    for sentence in report.unsupported:
        lines.append(f"\u26a0 Not supported: \u201c{sentence.text}\u201d {sentence.explanation}")
    return "\n".join(lines)


def describe_nothing_found(collections: Sequence[str]) -> str:
    names = ", ".join(f"“{n}”" for n in collections)
    return (
        f"Searched {names}: nothing relevant was found, so this answer does not come from "
        "your documents."
    )


class SourceCard(QFrame):
    """One source: "[1] report.pdf, page 7" over the start of its passage; click to open."""

    clicked = Signal()
    """The card was clicked, or Enter or Space was pressed on it."""

    def __init__(self, source: Mapping[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourceCard")
        self.setStyleSheet(
            f"QFrame#sourceCard {{ border: 1px solid {NEUTRAL_BORDER}; border-radius: 6px;"
            f" background: {NEUTRAL_TINT}; }}"
            "QFrame#sourceCard:hover, QFrame#sourceCard:focus {"
            f" border-color: {ACCENT_BORDER}; }}"
        )
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        where = describe_source_location(source)
        self.setAccessibleName(f"Source {source.get('n', '')}: {where}")
        self.setToolTip("Show this passage in its surrounding text")
        # Elided: a long file name must not widen the answer past the window (tooltip: all).
        self.title = ElidedLabel(f"[{source.get('n', '?')}] {where}")
        self.title.setStyleSheet("font-weight: 600; border: none; background: transparent;")
        self.excerpt = QLabel(breakable(excerpt(str(source.get("text", "")))))
        self.excerpt.setTextFormat(Qt.TextFormat.PlainText)
        self.excerpt.setWordWrap(True)
        self.excerpt.setStyleSheet("border: none; background: transparent;")
        # How close the passage is to the question, in words (the similarity in brackets).
        self.match = QLabel(describe_match(source))
        self.match.setTextFormat(Qt.TextFormat.PlainText)
        self.match.setStyleSheet(
            "border: none; background: transparent; color: palette(placeholder-text);"
        )
        self.match.setVisible(bool(self.match.text()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 5)
        layout.setSpacing(1)
        layout.addWidget(self.title)
        layout.addWidget(self.excerpt)
        layout.addWidget(self.match)

    def text(self) -> str:
        return f"{self.title.full_text()}\n{unbroken(self.excerpt.text())}"

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
            return
        super().keyPressEvent(event)


class SourceCards(QWidget):
    """The sources an answer cites, one clickable card each; hidden for answers without them."""

    source_opened = Signal(object)
    """The user clicked a card: (the source dict from the answer's provenance)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 4, 0, 0)
        self._layout.setSpacing(3)
        self._cards: list[SourceCard] = []
        self._sources: list[dict[str, Any]] = []
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self._layout.addWidget(self.note)
        # Which sentences of the answer the passages support (core.documents.sentence_support).
        self.support = QLabel()
        self.support.setObjectName("groundingCheck")
        self.support.setTextFormat(Qt.TextFormat.PlainText)
        self.support.setWordWrap(True)
        self.support.hide()
        self._layout.addWidget(self.support)
        self.hide()

    def set_provenance(self, provenance: Mapping[str, Any], answer: str = "") -> None:
        """Show the sources saved with an answer (from its provenance), or hide; say so
        when the answer (its text given) cites none of them."""
        for card in self._cards:
            self._layout.removeWidget(card)
            card.deleteLater()
        self._cards.clear()
        sources = [s for s in provenance.get("sources") or [] if isinstance(s, dict)]
        self._sources = sources
        collections = [str(c) for c in provenance.get("collections") or []]
        if not collections and not sources:
            self.hide()
            return
        if sources and cites_nothing(answer, sources):
            self.note.setText(UNCITED_NOTE)
            self.note.setStyleSheet("font-weight: 600;")
        elif sources:
            self.note.setText("Sources")
            self.note.setStyleSheet("font-weight: 600;")
        else:
            self.note.setText(describe_nothing_found(collections))
            self.note.setStyleSheet("color: palette(placeholder-text);")
        report = _support_of(provenance)
        if report is not None and report.claims:
            self.support.setText(describe_support(report))
            self.support.setAccessibleName(f"Grounding check: {report.summary}")
            self.support.show()
        else:
            self.support.hide()
        for source in sources:
            card = SourceCard(source)
            card.setProperty("source_index", len(self._cards))
            card.clicked.connect(self._on_card_clicked)
            self._layout.addWidget(card)
            self._cards.append(card)
        self.show()

    def cards(self) -> list[SourceCard]:
        return list(self._cards)

    def sources(self) -> list[dict[str, Any]]:
        return list(self._sources)

    @Slot()
    def _on_card_clicked(self) -> None:
        card = self.sender()
        if isinstance(card, SourceCard):
            self.source_opened.emit(self._sources[int(card.property("source_index"))])


def _support_of(provenance: Mapping[str, Any]) -> SupportReport | None:
    data = provenance.get("sentence_support")
    return SupportReport.from_dict(data) if isinstance(data, Mapping) else None
