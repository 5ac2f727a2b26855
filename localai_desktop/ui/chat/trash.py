"""The trash of conversations: the Undo notice after a delete, and the Trash dialog.

A deleted conversation only moves to the trash (core.chat.organise); it is deleted for good
when the trash is emptied, on request (asking first) or TRASH_DAYS after it was put there.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.organise import TRASH_DAYS
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.ui.chat.conversation_list import describe_time
from localai_desktop.ui.widgets.confirm import confirm_delete
from localai_desktop.ui.widgets.theme import NEUTRAL_BORDER, NEUTRAL_TINT

UNDO_SECONDS = 8


class UndoNotice(QFrame):
    """“‘Lease’ moved to the Trash. Undo” for a few seconds after a conversation is deleted."""

    undo_requested = Signal(int)
    """The user took the deletion back: (conversation_id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("undoNotice")
        self.setStyleSheet(
            f"QFrame#undoNotice {{ background: {NEUTRAL_TINT}; border: 1px solid "
            f"{NEUTRAL_BORDER}; border-radius: 4px; }}"
        )
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.setAccessibleName("Undo delete")
        self.undo_button.clicked.connect(self._on_undo_button_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.undo_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(UNDO_SECONDS * 1000)
        self._timer.timeout.connect(self.hide)
        self._conversation_id: int | None = None
        self.setAccessibleName("Deleted")
        self.hide()

    def show_for(self, conversation_id: int, title: str) -> None:
        self._conversation_id = conversation_id
        self.label.setText(f"“{title}” moved to the Trash (kept {TRASH_DAYS} days; File > Trash…).")
        self.show()
        self._timer.start()

    @Slot()
    def _on_undo_button_clicked(self) -> None:
        self._timer.stop()
        self.hide()
        if self._conversation_id is not None:
            self.undo_requested.emit(self._conversation_id)


class TrashDialog(QDialog):
    """Lists the conversations in the trash; restores them or deletes them for good."""

    conversations_changed = Signal()
    """Conversations were restored or deleted for good."""

    def __init__(self, store: ConversationStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self.setWindowTitle("Trash")
        intro = QLabel(
            f"Deleted conversations stay here for {TRASH_DAYS} days, then they are deleted for "
            "good. Restore one to see it in your list again."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Conversations in the trash")
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.hide()
        self.restore_button = QPushButton("Restore")
        self.restore_button.setAccessibleName("Restore conversation")
        self.restore_button.clicked.connect(self._on_restore_button_clicked)
        self.delete_button = QPushButton("Delete for good…")
        self.delete_button.setAccessibleName("Delete for good")
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.empty_button = QPushButton("Empty trash…")
        self.empty_button.setAccessibleName("Empty trash")
        self.empty_button.clicked.connect(self._on_empty_button_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.restore_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.empty_button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        layout.addWidget(close)
        self.resize(520, 420)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        try:
            trashed = self._store.trashed()
        except LocalAIError as error:
            self._show_error(error.message)
            trashed = []
        for conversation in trashed:
            deleted = describe_time(conversation.deleted_at) if conversation.deleted_at else ""
            item = QListWidgetItem(f"{conversation.title}\nDeleted {deleted}")
            item.setData(Qt.ItemDataRole.UserRole, conversation.id)
            self.list.addItem(item)
        if not trashed:
            empty = QListWidgetItem("The trash is empty.")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(empty)
        self.empty_button.setEnabled(bool(trashed))
        self._update_buttons()

    def titles(self) -> list[str]:
        return [
            self.list.item(row).text().split("\n")[0]
            for row in range(self.list.count())
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) is not None
        ]

    def select_title(self, title: str) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setSelected(item.text().split("\n")[0] == title)

    def _selected_ids(self) -> list[int]:
        return [
            int(item.data(Qt.ItemDataRole.UserRole))
            for item in self.list.selectedItems()
            if item.data(Qt.ItemDataRole.UserRole) is not None
        ]

    @Slot()
    def _update_buttons(self) -> None:
        chosen = bool(self._selected_ids())
        self.restore_button.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _changed(self) -> None:
        self.reload()
        self.conversations_changed.emit()

    @Slot()
    def _on_restore_button_clicked(self) -> None:
        try:
            for conversation_id in self._selected_ids():
                self._store.restore(conversation_id)
        except LocalAIError as error:
            self._show_error(error.message)
        self._changed()

    @Slot()
    def _on_delete_button_clicked(self) -> None:
        ids = self._selected_ids()
        if not ids:
            return
        count = "this conversation" if len(ids) == 1 else f"these {len(ids)} conversations"
        confirm_delete(
            self,
            "Delete for good",
            f"Delete {count} for good?",
            "They cannot be restored afterwards. The audit trail records the deletion.",
            lambda: self._delete(ids),
            action="Delete for good",
        )

    @Slot()
    def _on_empty_button_clicked(self) -> None:
        confirm_delete(
            self,
            "Empty trash",
            "Delete every conversation in the trash for good?",
            "They cannot be restored afterwards. The audit trail records the deletion.",
            lambda: self._delete(None),
            action="Empty trash",
        )

    def _delete(self, ids: list[int] | None) -> None:
        try:
            if ids is None:
                self._store.empty_trash()
            else:
                for conversation_id in ids:
                    self._store.delete(conversation_id)
        except LocalAIError as error:
            self._show_error(error.message)
        self._changed()
