"""The list of conversations on the left of the Chat tab: pick, start, rename and delete."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidgetItem, QPushButton, QWidget

from localai_desktop.core.chat.conversations import Conversation
from localai_desktop.core.chat.organise import TRASH_DAYS
from localai_desktop.ui.widgets.named_list import ListPanelTexts, NamedList, NamedListPanel

_TEXTS = ListPanelTexts(
    heading="Conversations",
    description="Your conversations, the most recent first.",
    noun="conversation",
    new_button="New chat",
    new_name="New chat",
    new_tip="Start a new conversation",
    rename_tip="Give the selected conversation another title (or press F2)",
    delete_tip="Move the selected conversation to the Trash",
    delete_details=(
        f"It moves to the Trash with all its messages; you can restore it from there for "
        f"{TRASH_DAYS} days."
    ),
)


def describe_time(moment: datetime) -> str:
    """A stored UTC time as the local time people read: "28 Nov 2026, 15:04"."""
    local = moment.replace(tzinfo=timezone.utc).astimezone()
    return local.strftime("%d %b %Y, %H:%M")


class ConversationList(NamedListPanel):
    """Shows conversations newest first; asks before deleting; renames in place.

    Also emits the panel's new_requested, rename_requested(id, title) and delete_requested(id).
    """

    conversation_selected = Signal(int)
    """The user picked a conversation: (conversation_id)."""
    trash_requested = Signal()
    """The user wants to see the Trash."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(_TEXTS, parent)
        self.trash_button = QPushButton("Trash…")
        self.trash_button.setAccessibleName("Open the trash")
        self.trash_button.setToolTip("Deleted conversations: restore them, or delete them for good")
        self.trash_button.clicked.connect(self.trash_requested)
        layout = self.layout()
        if layout is not None:
            layout.addWidget(self.trash_button)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(True)
        self.list.setSpacing(1)
        self._update_buttons()

    # -- what the Chat tab calls ----------------------------------------------------------

    def set_conversations(
        self, conversations: Sequence[Conversation], current_id: int | None
    ) -> None:
        """Show these conversations (newest first) with `current_id` selected, silently."""
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for conversation in conversations:
                item = self._new_item(conversation)
                self.list.addItem(item)
                if conversation.id == current_id:
                    self.list.setCurrentItem(item)
        finally:
            self.list.blockSignals(False)
        self._update_buttons()

    def put_first(self, conversation: Conversation) -> None:
        """Show a conversation just written in at the top (added if new), silently."""
        self.list.blockSignals(True)
        try:
            old = self.list.item_for(conversation.id)
            was_current = old is not None and old is self.list.currentItem()
            if old is not None:
                self.list.takeItem(self.list.row(old))
            item = self._new_item(conversation)
            self.list.insertItem(0, item)
            if was_current:
                self.list.setCurrentItem(item)
        finally:
            self.list.blockSignals(False)
        self._update_buttons()

    def select(self, conversation_id: int | None) -> None:
        """Mark a conversation as the current one without announcing it."""
        self.list.blockSignals(True)
        try:
            item = self.list.item_for(conversation_id)
            if item is None:
                self.list.setCurrentRow(-1)
            else:
                self.list.setCurrentItem(item)
        finally:
            self.list.blockSignals(False)
        self._update_buttons()

    # -- helpers --------------------------------------------------------------------------

    def _announce_selected(self, item_id: int) -> None:
        self.conversation_selected.emit(item_id)

    @staticmethod
    def _new_item(conversation: Conversation) -> QListWidgetItem:
        lines = [conversation.title, f"Started {describe_time(conversation.created_at)}"]
        if conversation.pinned:
            lines.append("Pinned")
        if conversation.folder:
            lines.append(f"Folder: {conversation.folder}")
        if conversation.tags:
            lines.append(f"Tags: {', '.join(conversation.tags)}")
        item = NamedList.new_item(conversation.id, conversation.title, "\n".join(lines))
        if conversation.pinned:
            font = item.font()
            font.setBold(True)  # pinned ones stand out, at the top
            item.setFont(font)
        return item
