"""Pieces the settings forms share (the Chat tab's and the Fine-tune tab's): spin boxes, the
Advanced section's toggle, and showing values without announcing a change."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox, QToolButton, QWidget


def spin_box(
    low: int, high: int, name: str, tip: str = "", *, step: int = 1, suffix: str = ""
) -> QSpinBox:
    """A whole-number field from `low` to `high`, named `name` for screen readers."""
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setAccessibleName(name)
    spin.setToolTip(tip)
    return spin


def decimal_spin_box(
    low: float, high: float, name: str, tip: str = "", *, step: float = 1.0, decimals: int = 2
) -> QDoubleSpinBox:
    """A decimal field from `low` to `high` with `decimals` places, named `name`."""
    spin = QDoubleSpinBox()
    # Decimals after the range: Qt rounds the range to the decimals set at the time, and the
    # default (2) would turn a 0.00001 minimum into 0.
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setAccessibleName(name)
    spin.setToolTip(tip)
    return spin


@contextlib.contextmanager
def signals_blocked(objects: Iterable[QObject]) -> Iterator[None]:
    """Set values inside this block without the objects announcing a change."""
    blocked = list(objects)
    for item in blocked:
        item.blockSignals(True)
    try:
        yield
    finally:
        for item in blocked:
            item.blockSignals(False)


class AdvancedToggle(QToolButton):
    """An "Advanced" arrow button that shows and hides a section of rarely needed settings."""

    def __init__(self, section: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._section = section
        self.setText("Advanced")
        self.setCheckable(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setArrowType(Qt.ArrowType.RightArrow)
        self.setAutoRaise(True)
        self.setAccessibleName("Show advanced settings")
        section.hide()
        self.toggled.connect(self._on_toggled)

    @Slot(bool)
    def _on_toggled(self, shown: bool) -> None:
        self._section.setVisible(shown)
        self.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.setAccessibleName("Hide advanced settings" if shown else "Show advanced settings")
