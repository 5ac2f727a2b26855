"""One model repo in detail: its downloads grouped by quantization, how each fits, the license."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.units import format_bytes, format_parameter_count
from localai_desktop.core.hub.catalog import CatalogEntry
from localai_desktop.core.hub.licenses import commercial_use_label
from localai_desktop.core.hub.repos import FileChoice, RepoDetails
from localai_desktop.core.models.hardware import (
    VERDICT_LABELS,
    Machine,
    ModelFacts,
    fit_verdict,
    recommend_quant,
)
from localai_desktop.core.speed.measurement import MachineSpeed
from localai_desktop.core.speed.prediction import describe_speed, estimated_speed, predicted_speed
from localai_desktop.ui.models.discover_tables import license_tooltip, warning_icon
from localai_desktop.ui.widgets.notices import Banner, StatusLine
from localai_desktop.ui.widgets.safe_text import inert_tooltip
from localai_desktop.ui.widgets.theme import colours, themed_style_sheet

RECOMMENDED_MARK = "Recommended"
CHOICE_COLUMNS = ("Download", "Size", "On this computer")


@dataclass(frozen=True)
class _Row:
    label: str
    size_bytes: int
    estimated: bool
    choice: FileChoice | None  # None for a catalog estimate (nothing to download yet)
    quantization: str


class RepoDetailsView(QWidget):
    """Shows a repo (or a catalog entry before the Hub answered) and offers its downloads."""

    download_requested = Signal(object, object)
    """The user asked to download: (hub_models.RepoDetails, hub_models.FileChoice)."""

    def __init__(self, context_length: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context_length = context_length
        self._machine: Machine | None = None
        self._speed: MachineSpeed | None = None
        self._details: RepoDetails | None = None
        self._facts = ModelFacts()
        self._entry: CatalogEntry | None = None
        self._rows: list[_Row] = []
        self._recommended: int | None = None  # index of the recommended row
        self._offline = False

        self.title = QLabel("Pick a model on the left to see its downloads.")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.25)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.license_label = QLabel()
        self.license_label.setTextFormat(Qt.TextFormat.PlainText)
        self.license_label.setWordWrap(True)
        self.license_label.setAccessibleName("License")
        self.status = StatusLine()
        self.banner = Banner()

        self.choices = QTableWidget(0, len(CHOICE_COLUMNS))
        self.choices.setAccessibleName("Downloads of this model")
        self.choices.setHorizontalHeaderLabels(list(CHOICE_COLUMNS))
        self.choices.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.choices.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.choices.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.choices.verticalHeader().hide()
        self.choices.verticalHeader().setAccessibleName("Row numbers")
        self.choices.horizontalHeader().setAccessibleName("Column headings")
        self.choices.setWordWrap(False)
        header = self.choices.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.choices.horizontalHeaderItem(0).setToolTip(
            "★ marks the download recommended for this computer"
        )
        self.choices.itemSelectionChanged.connect(self._on_choices_item_selection_changed)
        self.choices.itemDoubleClicked.connect(self._on_choices_item_double_clicked)

        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.download_button = QPushButton("Download")
        self.download_button.setAccessibleName("Download")
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self._on_download_button_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignTop)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.license_label)
        layout.addWidget(self.status)
        layout.addWidget(self.banner)
        layout.addWidget(self.choices, 1)
        layout.addLayout(buttons)
        self._show_rows()

    # -- what the Discover panel calls ------------------------------------------------------

    def set_machine(self, machine: Machine, speed: MachineSpeed | None = None) -> None:
        self._machine = machine
        self._speed = speed or estimated_speed(machine.cpu_cores)
        self._show_rows()

    def set_offline(self, offline: bool) -> None:
        """Offline mode on or off: no downloads while it is on; estimates say why."""
        self._offline = offline
        if offline:
            self.status.show_message(
                "Sizes are estimates: offline mode is on."
                if self._details is None and self._rows
                else ""
            )
        self._update_download_button()

    def show_entry(self, entry: CatalogEntry, *, offline: bool) -> None:
        """A catalog model with estimated sizes, while (or instead of) asking the Hub."""
        self._entry, self._details = entry, None
        self._facts = entry.facts()
        self.banner.hide()
        self.title.setText(entry.name)
        self.summary.setText(
            f"{entry.good_for}\n{entry.family} · {format_parameter_count(entry.parameter_count)}"
            f" parameters · {entry.context_length:,} tokens of context · {entry.repo_id}"
        )
        self._show_license(entry.license, entry.commercial_use)
        self._rows = [
            _Row(c.quantization, c.total_bytes, True, None, c.quantization)
            for c in entry.estimated_choices()
        ]
        self._offline = offline
        if offline:
            self.status.show_message("Sizes are estimates: offline mode is on.")
        else:
            self.status.show_busy("Reading the list of files from Hugging Face…")
        self._show_rows()

    def show_loading(self, repo_id: str) -> None:
        """A search result being looked up."""
        self._entry, self._details, self._rows = None, None, []
        self._facts = ModelFacts()
        self.banner.hide()
        self.title.setText(repo_id)
        self.summary.clear()
        self.license_label.clear()
        self.status.show_busy("Reading the list of files from Hugging Face…")
        self._show_rows()

    def show_details(self, details: RepoDetails, facts: ModelFacts) -> None:
        """The repo as the Hub describes it: real sizes, every GGUF download."""
        self._details, self._facts = details, facts
        entry = details.catalog_entry or self._entry
        self._entry = entry
        self.title.setText(entry.name if entry else details.repo_id)
        lines = [entry.good_for] if entry else []
        about = [details.repo_id]
        if facts.parameter_count:
            about.append(f"{format_parameter_count(facts.parameter_count)} parameters")
        if facts.context_length:
            about.append(f"{facts.context_length:,} tokens of context")
        about.append(f"{details.downloads:,} downloads")
        lines.append(" · ".join(about))
        self.summary.setText("\n".join(lines))
        self._show_license(details.license, details.commercial_use)
        self._rows = [
            _Row(c.label, c.total_bytes, False, c, c.quantization) for c in details.choices
        ]
        self.status.clear()
        if details.gated:
            self.banner.show_error(
                "This repo is gated: its authors ask people to accept their terms on "
                "huggingface.co first, so the download may be refused. Choose another repo of "
                "the same model (for example one by bartowski or lmstudio-community)."
            )
        elif not details.choices:
            self.banner.show_info("This repo has no GGUF model files the app can run.")
        self._show_rows()

    def show_failure(self, message: str) -> None:
        """The Hub could not be asked; what is shown so far (a catalog estimate) stays."""
        self.status.clear()
        self.banner.show_error(message)
        self._update_download_button()

    def show_offline(self) -> None:
        """A request failed because offline mode is on: keep what is shown."""
        self.set_offline(True)

    def current_repo(self) -> str | None:
        if self._details is not None:
            return self._details.repo_id
        return self._entry.repo_id if self._entry else None

    def recommended_label(self) -> str | None:
        return self._rows[self._recommended].label if self._recommended is not None else None

    def selected_choice(self) -> FileChoice | None:
        row = self._selected_row()
        return row.choice if row else None

    def select_quantization(self, label: str) -> None:
        for index, row in enumerate(self._rows):
            if row.label == label:
                self.choices.selectRow(index)
                return

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_wrapped_labels()

    # -- drawing ----------------------------------------------------------------------------

    def _fit_wrapped_labels(self) -> None:
        # A splitter never asks its children for height-for-width, so a wrapped label would be
        # squeezed to one line: give each the height its text needs at the current width.
        width = self.width()
        note_width = width - self.download_button.sizeHint().width() - 8
        for label, at in (
            (self.title, width),
            (self.summary, width),
            (self.license_label, width),
            (self.note, note_width),
        ):
            label.setMinimumHeight(label.heightForWidth(at) if label.text() else 0)

    def _show_license(self, license_id: str | None, commercial: bool | None) -> None:
        text = f"License: {license_id or 'not stated'} · {commercial_use_label(commercial)}"
        if commercial is False:
            text = f"⚠ {text}. Do not use it for paid work or in a product."
        self.license_label.setText(text)
        self.license_label.setToolTip(inert_tooltip(license_tooltip(license_id, commercial)))
        warn = commercial is not True
        themed_style_sheet(
            self.license_label,
            lambda theme: (
                f"color: {theme.warning_text}; font-weight: bold;" if warn else "font-weight: bold;"
            ),
        )

    def _show_rows(self) -> None:
        machine = self._machine
        self._recommended = None
        if machine is not None and self._rows:
            best = recommend_quant(
                [_Option(r.quantization, r.size_bytes, i) for i, r in enumerate(self._rows)],
                self._facts,
                self._context_length,
                machine,
            )
            self._recommended = best.index if best else None
        self.choices.setRowCount(len(self._rows))
        for index, row in enumerate(self._rows):
            self._fill_row(index, row, machine)
        if self._recommended is not None:
            self.choices.selectRow(self._recommended)
        elif self._rows:
            self.choices.selectRow(0)
        self._update_download_button()

    def _fill_row(self, index: int, row: _Row, machine: Machine | None) -> None:
        recommended = index == self._recommended
        label = f"{row.label}  ★ {RECOMMENDED_MARK}" if recommended else row.label
        size = (
            f"about {format_bytes(row.size_bytes)}"
            if row.estimated
            else format_bytes(row.size_bytes)
        )
        if machine is None:
            verdict, fits = "Checking this computer…", True
        else:
            key = fit_verdict(row.size_bytes, self._facts, self._context_length, machine)
            verdict, fits = VERDICT_LABELS[key], key != "too_large"
            speed = predicted_speed(
                row.size_bytes,
                row.quantization,
                key,
                self._speed or estimated_speed(machine.cpu_cores),
                embedding=bool(self._entry and self._entry.is_embedding_model),
            )
            if speed is not None:
                verdict = f"{verdict} · {describe_speed(speed)}"
        cells = [QTableWidgetItem(label), QTableWidgetItem(size), QTableWidgetItem(verdict)]
        cells[1].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if row.choice is not None:
            cells[0].setToolTip(inert_tooltip("\n".join(f.path for f in row.choice.files)))
        if recommended:
            bold = QFont(cells[0].font())
            bold.setBold(True)
            for cell in cells:
                cell.setFont(bold)
        if not fits:
            cells[2].setForeground(colours().qcolor("warning_text"))
            cells[2].setIcon(warning_icon())
            cells[2].setToolTip("This file needs more memory than this computer has.")
        for column, cell in enumerate(cells):
            self.choices.setItem(index, column, cell)

    def _selected_row(self) -> _Row | None:
        rows = self.choices.selectionModel().selectedRows()
        return self._rows[rows[0].row()] if rows and rows[0].row() < len(self._rows) else None

    def _update_download_button(self) -> None:
        row = self._selected_row()
        machine = self._machine
        too_large = (
            row is not None
            and machine is not None
            and fit_verdict(row.size_bytes, self._facts, self._context_length, machine)
            == "too_large"
        )
        can = row is not None and row.choice is not None and not too_large and not self._offline
        self.download_button.setEnabled(can)
        if row is not None and row.choice is not None:
            self.download_button.setText(f"Download {row.label} ({format_bytes(row.size_bytes)})")
        else:
            self.download_button.setText("Download")
        if row is None:
            note = "" if self._rows or self._entry is None else "No downloads to choose from."
        elif too_large:
            note = "This file needs more memory than this computer has: choose a smaller one."
        elif self._offline:
            note = "Offline mode is on: untick “Offline mode” at the top of this page to download."
        elif row.choice is None:
            note = "Sizes are estimates. The exact files are listed once Hugging Face answers."
        else:
            note = "The file is checked against Hugging Face's fingerprint (SHA-256) when done."
        self.note.setText(note)
        self._fit_wrapped_labels()

    # -- slots --------------------------------------------------------------------------------

    @Slot()
    def _on_choices_item_selection_changed(self) -> None:
        self._update_download_button()

    @Slot(QTableWidgetItem)
    def _on_choices_item_double_clicked(self, _item: QTableWidgetItem) -> None:
        if self.download_button.isEnabled():
            self._on_download_button_clicked()

    @Slot()
    def _on_download_button_clicked(self) -> None:
        row = self._selected_row()
        if row is None or row.choice is None or self._details is None:
            return
        self.banner.hide()
        self.download_requested.emit(self._details, row.choice)


@dataclass(frozen=True)
class _Option:
    """A row as hardware.recommend_quant sees it."""

    quantization: str
    total_bytes: int
    index: int
