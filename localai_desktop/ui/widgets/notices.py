"""Plain-language notices shared by the tabs: a dismissable banner and a busy status line."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QWidget,
)

from localai_desktop.ui.widgets.elided_label import ElidedLabel
from localai_desktop.ui.widgets.theme import ThemeColours, themed_style_sheet


def _banner_style(kind: str) -> Callable[[ThemeColours], str]:
    def make(colours: ThemeColours) -> str:
        background = getattr(colours, f"banner_{kind}_background")
        border = getattr(colours, f"banner_{kind}_border")
        text = getattr(colours, f"banner_{kind}_text")
        return (
            f"QFrame#banner {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 4px; }} QFrame#banner QLabel, QFrame#banner QToolButton"
            f" {{ color: {text}; }}"
        )

    return make


class Banner(QFrame):
    """A strip above a view that tells the user what happened, in words, until dismissed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        self._dismiss = QToolButton()
        self._dismiss.setText("Dismiss")
        self._dismiss.setAccessibleName("Dismiss message")
        self._dismiss.setAutoRaise(True)
        self._dismiss.clicked.connect(self._on_dismiss_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.setAccessibleName("Message")
        self.hide()

    def show_error(self, text: str) -> None:
        self._show(text, "error")

    def show_info(self, text: str) -> None:
        self._show(text, "info")

    def text(self) -> str:
        """The message shown now, or "" when the banner is hidden."""
        return self._label.text() if not self.isHidden() else ""

    def kind(self) -> str:
        return str(self.property("kind") or "")

    def _show(self, text: str, kind: str) -> None:
        self.setProperty("kind", kind)
        themed_style_sheet(self, _banner_style(kind))
        self._label.setText(text)
        self.setAccessibleDescription(text)
        self.show()

    @Slot()
    def _on_dismiss_clicked(self) -> None:
        self.hide()


class StatusLine(QWidget):
    """One line of status text with a busy indicator for work whose length is unknown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = QProgressBar()
        self._busy.setRange(0, 0)
        self._busy.setTextVisible(False)
        self._busy.setFixedSize(72, 10)
        self._busy.setAccessibleName("Working")
        # Shortened with "…" to the room it has (the whole text in its tooltip), so a long
        # status never widens the window nor is cut off unseen.
        self._label = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
        self._label.setAccessibleName("Status")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._busy)
        layout.addWidget(self._label, 1)
        self._busy.hide()

    def show_busy(self, text: str) -> None:
        self._label.set_full_text(text)
        self._busy.setRange(0, 0)
        self._busy.show()

    def show_message(self, text: str) -> None:
        self._label.set_full_text(text)
        self._busy.hide()

    def set_fraction(self, fraction: float) -> None:
        """Turn the indicator into a bar once the work reports how far along it is."""
        self._busy.setRange(0, 100)
        self._busy.setValue(round(fraction * 100))

    def text(self) -> str:
        return self._label.full_text()

    def is_busy(self) -> bool:
        return not self._busy.isHidden()

    def clear(self) -> None:
        self._label.set_full_text("")
        self._busy.hide()
