"""One collection in the Documents tab: its name, actions, indexing progress and files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import QPoint, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.documents.parsers import SUPPORTED_SUFFIXES
from localai_desktop.core.documents.records import CollectionInfo, DocumentFile, FileStatus
from localai_desktop.ui.documents.collection_list import describe_collection
from localai_desktop.ui.documents.document_table import DocumentTableModel
from localai_desktop.ui.documents.indexing_panel import IndexingPanel
from localai_desktop.ui.widgets.confirm import confirm_delete
from localai_desktop.ui.widgets.text_size import relative_font
from localai_desktop.ui.workers.embedding import IndexingOutcome

_NAME_FILTER = "Documents ({})".format(" ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES)))
_NAMED_IN_FULL = 8  # the confirmation names this many documents, then says how many more


def unfinished_count(collection: CollectionInfo) -> int:
    """Files of the collection still waiting for indexing, or stopped part-way."""
    counts = dict(collection.status_counts)
    return counts.get(FileStatus.PENDING, 0) + counts.get(FileStatus.INDEXING, 0)


def describe_outcome(outcome: IndexingOutcome, collection: CollectionInfo | None) -> str:
    """What an indexing run did and where the collection stands, in a sentence or two."""
    counts = dict(collection.status_counts) if collection is not None else {}
    unfinished = counts.get(FileStatus.PENDING, 0) + counts.get(FileStatus.INDEXING, 0)
    if outcome.cancelled:
        return (
            f"Indexing stopped. Everything indexed so far is kept; {unfinished} document(s) "
            "are not indexed yet. Press “Resume indexing” to continue where it stopped."
        )
    text = ""
    if collection is not None:
        indexed = counts.get(FileStatus.INDEXED, 0)
        text = f"Done: {indexed} of {collection.file_count} documents are indexed"
        troubles = [
            f"{counts[status]} {word}"
            for status, word in ((FileStatus.SKIPPED, "skipped"), (FileStatus.FAILED, "failed"))
            if counts.get(status)
        ]
        text += f"; {' and '.join(troubles)} (the Details column says why)." if troubles else "."
    if outcome.added is not None and outcome.added.removed:
        text += f" Dropped {len(outcome.added.removed)} deleted file(s)."
    if outcome.added is not None and outcome.added.not_found:
        text += f" Not found: {', '.join(p.name for p in outcome.added.not_found)}."
    return text.strip()


def describe_removal(collection_name: str, files: Sequence[DocumentFile]) -> tuple[str, str]:
    """(question, details) for the box that asks before documents leave a collection."""
    if len(files) == 1:
        question = f"Remove “{files[0].name}” from “{collection_name}”?"
    else:
        question = f"Remove these {len(files)} documents from “{collection_name}”?"
    lines = []
    if len(files) > 1:
        named = [f"• {f.name}" for f in files[:_NAMED_IN_FULL]]
        if len(files) > _NAMED_IN_FULL:
            named.append(f"• and {len(files) - _NAMED_IN_FULL} more")
        lines.append("\n".join(named))
    if len(files) == 1:
        lines.append(
            "Its passages are deleted from the collection's index, so searches and chats no "
            "longer find it. The file itself stays where it is on this computer, and answers "
            "that already quoted it keep their quotes."
        )
    else:
        lines.append(
            "Their passages are deleted from the collection's index, so searches and chats no "
            "longer find them. The files themselves stay where they are on this computer, and "
            "answers that already quoted them keep their quotes."
        )
    followed = [f.name for f in files if f.folder is not None and f.path.exists()]
    if followed:
        which = f"“{followed[0]}” is" if len(followed) == 1 else "Some of them are"
        lines.append(
            f"{which} in a folder this collection follows: “Check for changes” adds it again "
            "unless you move it out of that folder first."
        )
    return question, "\n\n".join(lines)


class CollectionView(QWidget):
    """Shows a collection's files with their status, and offers to add, check and resume."""

    paths_chosen = Signal(list)
    """The user chose files or a folder to add: (list of path strings)."""
    check_requested = Signal()
    """The user wants changed files indexed again and deleted ones dropped."""
    resume_requested = Signal()
    """The user wants the files not indexed yet indexed now."""
    remove_confirmed = Signal(list)
    """The user confirmed taking documents out of the collection: (list of file ids)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        relative_font(self.title, 1.25)  # grows and shrinks with the app's text size
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setStyleSheet("color: palette(placeholder-text);")
        self.add_files_button = QPushButton("Add files…")
        self.add_files_button.setToolTip("Add PDF, Word, text, Markdown or HTML files")
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setToolTip("Add every document in a folder and its subfolders")
        self.check_button = QPushButton("Check for changes")
        self.check_button.setToolTip(
            "Index changed files again, add new files of added folders and drop deleted files"
        )
        self.resume_button = QPushButton("Resume indexing")
        self.resume_button.setToolTip("Index the documents that are not indexed yet")
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        for button, slot in (
            (self.add_files_button, self._on_add_files_button_clicked),
            (self.add_folder_button, self._on_add_folder_button_clicked),
            (self.check_button, self.check_requested),
            (self.resume_button, self.resume_requested),
        ):
            button.setAccessibleName(button.text().rstrip("…"))
            button.clicked.connect(slot)
            actions.addWidget(button)
        actions.addStretch(1)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setAccessibleName("Remove the selected documents")
        self.remove_button.setToolTip(
            "Take the selected documents and their passages out of this collection (Delete); "
            "the files themselves are not touched"
        )
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        actions.addWidget(self.remove_button)
        self.indexing_panel = IndexingPanel()
        self.table_model = DocumentTableModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Documents in the collection")
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # One action for the context menu and the Delete key (Backspace on a Mac keyboard).
        self.remove_action = QAction("Remove from the collection…", self.table)
        self.remove_action.setShortcuts(
            [QKeySequence(Qt.Key.Key_Delete), QKeySequence(Qt.Key.Key_Backspace)]
        )
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.remove_action.triggered.connect(self._on_remove_action_triggered)
        self.table.addAction(self.remove_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_table_context_menu_requested)
        self.context_menu: QMenu | None = None
        self.removal_box: QWidget | None = None
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setAccessibleName("Row numbers")
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setAccessibleName("Column headings")
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((240, 130, 60, 80)):
            self.table.setColumnWidth(column, width)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addLayout(actions)
        layout.addWidget(self.indexing_panel)
        layout.addWidget(self.table, 1)
        self._unfinished = 0
        self._collection: CollectionInfo | None = None
        self.table.selectionModel().selectionChanged.connect(
            self._on_selection_model_selection_changed
        )
        self.table_model.modelReset.connect(self._on_table_model_model_reset)
        self._enable_removal()

    def show_collection(
        self, collection: CollectionInfo, files: Sequence[DocumentFile], *, running: bool
    ) -> None:
        self._collection = collection
        self.title.setText(collection.name)
        self.summary.setText(describe_collection(collection))
        self.table_model.set_files(files, running=running)
        self._unfinished = unfinished_count(collection)
        self.resume_button.setText(f"Resume indexing ({self._unfinished} left)")

    def update_files(self, files: Sequence[DocumentFile]) -> None:
        """Show files that reached a status, and the counts they add up to (no database read:
        the indexer is writing)."""
        self.table_model.update_files(files)
        if self._collection is not None:
            shown = self.table_model.files()
            counts = Counter(f.status for f in shown)
            self.summary.setText(
                describe_collection(
                    replace(
                        self._collection,
                        file_count=len(shown),
                        chunk_count=sum(f.chunks for f in shown),
                        status_counts=tuple(sorted(counts.items())),
                    )
                )
            )

    def set_queued(self, queued: bool) -> None:
        """Whether the collection is being indexed or waits for it (then Resume is pointless)."""
        self.resume_button.setVisible(bool(self._unfinished) and not queued)
        self.check_button.setEnabled(not queued)

    def selected_files(self) -> list[DocumentFile]:
        """The documents selected in the table, in the order shown."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table_model.file_at(row) for row in rows]

    def ask_to_remove_selected(self) -> None:
        """Ask (naming the documents) whether to remove the selected documents."""
        files = self.selected_files()
        if not files or self._collection is None:
            return
        question, details = describe_removal(self._collection.name, files)
        ids = [f.id for f in files]
        self.removal_box = confirm_delete(
            self,
            "Remove documents",
            question,
            details,
            lambda: self.remove_confirmed.emit(ids),
            action="Remove",
        )

    def _enable_removal(self) -> None:
        chosen = self.table.selectionModel().hasSelection()
        self.remove_button.setEnabled(chosen)
        self.remove_action.setEnabled(chosen)

    @Slot()
    def _on_remove_button_clicked(self) -> None:
        self.ask_to_remove_selected()

    @Slot()
    def _on_remove_action_triggered(self) -> None:
        self.ask_to_remove_selected()

    @Slot()
    def _on_selection_model_selection_changed(self) -> None:
        self._enable_removal()

    @Slot()
    def _on_table_model_model_reset(self) -> None:
        self._enable_removal()

    @Slot(QPoint)
    def _on_table_context_menu_requested(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        if not self.table.selectionModel().isRowSelected(index.row()):
            self.table.selectRow(index.row())
        menu = QMenu(self.table)
        menu.setAccessibleName("Document actions")
        menu.addAction(self.remove_action)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.context_menu = menu
        menu.popup(self.table.viewport().mapToGlobal(position))

    @Slot()
    def _on_add_files_button_clicked(self) -> None:
        dialog = QFileDialog(self, "Add documents")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilters([_NAME_FILTER, "All files (*)"])
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.filesSelected.connect(self._on_file_dialog_files_selected)
        dialog.open()

    @Slot()
    def _on_add_folder_button_clicked(self) -> None:
        dialog = QFileDialog(self, "Add a folder of documents")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self._on_file_dialog_folder_selected)
        dialog.open()

    @Slot(list)
    def _on_file_dialog_files_selected(self, files: list[str]) -> None:
        self.paths_chosen.emit(list(files))

    @Slot(str)
    def _on_file_dialog_folder_selected(self, folder: str) -> None:
        self.paths_chosen.emit([folder])
