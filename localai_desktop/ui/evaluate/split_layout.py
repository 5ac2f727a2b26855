"""The Evaluate pages' shape: a banner over a list on the left and its details on the right."""

from __future__ import annotations

from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget


def banner_over_split(
    page: QWidget, banner: QWidget, left: QWidget, right: QWidget, sizes: tuple[int, int]
) -> None:
    """Lay `page` out: `banner`, then `left` and `right` side by side (the right one grows)."""
    splitter = QSplitter()
    splitter.addWidget(left)
    splitter.addWidget(right)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes(list(sizes))
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(banner)
    layout.addWidget(splitter, 1)
