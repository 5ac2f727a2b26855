"""Over the conversation list: which conversations to show and in what order; pin, folder, tags.

The choices apply to the list only (core.chat.organise.arrange); pins, folders and tags are
saved with each conversation. Folder and tags are asked for in small non-blocking dialogs.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.chat.conversations import Conversation
from localai_desktop.core.chat.organise import ORDERS, ListFilter

# The filter's choices as item data: strings, which QComboBox.findData compares reliably.
_ALL, _PINNED, _FOLDER, _TAG = "all", "pinned", "folder:", "tag:"


class OrganiseBar(QWidget):
    """A filter (all, pinned, a folder, a tag), a sort order, and Pin / Folder / Tags."""

    arrangement_changed = Signal()
    """The filter or the order changed: show the list again."""
    pin_requested = Signal(bool)
    """Pin (True) or unpin the open conversation."""
    folder_chosen = Signal(str)
    """Put the open conversation in this folder ("": none)."""
    tags_chosen = Signal(list)
    """Give the open conversation these tags: (list of str)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.show_box = QComboBox()
        self.show_box.setAccessibleName("Show conversations")
        self.show_box.setToolTip("Show all conversations, the pinned ones, a folder or a tag")
        self.order_box = QComboBox()
        self.order_box.setAccessibleName("Order of conversations")
        for key, name in ORDERS.items():
            self.order_box.addItem(name, key)
        for box in (self.show_box, self.order_box):
            # Narrow is fine (the open list shows the whole names): the column stays narrow.
            box.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            box.setMinimumContentsLength(6)
        self.pin_button = QToolButton()
        self.pin_button.setText("Pin")
        self.pin_button.setCheckable(True)
        self.pin_button.setAccessibleName("Pin conversation")
        self.pin_button.setToolTip("Keep the open conversation at the top of the list")
        self.folder_button = QToolButton()
        self.folder_button.setText("Folder…")
        self.folder_button.setAccessibleName("Put conversation in a folder")
        self.tags_button = QToolButton()
        self.tags_button.setText("Tags…")
        self.tags_button.setAccessibleName("Tag conversation")
        self.dialog: QInputDialog | None = None  # the folder or tags question now open

        self.show_box.currentIndexChanged.connect(self._on_box_current_index_changed)
        self.order_box.currentIndexChanged.connect(self._on_box_current_index_changed)
        self.pin_button.clicked.connect(self.pin_requested)
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.tags_button.clicked.connect(self._on_tags_button_clicked)

        boxes = QHBoxLayout()
        boxes.setContentsMargins(0, 0, 0, 0)
        boxes.addWidget(self.show_box, 1)
        boxes.addWidget(self.order_box, 1)
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.pin_button)
        actions.addWidget(self.folder_button)
        actions.addWidget(self.tags_button)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(boxes)
        layout.addLayout(actions)
        self._folders: list[str] = []
        self._tags: list[str] = []
        self._current: Conversation | None = None
        self.set_choices([], [])
        self.set_current(None)

    # -- what the Chat tab calls ----------------------------------------------------------

    def set_choices(self, folders: Sequence[str], tags: Sequence[str]) -> None:
        """The folders and tags in use, to filter by (keeping the choice where it still is)."""
        self._folders, self._tags = list(folders), list(tags)
        chosen = self.show_box.currentData()
        self.show_box.blockSignals(True)
        try:
            self.show_box.clear()
            self.show_box.addItem("All", _ALL)
            self.show_box.addItem("Pinned", _PINNED)
            for folder in folders:
                self.show_box.addItem(f"Folder: {folder}", _FOLDER + folder)
            for tag in tags:
                self.show_box.addItem(f"Tag: {tag}", _TAG + tag)
            index = self.show_box.findData(chosen) if chosen is not None else 0
            self.show_box.setCurrentIndex(max(0, index))
        finally:
            self.show_box.blockSignals(False)
        if chosen is not None and self.show_box.currentData() != chosen:
            self.arrangement_changed.emit()  # its folder or tag is gone: showing all now

    def set_current(self, conversation: Conversation | None) -> None:
        """The open conversation, whose pin, folder and tags the buttons change."""
        self._current = conversation
        for button in (self.pin_button, self.folder_button, self.tags_button):
            button.setEnabled(conversation is not None)
        self.pin_button.setChecked(bool(conversation and conversation.pinned))
        self.pin_button.setText("Unpin" if conversation and conversation.pinned else "Pin")
        folder = conversation.folder if conversation else ""
        tags = ", ".join(conversation.tags) if conversation else ""
        self.folder_button.setToolTip(f"Folder: {folder}" if folder else "Put it in a folder")
        self.tags_button.setToolTip(f"Tags: {tags}" if tags else "Give it tags")

    def list_filter(self) -> ListFilter:
        chosen = str(self.show_box.currentData() or _ALL)
        if chosen == _PINNED:
            return ListFilter(pinned_only=True)
        if chosen.startswith(_FOLDER):
            return ListFilter(folder=chosen[len(_FOLDER) :])
        if chosen.startswith(_TAG):
            return ListFilter(tag=chosen[len(_TAG) :])
        return ListFilter()

    def order(self) -> str:
        return str(self.order_box.currentData())

    def show_only(self, text: str) -> None:
        """Choose the filter shown as `text` ("Pinned", "Folder: Smith", ...)."""
        self.show_box.setCurrentIndex(max(0, self.show_box.findText(text)))

    # -- slots ----------------------------------------------------------------------------

    @Slot(int)
    def _on_box_current_index_changed(self, _index: int) -> None:
        self.arrangement_changed.emit()

    @Slot()
    def _on_folder_button_clicked(self) -> None:
        dialog = self._ask("Folder", "Folder for this conversation (empty: none):")
        dialog.setComboBoxItems(["", *self._folders])
        dialog.setComboBoxEditable(True)
        dialog.setTextValue(self._current.folder if self._current else "")
        dialog.textValueSelected.connect(self.folder_chosen)
        dialog.open()

    @Slot()
    def _on_tags_button_clicked(self) -> None:
        dialog = self._ask("Tags", "Tags for this conversation, separated by commas:")
        dialog.setTextValue(", ".join(self._current.tags) if self._current else "")
        dialog.textValueSelected.connect(self._on_tags_dialog_text_value_selected)
        dialog.open()

    @Slot(str)
    def _on_tags_dialog_text_value_selected(self, text: str) -> None:
        self.tags_chosen.emit([tag for tag in text.split(",") if tag.strip()])

    def _ask(self, title: str, label: str) -> QInputDialog:
        dialog = QInputDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        self.dialog = dialog
        return dialog
