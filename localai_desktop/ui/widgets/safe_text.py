"""Text from outside the app, shown inertly: nothing it names is loaded to paint the window.

Qt's rich text loads what it is told to: `![x](/dev/zero)` in Markdown, `<img src=...>` or a
style sheet link in HTML, even `<img>` in a label's or a tooltip's text, make Qt read that file
(or device) when it paints. Answers, messages, titles, passages, model names and Hub cards are
written by models, documents and strangers, so every view of them goes through here:

- `SafeTextBrowser`, the one read-only rich text view: its document loads no resource at all
  (an image is a placeholder showing its address), raw HTML in Markdown is shown as text, and
  links are shown as their text and address, never opened. Views subclass or use it.
- `plain_label()`, a QLabel that shows its text as written, never as rich text.
- `inert_tooltip()`, for tooltips that include such text.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QImage, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import QLabel, QTextBrowser, QWidget

_PLACEHOLDER_COLOUR = QColor("#6b6b6b")
_MARKDOWN = (
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub
    | QTextDocument.MarkdownFeature.MarkdownNoHTML
)


def inert_tooltip(text: str) -> str:
    """`text` as a tooltip shows it, as written.

    Qt shows a tooltip as rich text when it looks like HTML, and then loads the images it
    names; escaped, it is plain words again.
    """
    if "<" not in text and "&" not in text:
        return text
    return f"<p style='white-space:pre'>{html.escape(text, quote=False)}</p>"


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A label that shows `text` as written, never as rich text."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    return label


class InertTextDocument(QTextDocument):
    """A text document that never loads a resource: no file, device or network address.

    Whatever an image or style sheet names, the document gets an empty stand-in; it never
    asks its parent, the disk or the network.
    """

    def loadResource(self, type_: int, name: QUrl) -> Any:
        image = QTextDocument.ResourceType.ImageResource
        if type_ in (image, image.value):
            return _blank_image()
        return None


def _blank_image() -> QImage:
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    return image


class SafeTextBrowser(QTextBrowser):
    """A read-only text view for text the app did not write: shows it, loads nothing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocument(InertTextDocument(self))
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)

    def show_markdown(self, text: str) -> None:
        """Show Markdown: images become "[image: address]", links "text (address)"."""
        self.document().setMarkdown(text, _MARKDOWN)
        _make_inert(self.document())

    def doSetSource(self, name: QUrl, type_: Any = None) -> None:
        """Never navigates: a browser's source would be read from disk."""

    def loadResource(self, type_: int, name: QUrl) -> Any:
        return self.document().loadResource(type_, name)


def _make_inert(document: QTextDocument) -> None:
    """Replace each image with a placeholder naming its address, and each link with its text
    followed by its address, as plain text."""
    replacements: list[tuple[int, int, str, QTextCharFormat]] = []
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            char_format = fragment.charFormat()
            if char_format.isImageFormat():
                name = char_format.toImageFormat().name()
                text = f"[image: {name}]" * fragment.length()
                replacements.append((fragment.position(), fragment.length(), text, char_format))
            elif char_format.isAnchor() and char_format.anchorHref():
                href = char_format.anchorHref()
                shown = fragment.text()
                text = shown if shown.strip() == href.strip() else f"{shown} ({href})"
                replacements.append((fragment.position(), fragment.length(), text, char_format))
            fragments += 1
        block = block.next()
    cursor = QTextCursor(document)
    # From the end, so positions found above stay right as text is replaced.
    for position, length, text, char_format in reversed(replacements):
        plain = QTextCharFormat(char_format)
        if plain.isImageFormat():
            plain = QTextCharFormat()
            plain.setForeground(_PLACEHOLDER_COLOUR)
            plain.setFontItalic(True)
        plain.setAnchor(False)
        plain.clearProperty(QTextCharFormat.Property.AnchorHref)
        cursor.setPosition(position)
        cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(text, plain)
