"""The line over the message box while a question is being edited: what happens, and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class EditNotice(QWidget):
    """Says that the message box holds an earlier question being edited."""

    cancel_requested = Signal()
    """The user gave up editing (the Cancel button)."""

    TEXT = (
        "Editing your question: Enter asks it again as a new version. The earlier version and "
        "its answer are kept (use < > on the question to go back to them). Esc cancels."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self.TEXT)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.cancel_button = QPushButton("Cancel edit")
        self.cancel_button.setAccessibleName("Cancel editing")
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setAccessibleName("Editing a question")
        self.hide()
