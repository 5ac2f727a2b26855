"""The app's text size: the application font's point size, which every widget follows."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication, QWidget

from localai_desktop.core.datafolder.settings import MAX_TEXT_SIZE, MIN_TEXT_SIZE, SYSTEM_TEXT_SIZE
from localai_desktop.ui.widgets.theme import restyle_all


def system_font() -> QFont:
    """The operating system's font for text in windows, at its size."""
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)


def apply_text_size(points: int) -> None:
    """Give the whole app text of `points` points (SYSTEM_TEXT_SIZE: the system's size)."""
    font = system_font()
    if points != SYSTEM_TEXT_SIZE:
        font.setPointSize(min(max(MIN_TEXT_SIZE, points), MAX_TEXT_SIZE))
    QApplication.setFont(font)
    restyle_all()  # widgets under a style sheet keep their font until it is applied again


def current_text_size() -> int:
    """The app's text size now, in points."""
    return round(QApplication.font().pointSizeF())


def stepped_text_size(steps: int) -> int:
    """The size `steps` points bigger (or smaller) than now, within the limits."""
    return min(max(MIN_TEXT_SIZE, current_text_size() + steps), MAX_TEXT_SIZE)


class _RelativeFont(QObject):
    """Keeps a widget's font a multiple of the app's, when the app's size changes."""

    def __init__(self, widget: QWidget, scale: float, weight: QFont.Weight) -> None:
        super().__init__(widget)
        self._scale = scale
        self._weight = weight
        widget.installEventFilter(self)
        self.apply(widget)

    def apply(self, widget: QWidget) -> None:
        font = QFont(QApplication.font())
        font.setPointSizeF(font.pointSizeF() * self._scale)
        font.setWeight(self._weight)
        widget.setFont(font)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationFontChange and isinstance(watched, QWidget):
            self.apply(watched)
        return False


def relative_font(
    widget: QWidget, scale: float, weight: QFont.Weight = QFont.Weight.DemiBold
) -> None:
    """Make `widget`'s text `scale` times the app's size (a heading), now and after changes."""
    _RelativeFont(widget, scale, weight)
