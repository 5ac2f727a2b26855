"""Choose which messages of a conversation to export: all are ticked; untick what to leave out."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.chat.conversations import Message
from localai_desktop.core.export.document import SPEAKERS, when
from localai_desktop.ui.widgets.safe_text import plain_label

_ID_ROLE = Qt.ItemDataRole.UserRole
PREVIEW_CHARS = 90


def preview(message: Message) -> str:
    """ "User · 2026-12-04 16:20 UTC: Which clauses…" (one line)."""
    text = " ".join(message.content.split()) or "(empty)"
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1].rstrip() + "…"
    speaker = SPEAKERS.get(message.role, message.role.capitalize())
    return f"{speaker} · {when(message.created_at)}: {text}"


class MessageChooser(QDialog):
    """A list of the conversation's messages with tick boxes; Export goes on with the ticked."""

    def __init__(self, messages: Sequence[Message], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export selected messages")
        self.resize(640, 420)
        intro = plain_label(
            "Tick the messages to export (a question and its answer go well together):"
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Messages")
        # A long line is cut short with "…" (its start says which message it is).
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        for message in messages:
            item = QListWidgetItem(preview(message))
            item.setData(_ID_ROLE, message.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.list.addItem(item)
        self.list.itemChanged.connect(self._on_list_item_changed)
        all_button = QPushButton("Tick all")
        all_button.clicked.connect(lambda: self._tick_all(Qt.CheckState.Checked))
        none_button = QPushButton("Untick all")
        none_button.clicked.connect(lambda: self._tick_all(Qt.CheckState.Unchecked))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.export_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.export_button.setText("Export…")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(all_button)
        row.addWidget(none_button)
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)

    def chosen_ids(self) -> list[int]:
        return [
            int(self.list.item(row).data(_ID_ROLE))
            for row in range(self.list.count())
            if self.list.item(row).checkState() == Qt.CheckState.Checked
        ]

    def _tick_all(self, state: Qt.CheckState) -> None:
        for row in range(self.list.count()):
            self.list.item(row).setCheckState(state)

    @Slot(QListWidgetItem)
    def _on_list_item_changed(self, _item: QListWidgetItem) -> None:
        self.export_button.setEnabled(bool(self.chosen_ids()))
