"""The table of local models: one row per model with the facts read from its GGUF file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtWidgets import QApplication, QStyle

from localai_desktop.core.common.units import format_bytes, format_parameter_count
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.ui.widgets.safe_text import inert_tooltip
from localai_desktop.ui.widgets.table_columns import RIGHT_ALIGNED, ColumnsTableModel, Index
from localai_desktop.ui.widgets.theme import colours

COLUMNS = (
    ("Name", "The name you gave the model"),
    ("Architecture", "The family of model the file contains"),
    ("Parameters", "The model's size; bigger models know more but are slower"),
    (
        "Quantization",
        "How the model is compressed: Q4/Q5 are smaller and faster, Q8/F16 closer to the original",
    ),
    ("Context", "How many tokens the model can keep in mind at once"),
    ("File size", "Disk space the file uses"),
    ("License", "The license written in the file, if any; check it before sharing answers"),
    (
        "Chat template",
        "Whether the file says how to lay out a conversation. Without one a "
        "general layout is used and answers may be worse",
    ),
    ("File", "Where the model's file is"),
)
_ID_ROLE = Qt.ItemDataRole.UserRole


def _cells(model: LocalModel) -> tuple[str, ...]:
    if not model.file_exists:
        where = "Missing"
    elif model.copied:
        where = "In the app's folder"
    else:
        where = "Original location"
    architecture = model.architecture + (" (embedding)" if model.is_embedding_model else "")
    return (
        model.name,
        architecture,
        format_parameter_count(model.parameter_count),
        model.quantization,
        f"{model.context_length:,}" if model.context_length else "—",
        format_bytes(model.file_size),
        # A downloaded model's file often names no license; the Hub's model card did.
        model.license or model.source.get("license") or "—",
        _template_cell(model),
        where,
    )


def _template_cell(model: LocalModel) -> str:
    if not model.has_chat_template:
        return "No"
    return "Not used" if model.chat_template_notice else "Yes"


def _tooltip(model: LocalModel, column: int) -> str | None:
    if not model.file_exists:
        return f"The file is missing: {model.path}\nPut it back, or remove this model."
    if column == len(COLUMNS) - 1 or column == 0:
        repo = model.source.get("repo")
        commit = str(model.source.get("commit") or "")[:12]
        origin = f"\nDownloaded from {repo} (commit {commit})" if repo else ""
        return f"{model.path}{origin}"
    if column == 6 and not model.license:
        if model.source.get("license"):
            return "From the model's page on Hugging Face (the file does not say)"
        return "The file does not say"
    if column == 7 and model.chat_template_notice:
        return model_notice(model)
    return None


def model_notice(model: LocalModel) -> str:
    """The plain words about a model whose chat format is not used: "“Name”: its chat ..."."""
    return f"“{model.name}”: {model.chat_template_notice}."


class ModelTableModel(ColumnsTableModel):
    """The local models as table rows, with the facts read from their files."""

    columns = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._models: list[LocalModel] = []
        self._rows: list[tuple[str, ...]] = []

    def set_models(self, models: Sequence[LocalModel]) -> None:
        self.beginResetModel()
        self._models = list(models)
        self._rows = [_cells(m) for m in self._models]
        self.endResetModel()

    def model_at(self, row: int) -> LocalModel:
        return self._models[row]

    def row_of(self, model_id: int) -> int:
        return next((i for i, m in enumerate(self._models) if m.id == model_id), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        model, column = self._models[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][column]
        if role == _ID_ROLE:
            return model.id
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = _tooltip(model, column)
            return inert_tooltip(tip) if tip else None
        if role == Qt.ItemDataRole.DecorationRole and column == 0 and not model.file_exists:
            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        if role == Qt.ItemDataRole.ForegroundRole and not model.file_exists:
            return colours().qcolor("error_text")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (2, 4, 5):
            return RIGHT_ALIGNED
        return None
