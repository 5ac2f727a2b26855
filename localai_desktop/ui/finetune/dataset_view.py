"""A fine-tuning dataset in a table: what trains, what validates, what is flagged and why."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.finetune.dataset_rows import (
    DatasetRow,
    DatasetSummary,
    describe_summary,
    problem_sentence,
)
from localai_desktop.ui.widgets.safe_text import inert_tooltip
from localai_desktop.ui.widgets.theme import colours

_PREVIEW_CHARS = 240
_TOOLTIP_CHARS = 2000
_COLUMNS = ("Row", "Used for", "Question", "Answer", "Tokens")
_SPANNED_FROM = 2  # a flagged row shows its reason across Question, Answer and Tokens
_NO_EXAMPLES = (
    "Import a JSONL or CSV file, or pick answers from your chats, to see the examples here. "
    "Rows that cannot be used are listed with the reason; none is dropped."
)


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _PREVIEW_CHARS else flat[: _PREVIEW_CHARS - 1] + "…"


class DatasetTableModel(QAbstractTableModel):
    """Rows of a dataset; can show only the flagged ones."""

    def __init__(self) -> None:
        super().__init__()
        self._all: tuple[DatasetRow, ...] = ()
        self._shown: list[DatasetRow] = []
        self._only_problems = False

    def set_rows(self, rows: tuple[DatasetRow, ...]) -> None:
        self._all = rows
        self._refilter()

    def set_only_problems(self, only: bool) -> None:
        self._only_problems = only
        self._refilter()

    def row_at(self, row: int) -> DatasetRow:
        return self._shown[row]

    def _refilter(self) -> None:
        self.beginResetModel()
        self._shown = [r for r in self._all if r.problem or not self._only_problems]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section]
        return None

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> object:
        if not index.isValid():
            return None
        row, column = self._shown[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self._tooltip(row, column)
            return inert_tooltip(tip) if tip else tip
        if role == Qt.ItemDataRole.BackgroundRole and row.problem:
            return colours().qcolor("banner_error_background")
        if role == Qt.ItemDataRole.ForegroundRole and row.problem:
            return colours().qcolor("banner_error_text")
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 4:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(row: DatasetRow, column: int) -> str:
        if column == 0:
            return row.source
        if column == 1:
            return row.use
        if row.problem:
            return problem_sentence(row.source, row.problem) if column == 2 else ""
        if column == 2:
            if row.earlier_messages:
                return f"{_one_line(row.question)} (after {row.earlier_messages} messages)"
            return _one_line(row.question)
        if column == 3:
            return _one_line(row.answer)
        return f"{row.tokens:,}" if row.tokens is not None else "–"

    @staticmethod
    def _tooltip(row: DatasetRow, column: int) -> str | None:
        if row.problem:
            return problem_sentence(row.source, row.problem)
        if column == 2:
            return row.question[:_TOOLTIP_CHARS]
        if column == 3:
            return row.answer[:_TOOLTIP_CHARS]
        if column == 4 and row.tokens is None:
            return "Counted once a model is chosen (each model splits text its own way)."
        return None


class DatasetView(QWidget):
    """A summary line, a filter for flagged rows, and the table of examples."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(_NO_EXAMPLES)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Dataset summary")
        self.only_problems = QCheckBox("Show only rows with problems")
        self.only_problems.setAccessibleName("Show only rows with problems")
        self.only_problems.setEnabled(False)
        self.only_problems.toggled.connect(self._on_only_problems_toggled)
        self.model = DatasetTableModel()
        self.table = QTableView()
        self.table.setAccessibleName("Examples")
        self.table.setModel(self.model)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setAccessibleName("Row numbers")
        self.table.horizontalHeader().setAccessibleName("Column headings")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.ResizeToContents)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.only_problems, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    def show_rows(self, rows: tuple[DatasetRow, ...], summary: DatasetSummary) -> None:
        self.summary.setText(describe_summary(summary))
        self.model.set_rows(rows)
        self.only_problems.setEnabled(summary.problems > 0)
        if not summary.problems:
            self.only_problems.setChecked(False)
        self._span_problems()

    def clear(self) -> None:
        self.summary.setText(_NO_EXAMPLES)
        self.model.set_rows(())
        self.only_problems.setChecked(False)
        self.only_problems.setEnabled(False)
        self.table.clearSpans()

    def rows(self) -> list[DatasetRow]:
        """The rows shown now (after the filter)."""
        return [self.model.row_at(i) for i in range(self.model.rowCount())]

    def _span_problems(self) -> None:
        self.table.clearSpans()
        for index in range(self.model.rowCount()):
            if self.model.row_at(index).problem:
                self.table.setSpan(index, _SPANNED_FROM, 1, len(_COLUMNS) - _SPANNED_FROM)

    @Slot(bool)
    def _on_only_problems_toggled(self, only: bool) -> None:
        self.model.set_only_problems(only)
        self._span_problems()
