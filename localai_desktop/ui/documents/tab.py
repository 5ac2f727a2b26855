"""The Documents tab: collections on the left; the chosen one's files, indexing and progress."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.indexer import IndexProgress
from localai_desktop.core.documents.records import CollectionInfo, DocumentFile
from localai_desktop.ui.documents.collection_dialog import NewCollectionDialog
from localai_desktop.ui.documents.collection_list import CollectionList
from localai_desktop.ui.documents.collection_view import (
    CollectionView,
    describe_outcome,
    unfinished_count,
)
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.workers.embedding import EmbeddingWorker, IndexingOutcome

# Collections whose indexing the user cancelled: not resumed on their own at the next start.
_PAUSED_KEY = "documents/paused"


class DocumentsTab(QWidget):
    """Creates collections, adds files and folders, and shows indexing as it happens."""

    collections_changed = Signal()
    """A collection was created, renamed, deleted or (re)indexed."""
    embedding_models_requested = Signal()
    """The user wants to get an embedding model (the window opens Models > Discover)."""

    def __init__(
        self,
        library: DocumentLibrary,
        worker: EmbeddingWorker,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._worker = worker
        self._settings = settings
        self._runs: dict[int, int] = {}  # request id -> collection id, running or waiting
        self._running: tuple[int, int] | None = None
        self._current_id: int | None = None
        # Files taken out by the person: a run's late news about them is not shown again.
        self._removed_ids: set[int] = set()
        self.new_dialog: NewCollectionDialog | None = None
        self._build()
        worker.indexing_started.connect(self._on_worker_indexing_started)
        worker.indexing_progressed.connect(self._on_worker_indexing_progressed)
        worker.files_changed.connect(self._on_worker_files_changed)
        worker.indexing_finished.connect(self._on_worker_indexing_finished)
        worker.indexing_failed.connect(self._on_worker_indexing_failed)
        self.refresh()

    def _build(self) -> None:
        self.collection_list = CollectionList()
        self.collection_list.collection_selected.connect(self._on_collection_list_selected)
        self.collection_list.new_requested.connect(self._on_collection_list_new_requested)
        self.collection_list.rename_requested.connect(self._on_collection_list_rename_requested)
        self.collection_list.delete_requested.connect(self._on_collection_list_delete_requested)

        self.banner = Banner()
        self.no_model_notice = QFrame()
        self.no_model_notice.setObjectName("noEmbeddingModel")
        self.no_model_notice.setStyleSheet(
            "QFrame#noEmbeddingModel { border: 1px dashed palette(mid); border-radius: 6px; }"
        )
        notice_text = QLabel(
            "Searching your documents needs an embedding model, a small model that finds "
            "passages by meaning. You have none yet: get one from the recommended embedding "
            "models in Models › Discover (for example all-MiniLM-L6-v2 or BGE Small), or "
            "import a GGUF embedding model there."
        )
        notice_text.setWordWrap(True)
        self.get_model_button = QPushButton("Get an embedding model")
        self.get_model_button.setAccessibleName("Get an embedding model")
        self.get_model_button.clicked.connect(self.embedding_models_requested)
        self.no_model_notice.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        notice_row = QHBoxLayout(self.no_model_notice)
        notice_row.addWidget(notice_text, 1)
        notice_row.addWidget(self.get_model_button)

        self.empty_label = QLabel(
            "Create a collection, add your documents (PDF, Word, text, Markdown, HTML), and "
            "attach it to a chat: answers then quote the passages they come from."
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty_label.setStyleSheet("color: palette(placeholder-text); padding: 30px;")

        self.view = CollectionView()
        self.view.paths_chosen.connect(self._on_view_paths_chosen)
        self.view.check_requested.connect(self._on_view_check_requested)
        self.view.resume_requested.connect(self._on_view_resume_requested)
        self.view.remove_confirmed.connect(self._on_view_remove_confirmed)
        self.view.indexing_panel.cancel_requested.connect(self._on_indexing_panel_cancel_requested)
        self.indexing_panel = self.view.indexing_panel
        self.table_model = self.view.table_model

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(6, 0, 0, 0)
        column.addWidget(self.banner)
        column.addWidget(self.no_model_notice)
        # Without collections the empty note takes the room (from the top) the view would.
        column.addWidget(self.empty_label, 1)
        column.addWidget(self.view, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.collection_list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([230, 900])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # -- what the main window calls ---------------------------------------------------------

    def refresh(self) -> None:
        """Read the collections and embedding models again; keep the current collection."""
        try:
            collections = self._library.list()
            has_models = bool(self._library.embedding_models())
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        known = {c.id for c in collections}
        if self._current_id not in known:
            self._current_id = collections[0].id if collections else None
        self.collection_list.set_collections(collections, self._current_id)
        self.collection_list.new_button.setEnabled(has_models)
        self.no_model_notice.setVisible(not has_models)
        self.empty_label.setVisible(not collections)
        self.view.setVisible(bool(collections))
        self._show_collection(next((c for c in collections if c.id == self._current_id), None))

    def resume_unfinished(self) -> None:
        """Continue indexing that was interrupted (by a crash or a quit), but not cancelled."""
        paused = self._paused()
        for collection in self._library.list():
            if unfinished_count(collection) and collection.id not in paused:
                self._index(collection.id)

    def add_paths(self, paths: Sequence[str]) -> None:
        """Add files and folders to the current collection and index them."""
        if self._current_id is not None and paths:
            self._index(self._current_id, paths)

    def create_collection(self, name: str, model_id: int | None) -> CollectionInfo | None:
        try:
            collection = self._library.create(name, embedding_model=model_id)
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return None
        self.banner.hide()
        self._current_id = collection.id
        self.refresh()
        self.collections_changed.emit()
        return collection

    def select_collection(self, collection_id: int | None) -> None:
        self.collection_list.select(collection_id)

    def is_indexing(self) -> bool:
        return bool(self._runs)

    def shutdown(self) -> None:
        """Stop indexing without marking it paused: it continues at the next start."""
        self._runs.clear()
        self._worker.cancel_indexing()

    # -- helpers ------------------------------------------------------------------------------

    def _index(self, collection_id: int, paths: Sequence[str] = (), refresh: bool = False) -> None:
        self._set_paused(collection_id, False)
        request_id = self._worker.index(collection_id, paths, refresh=refresh)
        self._runs[request_id] = collection_id
        self._update_actions()

    def _show_collection(self, collection: CollectionInfo | None) -> None:
        self._current_id = collection.id if collection else None
        if collection is None:
            self.table_model.set_files([], running=False)
            return
        running = self._running is not None and self._running[1] == collection.id
        try:
            files = self._library.files(collection.id)
        except LocalAIError as error:
            self.banner.show_error(error.message)
            files = []
        self.view.show_collection(collection, files, running=running)
        self._update_actions()

    def _update_actions(self) -> None:
        busy = set(self._runs.values())
        self.collection_list.set_busy(busy)
        self.view.set_queued(self._current_id in busy)

    def _paused(self) -> set[int]:
        raw = self._settings.value(_PAUSED_KEY) or []
        values = raw if isinstance(raw, list) else [raw]
        return {int(v) for v in values if str(v).isdigit()}

    def _set_paused(self, collection_id: int, paused: bool) -> None:
        ids = self._paused()
        ids = ids | {collection_id} if paused else ids - {collection_id}
        self._settings.setValue(_PAUSED_KEY, [str(i) for i in sorted(ids)])

    def _collection_name(self, collection_id: int) -> str:
        # From the list, not the database: the indexer is writing, and a read would wait.
        return self.collection_list.name_of(collection_id) or "collection"

    def _finish_run(self, request_id: int) -> None:
        self._runs.pop(request_id, None)
        if self._running is not None and self._running[0] == request_id:
            self._running = None
        if not self._runs:
            self.indexing_panel.hide()
            self.table_model.set_running(False)
        self.refresh()
        self.collections_changed.emit()

    # -- slots: the user ------------------------------------------------------------------------

    @Slot(int)
    def _on_collection_list_selected(self, collection_id: int) -> None:
        try:
            self._show_collection(self._library.get(collection_id))
        except LocalAIError as error:
            self.banner.show_error(error.message)

    @Slot()
    def _on_collection_list_new_requested(self) -> None:
        dialog = NewCollectionDialog(self._library.embedding_models(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._on_new_dialog_accepted)
        self.new_dialog = dialog
        dialog.open()

    @Slot()
    def _on_new_dialog_accepted(self) -> None:
        dialog = self.new_dialog
        if dialog is not None:
            self.create_collection(dialog.name(), dialog.model_id())

    @Slot(int, str)
    def _on_collection_list_rename_requested(self, collection_id: int, name: str) -> None:
        try:
            self._library.rename(collection_id, name)
        except LocalAIError as error:
            self.banner.show_error(error.message)
        self.refresh()
        self.collections_changed.emit()

    @Slot(int)
    def _on_collection_list_delete_requested(self, collection_id: int) -> None:
        if collection_id in self._runs.values():
            self.banner.show_error("Cancel indexing first, then delete the collection.")
            return
        try:
            collection = self._library.delete(collection_id)
        except LocalAIError as error:
            self.banner.show_error(error.message)
        else:
            self._set_paused(collection_id, False)
            self.banner.show_info(
                f"Deleted the collection “{collection.name}”. Your documents were not touched."
            )
        self.refresh()
        self.collections_changed.emit()

    @Slot(list)
    def _on_view_paths_chosen(self, paths: list[str]) -> None:
        self.add_paths(paths)

    @Slot()
    def _on_view_check_requested(self) -> None:
        if self._current_id is not None:
            self._index(self._current_id, refresh=True)

    @Slot()
    def _on_view_resume_requested(self) -> None:
        if self._current_id is not None:
            self.banner.hide()
            self._index(self._current_id)

    @Slot(list)
    def _on_view_remove_confirmed(self, file_ids: list[int]) -> None:
        collection_id = self._current_id
        if collection_id is None:
            return
        name = self._collection_name(collection_id)
        try:
            removed = self._library.remove_files(collection_id, file_ids)
        except LocalAIError as error:
            self.banner.show_error(error.message)
        else:
            self._removed_ids.update(f.id for f in removed)
            if len(removed) == 1:
                text = (
                    f"Removed “{removed[0].name}” from “{name}”: searches and chats no longer "
                    "find it. The file itself was not touched."
                )
            else:
                text = (
                    f"Removed {len(removed)} documents from “{name}”: searches and chats no "
                    "longer find them. The files themselves were not touched."
                )
            self.banner.show_info(text)
        self.refresh()
        self.collections_changed.emit()

    @Slot()
    def _on_indexing_panel_cancel_requested(self) -> None:
        for collection_id in set(self._runs.values()):
            self._set_paused(collection_id, True)
        self._worker.cancel_indexing()
        self.indexing_panel.show_cancelling()

    # -- slots: the embedding worker ------------------------------------------------------------

    @Slot(int, int)
    def _on_worker_indexing_started(self, request_id: int, collection_id: int) -> None:
        if request_id not in self._runs:
            return
        self._running = (request_id, collection_id)
        waiting = len({c for r, c in self._runs.items() if r != request_id})
        self.indexing_panel.show_started(self._collection_name(collection_id), waiting)
        if collection_id == self._current_id:
            self.table_model.set_running(True)

    @Slot(int, object)
    def _on_worker_indexing_progressed(self, request_id: int, progress: IndexProgress) -> None:
        if self._running is None or self._running[0] != request_id:
            return
        if self.indexing_panel.cancel_button.isEnabled():
            self.indexing_panel.show_progress(progress)
        if progress.collection_id == self._current_id:
            self.table_model.set_current(
                progress.current_file, progress.current_page, progress.current_file_pages
            )

    @Slot(int, int, object)
    def _on_worker_files_changed(
        self, request_id: int, collection_id: int, files: Sequence[DocumentFile]
    ) -> None:
        if request_id in self._runs and collection_id == self._current_id:
            shown = [f for f in files if f.id not in self._removed_ids]
            if shown:
                self.view.update_files(shown)

    @Slot(int, object)
    def _on_worker_indexing_finished(self, request_id: int, outcome: IndexingOutcome) -> None:
        if request_id not in self._runs:
            return
        self._finish_run(request_id)
        collection = None
        with contextlib.suppress(LocalAIError):
            collection = self._library.get(outcome.collection_id)
        text = describe_outcome(outcome, collection)
        if text:
            self.banner.show_info(text)

    @Slot(int, int, str)
    def _on_worker_indexing_failed(self, request_id: int, collection_id: int, message: str) -> None:
        if request_id not in self._runs:
            return
        self._finish_run(request_id)
        self.banner.show_error(message)
