"""The app's text size: the application font's point size, which every widget follows."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
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
        self._widget = widget
        self._scale = scale
        self._weight = weight
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.fontChanged.connect(self._on_application_font_changed)
        self._on_application_font_changed(QApplication.font())

    @Slot(QFont)
    def _on_application_font_changed(self, app_font: QFont) -> None:
        font = QFont(app_font)
        font.setPointSizeF(app_font.pointSizeF() * self._scale)
        font.setWeight(self._weight)
        self._widget.setFont(font)


def relative_font(
    widget: QWidget, scale: float, weight: QFont.Weight = QFont.Weight.DemiBold
) -> None:
    """Make `widget`'s text `scale` times the app's size (a heading), now and after changes."""
    _RelativeFont(widget, scale, weight)
