"""The passage viewer: a cited passage highlighted in the text around it, to check an answer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QColor, QDesktopServices, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.documents.collections import PassageContext
from localai_desktop.ui.chat.page_panel import PagePanel
from localai_desktop.ui.chat.source_cards import describe_source_location
from localai_desktop.ui.widgets.safe_text import SafeTextBrowser
from localai_desktop.ui.widgets.theme import colours, on_theme_changed, themed_style_sheet

GONE_NOTE = (
    "This passage is no longer in the index (its document changed, or the collection was "
    "deleted). It is shown as the answer quoted it."
)


class PassageViewer(QDialog):
    """Shows one source: where it is, and its passage highlighted amid its neighbours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Source")
        self.heading = QLabel()
        self.heading.setStyleSheet("font-weight: 600;")
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.path_label = QLabel()
        self.path_label.setTextFormat(Qt.TextFormat.PlainText)
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setStyleSheet("color: palette(placeholder-text);")
        self.path_label.setWordWrap(True)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        themed_style_sheet(self.note, lambda theme: f"color: {theme.warning_text};")
        self.browser = SafeTextBrowser()
        self.browser.setAccessibleName("Passage in its document")
        # Recognised text: the page of the original scan beside it, the passage outlined.
        self.page_panel = PagePanel()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.page_panel)
        self.splitter.addWidget(self.browser)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.close)
        self.open_button = QPushButton("Open document")
        self.open_button.setAccessibleName("Open document")
        self.open_button.setToolTip("Open the file in the app your computer uses for it")
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.path_label)
        layout.addWidget(self.note)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.buttons)
        self.resize(720, 520)
        self._path: Path | None = None
        self._highlight = (0, 0)
        self._shown: tuple[Mapping[str, Any], PassageContext | None] | None = None
        on_theme_changed(self, self._on_theme_changed)

    def show_source(self, source: Mapping[str, Any], context: PassageContext | None) -> None:
        """Show `source` (from an answer's provenance) in `context`, or alone when it is gone."""
        self._shown = (source, context)
        self._render(source, context)
        recognised = context is not None and context.passage.box is not None
        self.page_panel.show_page_of(context.passage.id if context and recognised else None)
        if recognised and self.width() < 1000:
            self.resize(1100, 720)
        self.show()
        self.raise_()
        self.activateWindow()

    def _render(self, source: Mapping[str, Any], context: PassageContext | None) -> None:
        where = describe_source_location(source)
        number = f"[{source['n']}] " if source.get("n") is not None else ""  # none: a file
        self.heading.setText(f"{number}{where}")
        self.setWindowTitle(f"Source: {where}")
        self._path = Path(str(source["file"])) if source.get("file") else None
        collection = source.get("collection")
        in_collection = f" · collection “{collection}”" if collection else ""
        self.path_label.setText(f"{self._path or ''}{in_collection}")
        self.open_button.setEnabled(self._path is not None and self._path.is_file())
        headers: list[tuple[int, int]] = []
        if context is not None:
            text, start, end, headers = _laid_out(context)
        else:
            text = str(source.get("text", ""))
            start, end = 0, len(text)
        self.note.setText(GONE_NOTE if context is None else "")
        self.note.setVisible(context is None)
        self.browser.setPlainText(text)
        self._highlight = (start, end)
        # Qt counts UTF-16 units, Python code points: they differ after an emoji or the like.
        start, end = _utf16_length(text[:start]), _utf16_length(text[:end])
        cursor = QTextCursor(self.browser.document())
        theme = colours()
        quiet = QTextCharFormat()
        quiet.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
        quiet.setFontWeight(600)
        for header_start, header_end in headers:
            cursor.setPosition(_utf16_length(text[:header_start]))
            cursor.setPosition(_utf16_length(text[:header_end]), QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(quiet)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        marked = QTextCharFormat()
        marked.setBackground(theme.qcolor("marked_background"))
        marked.setForeground(theme.qcolor("marked_text"))
        cursor.mergeCharFormat(marked)
        # Bring the passage into view, starting at its first line.
        cursor.setPosition(end)
        self.browser.setTextCursor(cursor)
        self.browser.ensureCursorVisible()
        cursor.setPosition(start)
        self.browser.setTextCursor(cursor)
        self.browser.ensureCursorVisible()

    def highlighted_text(self) -> str:
        """The text shown highlighted (what the answer cited)."""
        start, end = self._highlight
        return self.browser.toPlainText()[start:end]

    def highlight_colour_at(self, position: int) -> QColor:
        cursor = QTextCursor(self.browser.document())
        cursor.setPosition(position + 1)
        return cursor.charFormat().background().color()

    def _on_theme_changed(self) -> None:
        if self._shown is not None:
            self._render(*self._shown)

    @Slot()
    def _on_open_button_clicked(self) -> None:
        if self._path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._path)))


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _laid_out(context: PassageContext) -> tuple[str, int, int, list[tuple[int, int]]]:
    """The passages around the cited one, with a line where a page or section begins.

    Returns (text, start, end of the cited passage, spans of the page/section lines).
    """
    text = ""
    start = end = 0
    headers: list[tuple[int, int]] = []
    page: int | None = None
    heading: str | None = None
    for chunk in context.chunks:
        header = ""
        if chunk.page is not None and chunk.page != page:
            header = f"Page {chunk.page}"
        elif chunk.page is None and chunk.heading and chunk.heading != heading:
            header = chunk.heading
        page, heading = chunk.page, chunk.heading
        if text:
            text += "\n\n"
        if header:
            headers.append((len(text), len(text) + len(header)))
            text += header + "\n"
        if chunk.id == context.passage.id:
            start, end = len(text), len(text) + len(chunk.text)
        text += chunk.text
    return text, start, end, headers
