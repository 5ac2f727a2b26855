"""Where fine-tuning examples come from: a JSONL or CSV file, or answers from saved chats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.chat.conversations import ConversationStore, MessageStatus
from localai_desktop.ui.widgets.safe_text import inert_tooltip

_PREVIEW = 90


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _PREVIEW else flat[: _PREVIEW - 1] + "…"


class AnswerPicker(QDialog):
    """Conversations with their finished answers, each with a check box.

    Every checked answer becomes one example, with the conversation up to it as its context.
    """

    def __init__(self, store: ConversationStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pick answers from your chats")
        self.resize(640, 460)
        intro = QLabel(
            "Check the answers the model should learn from: good answers in the style you "
            "want. Each one is learned together with the conversation that led to it."
        )
        intro.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.header().setAccessibleName("Column headings")
        self.tree.setAccessibleName("Answers in your chats")
        self.tree.setUniformRowHeights(True)
        self._fill(store)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Use the checked answers")
        ok.setAccessibleName("Use the checked answers")
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.buttons)

    def _fill(self, store: ConversationStore) -> None:
        for summary in store.list():
            conversation = store.get(summary.id)
            item = QTreeWidgetItem([conversation.title or "Untitled conversation"])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsAutoTristate)
            item.setCheckState(0, Qt.CheckState.Unchecked)
            question = ""
            for message in conversation.messages:
                if message.role == "user":
                    question = message.content
                    continue
                if message.role != "assistant" or message.status != MessageStatus.COMPLETE:
                    continue
                if not message.content.strip():
                    continue
                child = QTreeWidgetItem([f"{_preview(question)}  →  {_preview(message.content)}"])
                child.setData(0, Qt.ItemDataRole.UserRole, message.id)
                child.setToolTip(
                    0,
                    inert_tooltip(f"You: {question[:800]}\n\nAnswer: {message.content[:800]}"),
                )
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                child.setCheckState(0, Qt.CheckState.Unchecked)
                item.addChild(child)
            if item.childCount():
                self.tree.addTopLevelItem(item)
        if self.tree.topLevelItemCount() == 0:
            empty = QTreeWidgetItem(["You have no finished answers in your chats yet."])
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.tree.addTopLevelItem(empty)
        self.tree.expandAll()

    def answer_items(self) -> list[QTreeWidgetItem]:
        items = []
        for top in range(self.tree.topLevelItemCount()):
            parent = self.tree.topLevelItem(top)
            items += [parent.child(i) for i in range(parent.childCount())]
        return items

    def chosen_ids(self) -> list[int]:
        """The ids of the checked answers, in the order shown."""
        return [
            int(item.data(0, Qt.ItemDataRole.UserRole))
            for item in self.answer_items()
            if item.checkState(0) == Qt.CheckState.Checked
        ]


def ask_for_dataset_file(parent: QWidget) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Import examples", "", "Examples (*.jsonl *.json *.ndjson *.csv *.tsv)"
    )
    return Path(path) if path else None


class ExamplesSection(QGroupBox):
    """Import a file or pick answers, and one line saying what the examples are."""

    file_chosen = Signal(str)
    """The user chose a dataset file: (path)."""
    answers_chosen = Signal(object)
    """The user picked answers from their chats: (list of message ids)."""

    def __init__(self, title: str, store: ConversationStore, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self._store = store
        # Tests replace this to skip the system's file dialog.
        self.choose_file: Callable[[QWidget], Path | None] = ask_for_dataset_file
        self.picker: AnswerPicker | None = None
        self.import_button = QPushButton("Import a file…")
        self.import_button.setAccessibleName("Import examples from a file")
        self.import_button.setToolTip(
            "A .jsonl file (chat messages, or prompt and completion) or a .csv file with two "
            "columns: instruction and answer"
        )
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.pick_button = QPushButton("Pick from your chats…")
        self.pick_button.setAccessibleName("Pick answers from your chats")
        self.pick_button.setToolTip("Use answers from your saved conversations as examples")
        self.pick_button.clicked.connect(self._on_pick_button_clicked)
        self.line = QLabel("No examples yet.")
        self.line.setTextFormat(Qt.TextFormat.PlainText)
        self.line.setWordWrap(True)
        self.line.setStyleSheet("color: palette(placeholder-text);")
        self.line.setAccessibleName("Examples")
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.pick_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.line)

    def show_text(self, text: str) -> None:
        self.line.setText(text)

    @Slot()
    def _on_import_button_clicked(self) -> None:
        path = self.choose_file(self)
        if path is not None:
            self.file_chosen.emit(str(path))

    @Slot()
    def _on_pick_button_clicked(self) -> None:
        picker = AnswerPicker(self._store, self)
        picker.accepted.connect(self._on_picker_accepted)
        picker.finished.connect(picker.deleteLater)
        self.picker = picker
        picker.open()

    @Slot()
    def _on_picker_accepted(self) -> None:
        if self.picker is not None:
            ids = self.picker.chosen_ids()
            self.picker = None
            if ids:
                self.answers_chosen.emit(ids)
