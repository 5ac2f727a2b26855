"""The list of document collections on the left of the Documents tab: pick, create, rename,
delete."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from localai_desktop.core.documents.records import CollectionInfo, FileStatus
from localai_desktop.ui.widgets.named_list import ListPanelTexts, NamedList, NamedListPanel

_DELETE_TIP = "Delete the selected collection's index (your documents themselves are not touched)"
_TEXTS = ListPanelTexts(
    heading="Collections",
    description="Your document collections, by name.",
    noun="collection",
    new_button="New collection…",
    new_name="New collection",
    new_tip="Create a collection of documents to search in chats",
    rename_tip="Give the selected collection another name (or press F2)",
    delete_tip=_DELETE_TIP,
    delete_details="Its index is deleted; your documents themselves stay where they are. Chats "
    "keep their answers and the passages they quoted.",
)


def describe_collection(collection: CollectionInfo) -> str:
    """ "12 documents, 10 indexed · 340 passages · embedding model: all-MiniLM-L6-v2"."""
    total = collection.file_count
    documents = "1 document" if total == 1 else f"{total:,} documents"
    indexed = dict(collection.status_counts).get(FileStatus.INDEXED, 0)
    if total and indexed != total:
        documents += f", {indexed:,} indexed"
    passages = (
        "1 passage" if collection.chunk_count == 1 else f"{collection.chunk_count:,} passages"
    )
    return f"{documents} · {passages} · embedding model: {collection.embedding_model_name}"


class CollectionList(NamedListPanel):
    """Shows the collections by name; asks before deleting; renames in place.

    Also emits the panel's new_requested, rename_requested(id, name) and delete_requested(id).
    """

    collection_selected = Signal(int)
    """The user picked a collection: (collection_id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(_TEXTS, parent)
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

    # -- helpers --------------------------------------------------------------------------

    def _announce_selected(self, item_id: int) -> None:
        self.collection_selected.emit(item_id)

    def _update_buttons(self) -> None:
        super()._update_buttons()
        current = self.current_id()
        busy = current in self._busy
        self.delete_button.setEnabled(current is not None and not busy)
        self.delete_button.setToolTip(
            "Cancel indexing first, then delete the collection" if busy else _DELETE_TIP
        )
