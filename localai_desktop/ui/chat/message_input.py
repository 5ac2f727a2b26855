"""Where people type: Enter sends, Shift+Enter adds a line, Esc stops; Send and Stop."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.ui.widgets.spelling import SpellingHighlighter


class MessageInput(QPlainTextEdit):
    """A few lines of plain text that grow with what is typed, up to a limit."""

    send_requested = Signal()
    """Enter was pressed (without Shift): the text is ready to send."""
    stop_requested = Signal()
    """Esc was pressed: stop the answer being written."""
    edit_last_requested = Signal()
    """Up was pressed in an empty box: edit the last question."""

    MAX_LINES = 8
    # The keys handled below, as Help > Keyboard shortcuts lists them: (keys, what they do).
    KEYS = (
        ("Enter", "Send the message"),
        ("Shift+Enter", "Start a new line"),
        ("Esc", "Stop the answer being written"),
        ("Up (in an empty box)", "Edit your last question"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Message")
        self.setAccessibleDescription(
            "Type your message. Enter sends it, Shift+Enter starts a new line, Esc stops an answer."
        )
        self.setPlaceholderText("Type a message. Enter sends; Shift+Enter starts a new line.")
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self.updateGeometry)

    def text(self) -> str:
        return self.toPlainText()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if modifiers == Qt.KeyboardModifier.NoModifier:
                event.accept()
                self.send_requested.emit()
                return
            if modifiers & Qt.KeyboardModifier.ShiftModifier:
                # Shift+Enter would insert a paragraph separator; a plain newline is expected.
                self.insertPlainText("\n")
                event.accept()
                return
        if key == Qt.Key.Key_Escape:
            event.accept()
            self.stop_requested.emit()
            return
        if key == Qt.Key.Key_Up and not self.toPlainText():
            event.accept()
            self.edit_last_requested.emit()
            return
        super().keyPressEvent(event)

    def sizeHint(self) -> QSize:
        line = self.fontMetrics().lineSpacing()
        lines = max(2, min(self.MAX_LINES, self.document().blockCount()))
        margins = self.contentsMargins()
        height = (
            lines * line + 2 * self.document().documentMargin() + margins.top() + margins.bottom()
        )
        return QSize(super().sizeHint().width(), int(height))

    def minimumSizeHint(self) -> QSize:
        return QSize(100, self.fontMetrics().lineSpacing() * 2)


class Composer(QWidget):
    """The message box with its Send and Stop buttons."""

    send_requested = Signal()
    """The user asked to send what is typed (Enter or the Send button)."""
    stop_requested = Signal()
    """The user asked to stop the answer being written (Esc or the Stop button)."""
    edit_last_requested = Signal()
    """The user asked to edit their last question (Up in the empty box)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input = MessageInput()
        # Off until the window says the data folder wants it (Settings > Check spelling).
        self.spelling = SpellingHighlighter(self.input.document())
        self.input.send_requested.connect(self.send_requested)
        self.input.stop_requested.connect(self.stop_requested)
        self.input.edit_last_requested.connect(self.edit_last_requested)
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send message")
        self.send_button.setToolTip("Send your message (Enter)")
        self.send_button.clicked.connect(self.send_requested)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop answer")
        self.stop_button.setToolTip("Stop the answer being written and keep what it has (Esc)")
        self.stop_button.clicked.connect(self.stop_requested)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.input, 1)
        layout.addLayout(buttons)

    def text(self) -> str:
        return self.input.text()

    def clear(self) -> None:
        self.input.clear()

    def set_text(self, text: str) -> None:
        """Put text back in the box (a message that could not be sent), cursor at its end."""
        self.input.setPlainText(text)
        self.input.moveCursor(QTextCursor.MoveOperation.End)

    def set_spell_check(self, enabled: bool) -> None:
        """Underline misspelt words in the message box (where a dictionary is available)."""
        self.spelling.set_enabled(enabled)

    def set_state(self, *, generating: bool, can_send: bool) -> None:
        self.send_button.setEnabled(can_send and not generating)
        self.stop_button.setEnabled(generating)
