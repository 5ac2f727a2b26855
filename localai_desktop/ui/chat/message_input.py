"""Where people type: Enter sends, Shift+Enter adds a line, Esc stops; Send and Stop."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QMimeData, QSize, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.prompts.library import Prompt
from localai_desktop.ui.chat.attachment_bar import AttachmentBar, dropped_files
from localai_desktop.ui.chat.prompt_picker import (
    PICKER_QUERY,
    PromptFieldsDialog,
    PromptPicker,
    unfilled_fields,
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
    files_dropped = Signal(list)
    """Files were dropped on the box: (paths) to attach, not text to insert."""

    MAX_LINES = 8
    # The keys handled below, as Help > Keyboard shortcuts lists them: (keys, what they do).
    KEYS = (
        ("Enter", "Send the message"),
        ("Shift+Enter", "Start a new line"),
        ("Esc", "Stop the answer being written"),
        ("Up (in an empty box)", "Edit your last question"),
        ("/", "Insert a prompt from the library (at the start of an empty box)"),
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
        self.key_handler: Callable[[QKeyEvent], bool] | None = None
        """Sees each key first (the prompt list, while it is open); True: it was used."""

    def text(self) -> str:
        return self.toPlainText()

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return bool(dropped_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = dropped_files(source)
        if files:
            self.files_dropped.emit(files)  # attached, never pasted as file names
            return
        super().insertFromMimeData(source)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.key_handler is not None and self.key_handler(event):
            event.accept()
            return
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
    """The message box with its Send and Stop buttons, and the prompt list "/" opens."""

    send_requested = Signal()
    """The user asked to send what is typed (Enter or the Send button), any fields filled."""
    stop_requested = Signal()
    """The user asked to stop the answer being written (Esc or the Stop button)."""
    edit_last_requested = Signal()
    """The user asked to edit their last question (Up in the empty box)."""
    prompt_library_requested = Signal()
    """The user wants to see or change the prompt library."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input = MessageInput()
        # Off until the window says the data folder wants it (Settings > Check spelling).
        self.spelling = SpellingHighlighter(self.input.document())
        self.picker = PromptPicker()
        self.picker.prompt_chosen.connect(self._on_picker_prompt_chosen)
        self.picker.library_requested.connect(self.prompt_library_requested)
        self.input.key_handler = self.picker.handle_key
        self.input.textChanged.connect(self._on_input_text_changed)
        self.inserted_prompt: Prompt | None = None
        self.fields_dialog: PromptFieldsDialog | None = None
        self.input.send_requested.connect(self._on_send)
        self.input.stop_requested.connect(self.stop_requested)
        self.input.edit_last_requested.connect(self.edit_last_requested)
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send message")
        self.send_button.setToolTip("Send your message (Enter)")
        self.send_button.clicked.connect(self._on_send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop answer")
        self.stop_button.setToolTip("Stop the answer being written and keep what it has (Esc)")
        self.stop_button.clicked.connect(self.stop_requested)
        self.attachments = AttachmentBar()
        self.input.files_dropped.connect(self.attachments.add_paths)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.attachments.paperclip)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.input, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.picker)
        layout.addWidget(self.attachments)
        layout.addLayout(row)

    def text(self) -> str:
        return self.input.text()

    def clear(self) -> None:
        self.input.clear()
        self.inserted_prompt = None

    def set_prompts(self, prompts: Sequence[Prompt]) -> None:
        """The prompts "/" offers (the library's, newly read)."""
        self.picker.set_prompts(prompts)

    def insert_prompt(self, prompt: Prompt) -> None:
        """Put a prompt in the box, cursor at its end (where the text it works on goes)."""
        self.set_text(prompt.text)
        self.inserted_prompt = prompt
        self.input.setFocus()

    @Slot()
    def _on_send(self) -> None:
        missing = unfilled_fields(self.text(), self.inserted_prompt)
        if not missing or self.inserted_prompt is None:
            self.send_requested.emit()
            return
        dialog = PromptFieldsDialog(self.inserted_prompt.name, missing, self)
        dialog.accepted.connect(self._on_fields_dialog_accepted)
        self.fields_dialog = dialog
        dialog.open()

    @Slot()
    def _on_fields_dialog_accepted(self) -> None:
        dialog = self.fields_dialog
        if dialog is None:
            return
        self.fields_dialog = None
        self.set_text(dialog.filled(self.text()))
        dialog.deleteLater()
        self.send_requested.emit()

    @Slot(object)
    def _on_picker_prompt_chosen(self, prompt: Prompt) -> None:
        self.insert_prompt(prompt)

    @Slot()
    def _on_input_text_changed(self) -> None:
        text = self.input.text()
        query = PICKER_QUERY.match(text)
        if query is not None:
            self.picker.show_for(query.group(1))
        elif not self.picker.isHidden():
            self.picker.hide()
        if not text.strip():
            self.inserted_prompt = None

    def set_text(self, text: str) -> None:
        """Put text back in the box (a message that could not be sent), cursor at its end."""
        inserted = self.inserted_prompt
        self.input.setPlainText(text)
        self.inserted_prompt = inserted  # emptying the box on the way forgot it
        self.input.moveCursor(QTextCursor.MoveOperation.End)

    def set_spell_check(self, enabled: bool) -> None:
        """Underline misspelt words in the message box (where a dictionary is available)."""
        self.spelling.set_enabled(enabled)

    def set_state(self, *, generating: bool, can_send: bool) -> None:
        self.send_button.setEnabled(can_send and not generating)
        self.stop_button.setEnabled(generating)
