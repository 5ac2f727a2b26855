"""A list of named things (conversations, collections) that can be renamed in place."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

_ID_ROLE = Qt.ItemDataRole.UserRole
_NAME_ROLE = Qt.ItemDataRole.UserRole + 1


class NamedList(QListWidget):
    """Rows that each carry an id and a name; F2 (or start_rename) edits the name in place.

    An edited name has its whitespace tidied; an empty or unchanged one is put back silently,
    anything else is shown as typed and announced with `rename_committed`.
    """

    rename_committed = Signal(int, str)
    """The user gave a row a new name: (id, name)."""

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
        item.setToolTip(tooltip)
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
