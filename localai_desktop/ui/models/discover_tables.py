"""The Discover lists as table models: recommended (catalog) models and Hub search results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtWidgets import QApplication, QStyle

from localai_desktop.core.common.units import format_bytes, format_parameter_count
from localai_desktop.core.hub.catalog import CatalogEntry
from localai_desktop.core.hub.licenses import commercial_use_allowed, commercial_use_label
from localai_desktop.core.hub.repos import HubModelSummary
from localai_desktop.core.models.hardware import (
    VERDICT_LABELS,
    Machine,
    fit_verdict,
    recommend_quant,
)
from localai_desktop.core.speed.measurement import MachineSpeed
from localai_desktop.core.speed.prediction import describe_speed, estimated_speed, predicted_speed
from localai_desktop.ui.widgets.safe_text import inert_tooltip
from localai_desktop.ui.widgets.table_columns import RIGHT_ALIGNED, ColumnsTableModel, Index
from localai_desktop.ui.widgets.theme import colours

KIND_LABELS = {
    "chat": "Chat",
    "reasoning": "Reasoning",
    "coding": "Coding",
    "embedding": "Documents (embedding)",
}
CATALOG_COLUMNS = (
    ("Model", "The model's name, kind and size, and what it is good for"),
    ("License", "The license the model's authors chose; check it before commercial use"),
    (
        "For this computer",
        "Recommended for this computer: the download that suits its memory, and how it "
        "would run. Sizes are estimates until you open the model.",
    ),
)
SEARCH_COLUMNS = (
    ("Repo", "The Hugging Face repo: who published it, and its name"),
    ("Downloads", "Downloads in the last month"),
    ("Likes", "How many people liked it on Hugging Face"),
    ("Updated", "When the repo last changed"),
    ("License", "The license the repo's card names"),
)


def license_cell(license_id: str | None, commercial: bool | None) -> str:
    """ "apache-2.0" on one line, the commercial-use badge under it."""
    return f"{license_id or 'License not stated'}\n{commercial_use_label(commercial)}"


def license_tooltip(license_id: str | None, commercial: bool | None) -> str:
    if commercial is False:
        return (
            f"The license ({license_id}) does not allow commercial use: do not use this model "
            "for paid work or in a product. Personal and research use is fine."
        )
    if commercial is None:
        return (
            "The app does not know whether this license allows commercial use. Read the "
            "license on the model's Hugging Face page before using it for work."
        )
    return (
        f"The license ({license_id}) allows commercial use; some licenses add conditions, "
        "so read it before building a product on the model."
    )


def warning_icon() -> Any:
    return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)


class CatalogTableModel(ColumnsTableModel):
    """The curated models, with the download recommended for this computer once it is known."""

    columns = CATALOG_COLUMNS

    def __init__(self, context_length: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[CatalogEntry] = []
        self._context_length = context_length
        self._machine: Machine | None = None
        self._speed: MachineSpeed | None = None
        self._advice: list[str] = []

    def set_entries(self, entries: Sequence[CatalogEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self._advice = [self._advice_for(e) for e in self._entries]
        self.endResetModel()

    def set_machine(self, machine: Machine, speed: MachineSpeed | None = None) -> None:
        """The computer is known; `speed` (measured, else typical for its cores) predicts
        tokens per second."""
        self._machine = machine
        self._speed = speed or estimated_speed(machine.cpu_cores)
        self._advice = [self._advice_for(e) for e in self._entries]
        if self._entries:
            column = len(CATALOG_COLUMNS) - 1
            self.dataChanged.emit(self.index(0, column), self.index(len(self._entries) - 1, column))

    def entry_at(self, row: int) -> CatalogEntry:
        return self._entries[row]

    def row_of(self, repo_id: str) -> int:
        wanted = repo_id.lower()
        return next((i for i, e in enumerate(self._entries) if e.repo_id.lower() == wanted), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry, column = self._entries[index.row()], index.column()
        restricted = not entry.commercial_use
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells(index.row())[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return inert_tooltip(f"{entry.repo_id}\n{entry.good_for}")
            if column == 1:
                return license_tooltip(entry.license, entry.commercial_use)
            return (
                "Estimated from the model's size; the exact file sizes are read from "
                "Hugging Face when you open the model."
            )
        if role == Qt.ItemDataRole.ForegroundRole and column == 1 and restricted:
            return colours().qcolor("warning_text")
        if role == Qt.ItemDataRole.DecorationRole and column == 1 and restricted:
            return warning_icon()
        return None

    def _cells(self, row: int) -> tuple[str, ...]:
        entry = self._entries[row]
        kind = KIND_LABELS.get(entry.kind, entry.kind)
        size = format_parameter_count(entry.parameter_count)
        return (
            f"{entry.name} · {kind} · {size} parameters\n{entry.good_for}",
            license_cell(entry.license, entry.commercial_use),
            self._advice[row],
        )

    def _advice_for(self, entry: CatalogEntry) -> str:
        machine = self._machine
        if machine is None:
            return "Checking this computer…"
        facts = entry.facts()
        choice = recommend_quant(entry.estimated_choices(), facts, self._context_length, machine)
        if choice is None:
            return VERDICT_LABELS["too_large"]
        verdict = fit_verdict(choice.total_bytes, facts, self._context_length, machine)
        size = format_bytes(choice.total_bytes)
        speed = predicted_speed(
            choice.total_bytes,
            choice.quantization,
            verdict,
            self._speed or estimated_speed(machine.cpu_cores),
            embedding=entry.is_embedding_model,
        )
        shown = "" if speed is None else f" · {describe_speed(speed)}"
        return f"{choice.quantization}, about {size}\n{VERDICT_LABELS[verdict]}{shown}"


class SearchResultsTableModel(ColumnsTableModel):
    """GGUF repos found on the Hub, in the order the Hub sorted them."""

    columns = SEARCH_COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._results: list[HubModelSummary] = []

    def set_results(self, results: Sequence[HubModelSummary]) -> None:
        self.beginResetModel()
        self._results = list(results)
        self.endResetModel()

    def result_at(self, row: int) -> HubModelSummary:
        return self._results[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._results)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        result, column = self._results[index.row()], index.column()
        commercial = commercial_use_allowed(result.license)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells(result)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0 and result.gated:
                return "Gated: its authors ask you to accept their terms on huggingface.co first."
            if column == 4:
                return inert_tooltip(license_tooltip(result.license, commercial))
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == 4 and commercial is False:
            return colours().qcolor("warning_text")
        if role == Qt.ItemDataRole.DecorationRole and column == 4 and commercial is False:
            return warning_icon()
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return RIGHT_ALIGNED
        return None

    @staticmethod
    def _cells(result: HubModelSummary) -> tuple[str, ...]:
        gated = " (gated)" if result.gated else ""
        return (
            result.repo_id + gated,
            f"{result.downloads:,}",
            f"{result.likes:,}",
            (result.last_modified or "")[:10] or "—",
            result.license or "—",
        )
