"""A list of named things (conversations, collections) that can be renamed in place, and the
panel around it: a heading, a New button, and Rename and Delete buttons under the list."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.ui.widgets.confirm import confirm_delete
from localai_desktop.ui.widgets.list_actions import ButtonMenu
from localai_desktop.ui.widgets.safe_text import inert_tooltip

_ID_ROLE = Qt.ItemDataRole.UserRole
_NAME_ROLE = Qt.ItemDataRole.UserRole + 1


class NamedList(QListWidget):
    """Rows that each carry an id and a name; F2 (or start_rename) edits the name in place.

    An edited name has its whitespace tidied; an empty or unchanged one is put back silently,
    anything else is shown as typed and announced with `rename_committed`.
    """

    rename_committed = Signal(int, str)
    """The user gave a row a new name: (id, name)."""

    # Keys Qt's list handles itself, as Help > Keyboard shortcuts lists them.
    KEYS = (("F2", "Rename the selected conversation or collection"),)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.itemChanged.connect(self._on_item_changed)

    @staticmethod
    def new_item(item_id: int, name: str, tooltip: str) -> QListWidgetItem:
        """A renamable row for `item_id`, to add or insert."""
        item = QListWidgetItem(name)
        item.setData(_ID_ROLE, item_id)
        item.setData(_NAME_ROLE, name)
        item.setToolTip(inert_tooltip(tooltip))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        return item

    @staticmethod
    def id_of(item: QListWidgetItem) -> int:
        return int(item.data(_ID_ROLE))

    @staticmethod
    def name_of(item: QListWidgetItem) -> str:
        return str(item.data(_NAME_ROLE))

    def item_for(self, item_id: int | None) -> QListWidgetItem | None:
        for row in range(self.count()):
            item = self.item(row)
            if item.data(_ID_ROLE) == item_id:
                return item
        return None

    def current_id(self) -> int | None:
        item = self.currentItem()
        return self.id_of(item) if item is not None else None

    def ids(self) -> list[int]:
        return [self.id_of(self.item(row)) for row in range(self.count())]

    def start_rename(self) -> None:
        """Open the inline editor on the current row."""
        item = self.currentItem()
        if item is not None:
            self.editItem(item)

    def _set_name(self, item: QListWidgetItem, name: str) -> None:
        self.blockSignals(True)
        try:
            item.setText(name)
            item.setData(_NAME_ROLE, name)
        finally:
            self.blockSignals(False)

    @Slot(QListWidgetItem)
    def _on_item_changed(self, item: QListWidgetItem) -> None:
        name = " ".join(item.text().split())
        old_name = self.name_of(item)
        if not name or name == old_name:
            self._set_name(item, old_name)  # an empty name is no name: the old one stays
            return
        # Shown as typed; the owner puts the old name back if the rename is refused.
        self._set_name(item, name)
        self.rename_committed.emit(self.id_of(item), name)


@dataclass(frozen=True)
class ListPanelTexts:
    """What a NamedListPanel says: its heading, buttons and delete confirmation."""

    heading: str  # "Conversations"; also the list's accessible name
    description: str  # the list's accessible description
    noun: str  # "conversation": "Rename conversation", "Delete the conversation “…”?"
    new_button: str  # "New chat"
    new_name: str  # the New button's accessible name
    new_tip: str
    rename_tip: str
    delete_tip: str
    delete_details: str  # under the delete question: what goes and what stays


class NamedListPanel(QWidget):
    """A heading, a New button, a NamedList, and Rename/Delete buttons for its current row.

    Deleting asks first (naming the row). Subclasses announce the picked row with their own
    signal (`_announce_selected`).
    """

    new_requested = Signal()
    """The user asked for a new, empty item."""
    rename_requested = Signal(int, str)
    """The user gave an item a new name: (id, name)."""
    delete_requested = Signal(int)
    """The user confirmed deleting an item: (id)."""

    def __init__(self, texts: ListPanelTexts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._texts = texts
        heading = QLabel(texts.heading)
        heading.setStyleSheet("font-weight: 600;")
        self.list = NamedList()
        self.list.setAccessibleName(texts.heading)
        self.list.setAccessibleDescription(texts.description)
        self.list.currentItemChanged.connect(self._on_list_current_item_changed)
        self.list.rename_committed.connect(self.rename_requested)

        self.new_button = QPushButton(texts.new_button)
        self.new_button.setAccessibleName(texts.new_name)
        self.new_button.setToolTip(texts.new_tip)
        self.new_button.clicked.connect(self.new_requested)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setAccessibleName(f"Rename {texts.noun}")
        self.rename_button.setToolTip(texts.rename_tip)
        self.rename_button.clicked.connect(self.start_rename)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName(f"Delete {texts.noun}")
        self.delete_button.setToolTip(texts.delete_tip)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        # Right click: New, Rename, Delete; the Delete key asks to delete the selected row.
        self.list_menu = ButtonMenu(
            self.list,
            [self.new_button, self.rename_button, self.delete_button],
            f"{texts.heading} actions",
            delete=self.delete_button,
        )

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading)
        layout.addWidget(self.new_button)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def current_id(self) -> int | None:
        return self.list.current_id()

    def ids(self) -> list[int]:
        return self.list.ids()

    @Slot()
    def start_rename(self) -> None:
        """Open the inline editor on the current item's name."""
        self.list.start_rename()

    def _announce_selected(self, item_id: int) -> None:
        """The user picked the item `item_id`: emit the subclass's signal."""
        raise NotImplementedError

    def _update_buttons(self) -> None:
        has_current = self.list.currentItem() is not None
        self.rename_button.setEnabled(has_current)
        self.delete_button.setEnabled(has_current)

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_list_current_item_changed(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        self._update_buttons()
        if current is not None:
            self._announce_selected(NamedList.id_of(current))

    @Slot()
    def _on_delete_button_clicked(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        item_id = NamedList.id_of(item)
        noun = self._texts.noun
        confirm_delete(
            self,
            f"Delete {noun}",
            f"Delete the {noun} “{item.text()}”?",
            self._texts.delete_details,
            lambda: self.delete_requested.emit(item_id),
        )
