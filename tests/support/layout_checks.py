"""Checks a person would make by eye: nothing sticks out of its parent, no text cut unseen."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QComboBox,
    QLabel,
    QScrollArea,
    QTabBar,
    QWidget,
)

# Style margins and frames round to a pixel or two.
_SLACK = 2


def _shown(widget: QWidget, window: QWidget) -> bool:
    return widget.isVisibleTo(window) and widget.width() > 0 and widget.height() > 0


def _scrolls_in(widget: QWidget) -> bool:
    """Whether `widget` sits in a viewport (or a tab bar) that scrolls it into view."""
    parent = widget.parentWidget()
    if isinstance(parent, QTabBar):
        return True
    return parent is not None and isinstance(parent.parentWidget(), QAbstractScrollArea)


def sticking_out(window: QWidget) -> list[str]:
    """Visible widgets wider or taller than the visible area of their parent.

    A scroll area's content may be taller than its viewport (it scrolls), but not wider when
    the area has no horizontal scroll bar: that is text cut off on the right.
    """
    problems: list[str] = []
    for widget in window.findChildren(QWidget):
        parent = widget.parentWidget()
        if parent is None or not _shown(widget, window) or widget.isWindow():
            continue
        area = parent.parentWidget()
        if isinstance(area, QScrollArea) and area.widget() is widget:
            no_bar = area.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
            if no_bar and widget.width() > parent.width() + _SLACK:
                problems.append(
                    f"{_name(widget)} is {widget.width()} px wide in a {parent.width()} px "
                    f"viewport without a horizontal scroll bar ({_name(area)})"
                )
            continue
        if _scrolls_in(widget):
            # Only sideways: content that scrolls may go below the fold.
            if widget.geometry().right() > parent.rect().right() + _SLACK:
                problems.append(_out(widget, parent))
            continue
        room = parent.rect().adjusted(-_SLACK, -_SLACK, _SLACK, _SLACK)
        if not room.contains(widget.geometry()):
            problems.append(_out(widget, parent))
    return problems


def cut_texts(window: QWidget) -> list[str]:
    """Labels and buttons whose one-line text is wider than they are, without a tooltip."""
    problems: list[str] = []
    for widget in window.findChildren(QWidget):
        if not _shown(widget, window) or widget.toolTip():
            continue
        if isinstance(widget, QLabel):
            text = widget.text()
            if not text or widget.wordWrap() or widget.textFormat() == Qt.TextFormat.RichText:
                continue
            if "<" in text and widget.textFormat() != Qt.TextFormat.PlainText:
                continue  # rich text, measured differently
            room = widget.contentsRect().width() - 2 * widget.margin() - widget.indent()
        elif isinstance(widget, QAbstractButton) and not isinstance(widget, QComboBox):
            text = widget.text().replace("&", "")
            room = widget.width() - 8
        else:
            continue
        widest = max(widget.fontMetrics().horizontalAdvance(line) for line in text.split("\n"))
        if widest > room + _SLACK:
            problems.append(f"{_name(widget)} cuts “{text[:60]}” ({widest} px in {room} px)")
    return problems


def _out(widget: QWidget, parent: QWidget) -> str:
    geometry: QRect = widget.geometry()
    return (
        f"{_name(widget)} at {geometry.x()},{geometry.y()} {geometry.width()}x"
        f"{geometry.height()} sticks out of {_name(parent)} ({parent.width()}x{parent.height()})"
    )


def _name(widget: QWidget) -> str:
    label = widget.accessibleName() or widget.objectName()
    return f"{type(widget).__name__}({label!r})" if label else type(widget).__name__
