"""The text of a file attached to a question, as the model was given it (read-only)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.chat.attachments import Attachment


class AttachmentViewer(QDialog):
    def __init__(self, attachment: Attachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Attached file: {attachment.name}")
        self.resize(640, 480)
        how = (
            "The model was given the whole file."
            if attachment.whole
            else "The file was indexed; the model was given its passages closest to the question."
        )
        pages = f" {attachment.pages} pages." if attachment.pages else ""
        self.note = QLabel(f"{how}{pages}")
        self.note.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setPlainText(attachment.text)
        self.text.setAccessibleName(f"Text of {attachment.name}")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
