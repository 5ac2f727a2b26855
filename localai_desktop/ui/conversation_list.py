"""The list of conversations on the left of the Chat tab: pick, start, rename and delete."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.conversations import Conversation
from localai_desktop.ui.confirm import confirm_delete
from localai_desktop.ui.named_list import NamedList


def describe_time(moment: datetime) -> str:
    """A stored UTC time as the local time people read: "28 Nov 2026, 15:04"."""
    local = moment.replace(tzinfo=timezone.utc).astimezone()
    return local.strftime("%d %b %Y, %H:%M")


class ConversationList(QWidget):
    """Shows conversations newest first; asks before deleting; renames in place."""

    conversation_selected = Signal(int)
    """The user picked a conversation: (conversation_id)."""
    new_requested = Signal()
    """The user asked for a new, empty conversation."""
    rename_requested = Signal(int, str)
    """The user gave a conversation a new title: (conversation_id, title)."""
    delete_requested = Signal(int)
    """The user confirmed deleting a conversation: (conversation_id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QLabel("Conversations")
        heading.setStyleSheet("font-weight: 600;")
        self._list = NamedList()
        self._list.setAccessibleName("Conversations")
        self._list.setAccessibleDescription("Your conversations, the most recent first.")
        self._list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._list.setUniformItemSizes(True)
        self._list.setSpacing(1)
        self._list.currentItemChanged.connect(self._on_list_current_item_changed)
        self._list.rename_committed.connect(self.rename_requested)

        self.new_button = QPushButton("New chat")
        self.new_button.setAccessibleName("New chat")
        self.new_button.setToolTip("Start a new conversation")
        self.new_button.clicked.connect(self._on_new_button_clicked)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setAccessibleName("Rename conversation")
        self.rename_button.setToolTip("Give the selected conversation another title (or press F2)")
        self.rename_button.clicked.connect(self._on_rename_button_clicked)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName("Delete conversation")
        self.delete_button.setToolTip("Delete the selected conversation and all its messages")
        self.delete_button.clicked.connect(self._on_delete_button_clicked)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading)
        layout.addWidget(self.new_button)
        layout.addWidget(self._list, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- what the Chat tab calls ----------------------------------------------------------

    def set_conversations(
        self, conversations: Sequence[Conversation], current_id: int | None
    ) -> None:
        """Show these conversations (newest first) with `current_id` selected, silently."""
        self._list.blockSignals(True)
        try:
            self._list.clear()
            for conversation in conversations:
                item = self._new_item(conversation)
                self._list.addItem(item)
                if conversation.id == current_id:
                    self._list.setCurrentItem(item)
        finally:
            self._list.blockSignals(False)
        self._update_buttons()

    def put_first(self, conversation: Conversation) -> None:
        """Show a conversation just written in at the top (added if new), silently."""
        self._list.blockSignals(True)
        try:
            old = self._list.item_for(conversation.id)
            was_current = old is not None and old is self._list.currentItem()
            if old is not None:
                self._list.takeItem(self._list.row(old))
            item = self._new_item(conversation)
            self._list.insertItem(0, item)
            if was_current:
                self._list.setCurrentItem(item)
        finally:
            self._list.blockSignals(False)
        self._update_buttons()

    def current_id(self) -> int | None:
        return self._list.current_id()

    def select(self, conversation_id: int | None) -> None:
        """Mark a conversation as the current one without announcing it."""
        self._list.blockSignals(True)
        try:
            item = self._list.item_for(conversation_id)
            if item is None:
                self._list.setCurrentRow(-1)
            else:
                self._list.setCurrentItem(item)
        finally:
            self._list.blockSignals(False)
        self._update_buttons()

    def ids(self) -> list[int]:
        return self._list.ids()

    def start_rename(self) -> None:
        """Open the inline editor on the current conversation's title."""
        self._list.start_rename()

    # -- slots ----------------------------------------------------------------------------

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_list_current_item_changed(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        self._update_buttons()
        if current is not None:
            self.conversation_selected.emit(NamedList.id_of(current))

    @Slot()
    def _on_new_button_clicked(self) -> None:
        self.new_requested.emit()

    @Slot()
    def _on_rename_button_clicked(self) -> None:
        self.start_rename()

    @Slot()
    def _on_delete_button_clicked(self) -> None:
        item = self._list.currentItem()
        if item is None:
            return
        conversation_id = NamedList.id_of(item)
        confirm_delete(
            self,
            "Delete conversation",
            f"Delete the conversation “{item.text()}”?",
            "All its messages are deleted too. This cannot be undone.",
            lambda: self.delete_requested.emit(conversation_id),
        )

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _new_item(conversation: Conversation) -> QListWidgetItem:
        return NamedList.new_item(
            conversation.id,
            conversation.title,
            f"{conversation.title}\nStarted {describe_time(conversation.created_at)}",
        )

    def _update_buttons(self) -> None:
        has_current = self._list.currentItem() is not None
        self.rename_button.setEnabled(has_current)
        self.delete_button.setEnabled(has_current)
