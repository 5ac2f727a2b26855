"""The Audit trail dialog: every entry, newest first, with Verify and Export…."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.audit.entries import AuditEntry
from localai_desktop.core.audit.trail import AuditTrail, TrailExport
from localai_desktop.core.audit.verification import VerifyReport
from localai_desktop.ui.audit.entry_table import (
    COLUMN_ENTRY,
    COLUMN_HASHES,
    COLUMN_MODEL,
    COLUMN_TIME,
    COLUMN_WHAT,
    COLUMN_WHERE,
    AuditEntryTable,
)
from localai_desktop.ui.audit.trail_jobs import TrailJobs
from localai_desktop.ui.widgets.notices import Banner

# (parent, suggested path) -> the file to save the trail to (.csv or .json), or None.
ExportChooser = Callable[[QWidget, Path], "Path | None"]
_CSV_FILTER = "CSV for spreadsheets (*.csv)"
_JSON_FILTER = "JSON for programs (*.json)"

INTRO = (
    "Every answer, export, import and deletion in this data folder, recorded as sha256 "
    "fingerprints, never as text. Each entry is chained to the one before it, so Verify shows "
    "an entry that was changed, and a message that was changed behind the app's back."
)


def choose_export_file(parent: QWidget, suggested: Path) -> Path | None:
    name, chosen_filter = QFileDialog.getSaveFileName(
        parent, "Export the audit trail", str(suggested), f"{_CSV_FILTER};;{_JSON_FILTER}"
    )
    if not name:
        return None
    path = Path(name)
    if path.suffix.lower() not in (".csv", ".json"):
        path = path.with_name(path.name + (".json" if chosen_filter == _JSON_FILTER else ".csv"))
    return path


def _count(number: int) -> str:
    return f"{number} {'entry' if number == 1 else 'entries'}"


class AuditDialog(QDialog):
    """The data folder's audit trail: what was recorded, whether it checks out, a copy of it."""

    entries_shown = Signal(int)
    """The entries were read and listed: (how many)."""
    verified = Signal(object)
    """A verification ended and its verdict is shown: (core.audit.verification.VerifyReport)."""
    exported = Signal(object)
    """The trail was saved to a file: (core.audit.trail.TrailExport)."""

    def __init__(
        self,
        trail: AuditTrail,
        parent: QWidget | None = None,
        *,
        choose_file: ExportChooser = choose_export_file,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit trail")
        self._trail = trail
        self.choose_file = choose_file
        self._jobs = TrailJobs(self)
        self._jobs.job_finished.connect(self._on_jobs_job_finished)
        self._jobs.job_failed.connect(self._on_jobs_job_failed)
        self._pending: dict[int, str] = {}  # job id -> "load", "verify" or "export"

        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.banner = Banner()
        self.table_model = AuditEntryTable()
        self.table = QTableView()
        self.table.setAccessibleName("Audit trail entries")
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setAccessibleName("Row numbers")
        self.table.horizontalHeader().setAccessibleName("Column headings")
        self._size_columns()
        self.count_label = QLabel("Reading the audit trail…")
        self.count_label.setAccessibleName("Number of entries")
        self.verify_button = QPushButton("&Verify")
        self.verify_button.setAccessibleName("Verify the audit trail")
        self.verify_button.setToolTip(
            "Recompute every entry's fingerprint and check the answered messages against theirs"
        )
        self.verify_button.clicked.connect(self._on_verify_button_clicked)
        self.export_button = QPushButton("&Export…")
        self.export_button.setAccessibleName("Export the audit trail")
        self.export_button.setToolTip("Save the trail as CSV or JSON, for the record")
        self.export_button.clicked.connect(self._on_export_button_clicked)
        close_button = QPushButton("Close")
        close_button.setAccessibleName("Close the audit trail")
        close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count_label, 1)
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.banner)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.resize(980, 560)
        self.reload()

    # -- what the window calls ----------------------------------------------------------------

    def reload(self) -> None:
        """Read the entries again (on the helper thread) and list them, newest first."""
        self._start("load", lambda: self._trail.entries(newest_first=True))

    def shutdown(self) -> None:
        """Wait for the job in hand (reading, verifying or saving) and drop the rest."""
        self._jobs.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.banner.hide()  # a verdict is for the moment it was given
        super().closeEvent(event)

    # -- slots --------------------------------------------------------------------------------

    @Slot()
    def _on_verify_button_clicked(self) -> None:
        self.banner.hide()
        self.count_label.setText(f"Checking {_count(self.table_model.rowCount())}…")
        self._start("verify", self._trail.verify)

    @Slot()
    def _on_export_button_clicked(self) -> None:
        path = self.choose_file(self, Path.home() / "LocalAI-audit-trail.csv")
        if path is None:
            return
        self.banner.hide()
        self.count_label.setText(f"Saving the audit trail to {path.name}…")
        self._start("export", lambda: self._trail.export(path))

    @Slot(int, object)
    def _on_jobs_job_finished(self, job_id: int, result: Any) -> None:
        kind = self._pending.pop(job_id, None)
        self._set_busy(bool(self._pending))
        if kind == "load":
            self._show_entries(result)
        elif kind == "verify":
            self._show_verdict(result)
        elif kind == "export":
            self._show_export(result)

    @Slot(int, str)
    def _on_jobs_job_failed(self, job_id: int, message: str) -> None:
        self._pending.pop(job_id, None)
        self._set_busy(bool(self._pending))
        self.count_label.setText(_count(self.table_model.rowCount()))
        self.banner.show_error(message)

    # -- helpers ------------------------------------------------------------------------------

    def _start(self, kind: str, job: Callable[[], Any]) -> None:
        self._set_busy(True)
        self._pending[self._jobs.submit(job)] = kind

    def _set_busy(self, busy: bool) -> None:
        self.verify_button.setEnabled(not busy)
        self.export_button.setEnabled(not busy)

    def _show_entries(self, entries: list[AuditEntry]) -> None:
        self.table_model.set_entries(entries)
        self.count_label.setText(_count(len(entries)))
        self.entries_shown.emit(len(entries))

    def _show_verdict(self, report: VerifyReport) -> None:
        self.count_label.setText(_count(self.table_model.rowCount()))
        if report.ok:
            self.banner.show_info(report.summary())
        else:
            self.banner.show_error(
                f"{report.summary()} What is stored no longer matches what was recorded: keep "
                "this data folder as it is, and compare with an earlier export of the trail."
            )
            row = self.table_model.row_of(report.first_bad_entry or 0)
            if row is not None:
                self.table.selectRow(row)
                self.table.scrollTo(self.table_model.index(row, 0))
        self.verified.emit(report)

    def _show_export(self, result: TrailExport) -> None:
        self.banner.show_info(
            f"Saved the audit trail ({_count(result.entries)}, {result.format.upper()}) to "
            f"{result.path}. {result.report.summary()} The export is on the trail too."
        )
        self.exported.emit(result)
        self.reload()

    def _size_columns(self) -> None:
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        widths = {
            COLUMN_ENTRY: metrics.horizontalAdvance("00000") + 12,
            COLUMN_TIME: metrics.horizontalAdvance("0000-00-00 00:00") + 12,
            COLUMN_WHERE: metrics.horizontalAdvance("Chat / message") + 12,
            COLUMN_MODEL: metrics.horizontalAdvance("stories260K") + 12,
            COLUMN_HASHES: metrics.horizontalAdvance("Q 00000000 A 00000000") + 12,
        }
        for column, width in widths.items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(COLUMN_WHAT, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)
        self.table.verticalHeader().setDefaultSectionSize(metrics.height() + 10)
        self.table.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
