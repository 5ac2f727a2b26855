"""Under the message box: about how much of the model's memory the next message will take.

Plain text, amber when nearly full, red when something would be left out, so a person learns
before sending that a pasted contract will not fit (core.chat.context_use does the counting).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from localai_desktop.core.chat.context_use import ContextLevel, ContextUse
from localai_desktop.ui.widgets.theme import ThemeColours, themed_style_sheet


def _style(theme: ThemeColours) -> str:
    return (
        "QLabel { color: palette(placeholder-text); }"
        f'QLabel[level="nearly full"] {{ color: {theme.warning_text}; }}'
        f'QLabel[level="too full"] {{ color: {theme.error_text}; font-weight: 600; }}'
    )


class ContextMeter(QLabel):
    """One wrapped line: "About 1,200 of 32,768 tokens of memory (...)", coloured by level."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAccessibleName("Memory used")
        self.setToolTip(
            "An estimate of how much of the model's memory (its context) the conversation, "
            "the attached documents and your message will take. When it turns red, something "
            "will be left out to fit: raise “Memory” in the chat's settings, start a new chat, "
            "or add a long text to a document collection instead."
        )
        # Wraps rather than widening the chat column.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setProperty("level", ContextLevel.FINE.value)
        themed_style_sheet(self, _style)
        self.use: ContextUse | None = None

    def show_use(self, use: ContextUse | None) -> None:
        """Show an estimate (None: no model chosen, nothing to show)."""
        self.use = use
        self.setVisible(use is not None)
        if use is None:
            return
        self.setText(use.describe())
        level = use.level.value
        if self.property("level") != level:
            self.setProperty("level", level)
            self.style().unpolish(self)
            self.style().polish(self)

    def level(self) -> ContextLevel | None:
        return self.use.level if self.use is not None else None
