"""The table of a collection's documents: one row per file, with its status and the reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt

from localai_desktop.core.documents.records import DocumentFile, FileStatus
from localai_desktop.ui.widgets.safe_text import inert_tooltip
from localai_desktop.ui.widgets.table_columns import RIGHT_ALIGNED, ColumnsTableModel, Index
from localai_desktop.ui.widgets.theme import colours

COLUMNS = (
    ("Document", "The file's name; hover to see where it is"),
    ("Status", "Whether the file can be searched in chats"),
    ("Pages", "Pages of a PDF (other files have none)"),
    ("Passages", "How many searchable passages the file was cut into"),
    ("Details", "Why a file was skipped or failed, and what to do"),
)
STATUS_COLUMN = 1
_ID_ROLE = Qt.ItemDataRole.UserRole
_COLOURS = {FileStatus.FAILED: "error_text", FileStatus.SKIPPED: "warning_text"}


def describe_file_status(
    file: DocumentFile, *, running: bool, current_page: str = ""
) -> tuple[str, str]:
    """(status, details) in plain words; `running` says whether its collection is indexing."""
    if file.status == FileStatus.INDEXED:
        if file.recognition_note:  # "Indexed (text recognised on 12 of 14 pages)"
            return f"Indexed ({file.recognition_note})", file.reason or ""
        return "Indexed", file.reason or ""
    if file.status == FileStatus.SKIPPED:
        return "Skipped", file.reason or ""
    if file.status == FileStatus.FAILED:
        return "Failed", file.reason or ""
    if file.status == FileStatus.INDEXING:
        if running:
            return f"Indexing…{current_page}", ""
        return "Stopped part-way", "Indexing continues where it stopped when you resume it."
    if file.status == FileStatus.PENDING:
        return ("Waiting", "") if running else ("Not indexed yet", "Resume indexing to add it.")
    return file.status, file.reason or ""


class DocumentTableModel(ColumnsTableModel):
    """A collection's files as rows; rows update in place as indexing reports them."""

    columns = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._files: list[DocumentFile] = []
        self._running = False
        self._current_name: str | None = None
        self._current_page = ""

    def set_files(self, files: Sequence[DocumentFile], *, running: bool) -> None:
        self.beginResetModel()
        self._files = sorted(files, key=lambda f: (f.name.lower(), str(f.path)))
        self._running = running
        self.endResetModel()

    def update_files(self, files: Iterable[DocumentFile]) -> None:
        """Show the newer state of these files (new ones are added at the end)."""
        rows = {f.id: i for i, f in enumerate(self._files)}
        for file in files:
            row = rows.get(file.id)
            if row is None:
                self.beginInsertRows(QModelIndex(), len(self._files), len(self._files))
                self._files.append(file)
                rows[file.id] = len(self._files) - 1
                self.endInsertRows()
            else:
                self._files[row] = file
                self._changed(row)

    def set_running(self, running: bool) -> None:
        if running != self._running:
            self._running = running
            if not running:
                self._current_name, self._current_page = None, ""
            if self._files:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self._files) - 1, 4))

    def set_current(self, name: str | None, page: int | None, pages: int | None) -> None:
        """Mark the file being indexed now (by name, as progress reports it)."""
        self._current_name = name
        self._current_page = f" page {page} of {pages}" if page and pages else ""
        for row, file in enumerate(self._files):
            if file.name == name and file.status != FileStatus.INDEXING:
                self._files[row] = replace(file, status=FileStatus.INDEXING)
                self._changed(row)
            elif file.name == name:
                self._changed(row)

    def file_at(self, row: int) -> DocumentFile:
        return self._files[row]

    def files(self) -> list[DocumentFile]:
        return list(self._files)

    def row_of(self, name: str) -> int:
        return next((i for i, f in enumerate(self._files) if f.name == name), -1)

    def status_text(self, row: int) -> str:
        return str(self.data(self.index(row, STATUS_COLUMN)))

    def details_text(self, row: int) -> str:
        return str(self.data(self.index(row, 4)))

    # -- the Qt model ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._files)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        file, column = self._files[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            page = self._current_page if file.name == self._current_name else ""
            status, details = describe_file_status(file, running=self._running, current_page=page)
            if column == 0:
                return file.display_name or file.name
            if column == 1:
                return status
            if column == 2:
                return str(file.pages) if file.pages else ""
            if column == 3:
                return f"{file.chunks:,}" if file.chunks else ""
            return details
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 4:
                return inert_tooltip(describe_file_status(file, running=self._running)[1]) or None
            return inert_tooltip(str(file.path))
        if role == Qt.ItemDataRole.ForegroundRole and column in (1, 4):
            colour = _COLOURS.get(file.status)
            return colours().qcolor(colour) if colour else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (2, 3):
            return RIGHT_ALIGNED
        if role == _ID_ROLE:
            return file.id
        return None

    def _changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
