"""The list of document collections on the left of the Documents tab: pick, create, rename,
delete."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.documents.records import FILE_INDEXED, CollectionInfo
from localai_desktop.ui.confirm import confirm_delete
from localai_desktop.ui.named_list import NamedList


def describe_collection(collection: CollectionInfo) -> str:
    """ "12 documents, 10 indexed · 340 passages · embedding model: all-MiniLM-L6-v2"."""
    total = collection.file_count
    documents = "1 document" if total == 1 else f"{total:,} documents"
    indexed = dict(collection.status_counts).get(FILE_INDEXED, 0)
    if total and indexed != total:
        documents += f", {indexed:,} indexed"
    passages = (
        "1 passage" if collection.chunk_count == 1 else f"{collection.chunk_count:,} passages"
    )
    return f"{documents} · {passages} · embedding model: {collection.embedding_model_name}"


class CollectionList(QWidget):
    """Shows the collections by name; asks before deleting; renames in place."""

    collection_selected = Signal(int)
    """The user picked a collection: (collection_id)."""
    new_requested = Signal()
    """The user wants a new collection."""
    rename_requested = Signal(int, str)
    """The user gave a collection a new name: (collection_id, name)."""
    delete_requested = Signal(int)
    """The user confirmed deleting a collection: (collection_id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QLabel("Collections")
        heading.setStyleSheet("font-weight: 600;")
        self.list = NamedList()
        self.list.setAccessibleName("Collections")
        self.list.setAccessibleDescription("Your document collections, by name.")
        self.list.currentItemChanged.connect(self._on_list_current_item_changed)
        self.list.rename_committed.connect(self.rename_requested)

        self.new_button = QPushButton("New collection…")
        self.new_button.setAccessibleName("New collection")
        self.new_button.setToolTip("Create a collection of documents to search in chats")
        self.new_button.clicked.connect(self.new_requested)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setAccessibleName("Rename collection")
        self.rename_button.setToolTip("Give the selected collection another name (or press F2)")
        self.rename_button.clicked.connect(self._on_rename_button_clicked)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName("Delete collection")
        self.delete_button.setToolTip(
            "Delete the selected collection's index (your documents themselves are not touched)"
        )
        self.delete_button.clicked.connect(self._on_delete_button_clicked)

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
        self._busy: set[int] = set()
        self._update_buttons()

    # -- what the Documents tab calls -----------------------------------------------------

    def set_collections(
        self, collections: Sequence[CollectionInfo], current_id: int | None
    ) -> None:
        """Show these collections with `current_id` selected, silently."""
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for collection in collections:
                item = NamedList.new_item(
                    collection.id,
                    collection.name,
                    f"{collection.name}\n{describe_collection(collection)}",
                )
                self.list.addItem(item)
                if collection.id == current_id:
                    self.list.setCurrentItem(item)
        finally:
            self.list.blockSignals(False)
        self._update_buttons()

    def set_busy(self, collection_ids: set[int]) -> None:
        """Collections being indexed (or waiting to be) cannot be deleted until that ends."""
        self._busy = set(collection_ids)
        self._update_buttons()

    def current_id(self) -> int | None:
        return self.list.current_id()

    def select(self, collection_id: int | None) -> None:
        """Make a collection the current one and announce it (the tab shows its files)."""
        item = self.list.item_for(collection_id)
        if item is None:
            self.list.setCurrentRow(-1)
        else:
            self.list.setCurrentItem(item)
        self._update_buttons()

    def name_of(self, collection_id: int) -> str | None:
        item = self.list.item_for(collection_id)
        return NamedList.name_of(item) if item is not None else None

    def names(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def start_rename(self) -> None:
        self.list.start_rename()

    # -- slots ----------------------------------------------------------------------------

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_list_current_item_changed(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        self._update_buttons()
        if current is not None:
            self.collection_selected.emit(NamedList.id_of(current))

    @Slot()
    def _on_rename_button_clicked(self) -> None:
        self.start_rename()

    @Slot()
    def _on_delete_button_clicked(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        collection_id = NamedList.id_of(item)
        confirm_delete(
            self,
            "Delete collection",
            f"Delete the collection “{item.text()}”?",
            "Its index is deleted; your documents themselves stay where they are. Chats keep "
            "their answers and the passages they quoted.",
            lambda: self.delete_requested.emit(collection_id),
        )

    # -- helpers --------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        current = self.current_id()
        self.rename_button.setEnabled(current is not None)
        busy = current in self._busy
        self.delete_button.setEnabled(current is not None and not busy)
        self.delete_button.setToolTip(
            "Cancel indexing first, then delete the collection"
            if busy
            else "Delete the selected collection's index (your documents themselves are not "
            "touched)"
        )
