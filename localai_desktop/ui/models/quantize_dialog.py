"""“Make a smaller copy…”: choose a type from a table, watch the progress, cancel at will."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QModelIndex, QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.quantize.options import CopyOption, copy_options
from localai_desktop.core.quantize.runner import (
    QuantizeCancelled,
    default_copy_name,
    quantize_model,
)
from localai_desktop.core.quantize.targets import QUALITY_SOURCE
from localai_desktop.core.speed.measurement import MachineSpeed
from localai_desktop.core.speed.prediction import describe_speed
from localai_desktop.ui.widgets.table_columns import RIGHT_ALIGNED, ColumnsTableModel, Index

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05
UNEXPECTED_QUANTIZE_ERROR = (
    "Something went wrong inside the app while making the copy. Nothing was added. Try "
    "again; if it keeps happening, the log file in the app's data folder says more."
)


class QuantizeWorker(QThread):
    """Runs core.quantize.runner.quantize_model on its own thread; reports progress."""

    progress_changed = Signal(str, int, int)
    """The work moved on: (stage: "quantizing", "checking" or "registering", done, total)."""
    copy_made = Signal(object)
    """The copy was made, checked and added: (registry.LocalModel)."""
    copy_failed = Signal(str)
    """It could not be made: (message for the user)."""
    copy_cancelled = Signal()
    """The user cancelled; the partial file is gone and nothing was added."""

    def __init__(
        self,
        registry: ModelRegistry,
        model_id: int,
        target: str,
        name: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("model-quantize")
        self._registry = registry
        self._model_id = model_id
        self._target = target
        self._name = name
        self._cancellation = Cancellation()
        self._last = (0.0, "")

    def cancel(self) -> None:
        """Kill the quantizer; safe from any thread."""
        self._cancellation.set()

    def run(self) -> None:
        try:
            result = quantize_model(
                self._registry,
                self._model_id,
                self._target,
                name=self._name,
                progress=self._report,
                cancellation=self._cancellation,
            )
        except QuantizeCancelled:
            self.copy_cancelled.emit()
        except LocalAIError as error:
            if self._cancellation.is_set():
                self.copy_cancelled.emit()
            else:
                self.copy_failed.emit(error.message)
        except Exception:
            log.exception("Making a %s copy failed unexpectedly", self._target)
            self.copy_failed.emit(UNEXPECTED_QUANTIZE_ERROR)
        else:
            self.copy_made.emit(result.model)

    def _report(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        last_time, last_stage = self._last
        if stage != last_stage or done >= total or now - last_time >= PROGRESS_INTERVAL_S:
            self._last = (now, stage)
            self.progress_changed.emit(stage, done, total)


def describe_quantize_progress(stage: str, done: int, total: int) -> str:
    if stage == "quantizing":
        return f"Making the copy with llama.cpp… part {done} of {total}"
    if stage == "checking":
        return "Checking that the copy loads and answers…"
    if stage == "registering":
        return "Adding the copy to your models…"
    return "Starting…"


COLUMNS = (
    ("Type", "The quantization: fewer bits per weight make a smaller, faster, less exact copy"),
    ("Size", "About how large the copy's file will be"),
    ("Memory", "About how much memory it needs to run, with 4,096 tokens of context"),
    ("Speed here", "Predicted words-pieces per second on this computer (its measured speed)"),
    ("Quality loss", QUALITY_SOURCE),
)


class CopyOptionsModel(ColumnsTableModel):
    """One row per type a copy can be made in."""

    columns = COLUMNS

    def __init__(self, options: list[CopyOption], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.options = options

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.options)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if index.isValid() and not self.options[index.row()].available:
            return Qt.ItemFlag.NoItemFlags
        return super().flags(index)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        option, column = self.options[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                option.target.name,
                f"about {format_bytes(option.file_bytes)}",
                f"about {format_bytes(option.memory_bytes)}",
                "not for embedding models"
                if option.tokens_per_second is None
                else describe_speed(option.tokens_per_second),
                option.target.quality_text,
            )[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return option.refusal or (QUALITY_SOURCE if column == 4 else None)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return RIGHT_ALIGNED
        return None


class QuantizeDialog(QDialog):
    """Shows what each type would cost and makes the chosen copy, with progress and Cancel."""

    copy_made = Signal(int)
    """A copy was made and added: (the new model's id)."""

    def __init__(
        self,
        registry: ModelRegistry,
        model: LocalModel,
        speed: MachineSpeed,
        *,
        speed_measured: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Make a smaller copy")
        self._registry = registry
        self._model = model
        self._worker: QuantizeWorker | None = None
        self.options_model = CopyOptionsModel(copy_options(model, speed), self)

        intro = QLabel(
            f"Make a smaller copy of “{model.name}” ({model.quantization}, "
            f"{format_bytes(model.file_size)}) with llama.cpp's quantizer. The original is kept."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableView()
        self.table.setAccessibleName("Copy types")
        self.table.setModel(self.options_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        speed_note = (
            "Speeds are predicted from this computer's measured speed."
            if speed_measured
            else "Speeds are a rough guess for a computer with this many cores until its "
            "speed is measured."
        )
        source = QLabel(f"{QUALITY_SOURCE} {speed_note}")
        source.setWordWrap(True)
        source.setStyleSheet("color: palette(placeholder-text);")
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("Name of the copy")
        self.name_edit.textChanged.connect(self._update_buttons)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)

        self.progress_text = QLabel()
        self.progress_text.setTextFormat(Qt.TextFormat.PlainText)
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Copy progress")
        self.progress_text.hide()
        self.progress_bar.hide()
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.hide()

        self.buttons = QDialogButtonBox()
        self.make_button = QPushButton("Make copy")
        self.make_button.setAccessibleName("Make copy")
        self.make_button.clicked.connect(self._on_make_button_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.buttons.addButton(self.make_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(source)
        layout.addLayout(form)
        layout.addWidget(self.progress_text)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.setMinimumSize(720, 380)
        self._select_default()
        self._update_buttons()

    # -- what the tab and tests use ---------------------------------------------------------

    def selected_option(self) -> CopyOption | None:
        rows = self.table.selectionModel().selectedRows()
        return self.options_model.options[rows[0].row()] if rows else None

    def select_type(self, name: str) -> None:
        for row, option in enumerate(self.options_model.options):
            if option.target.name == name and option.available:
                self.table.selectRow(row)

    def is_working(self) -> bool:
        return self._worker is not None

    def shutdown(self) -> None:
        """Cancel a copy being made and wait for its thread (the window is closing)."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait()

    def reject(self) -> None:
        """Escape or closing the window while working cancels, like the Cancel button."""
        if self._worker is not None:
            self._on_cancel_button_clicked()
            return
        super().reject()

    # -- slots -------------------------------------------------------------------------------

    @Slot()
    def _on_table_selection_changed(self) -> None:
        option = self.selected_option()
        if option is not None:
            self.name_edit.setText(default_copy_name(self._model, option.target))
        self._update_buttons()

    @Slot()
    def _on_make_button_clicked(self) -> None:
        option = self.selected_option()
        if option is None or self._worker is not None:
            return
        self.error_label.hide()
        worker = QuantizeWorker(
            self._registry,
            self._model.id,
            option.target.name,
            " ".join(self.name_edit.text().split()),
            self,
        )
        worker.progress_changed.connect(self._on_worker_progress_changed)
        worker.copy_made.connect(self._on_worker_copy_made)
        worker.copy_failed.connect(self._on_worker_copy_failed)
        worker.copy_cancelled.connect(self._on_worker_copy_cancelled)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self.progress_text.setText(describe_quantize_progress("", 0, 0))
        self.progress_bar.setRange(0, 0)
        self.progress_text.show()
        self.progress_bar.show()
        self._update_buttons()
        worker.start()

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        if self._worker is None:
            super().reject()
            return
        self._worker.cancel()
        self.cancel_button.setEnabled(False)
        self.progress_text.setText("Cancelling…")

    @Slot(str, int, int)
    def _on_worker_progress_changed(self, stage: str, done: int, total: int) -> None:
        if not self.cancel_button.isEnabled():
            return
        self.progress_text.setText(describe_quantize_progress(stage, done, total))
        if stage == "quantizing" and total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
        else:
            self.progress_bar.setRange(0, 0)

    @Slot(object)
    def _on_worker_copy_made(self, model: LocalModel) -> None:
        self.copy_made.emit(model.id)
        self.accept()

    @Slot(str)
    def _on_worker_copy_failed(self, message: str) -> None:
        self._show_error(message)

    @Slot()
    def _on_worker_copy_cancelled(self) -> None:
        self._show_error("Cancelled: the partial file was removed and nothing was added.")

    @Slot()
    def _on_worker_finished(self) -> None:
        if self._worker is not None:
            self._worker.deleteLater()
            self._worker = None
        self.progress_text.hide()
        self.progress_bar.hide()
        self.cancel_button.setEnabled(True)
        self._update_buttons()

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _select_default(self) -> None:
        # Q4_K_M: the usual choice for speed at good quality; else the first one possible.
        self.select_type("Q4_K_M")
        if self.selected_option() is None:
            for row, option in enumerate(self.options_model.options):
                if option.available:
                    self.table.selectRow(row)
                    break

    @Slot()
    def _update_buttons(self) -> None:
        working = self._worker is not None
        ready = self.selected_option() is not None and bool(self.name_edit.text().strip())
        self.make_button.setEnabled(ready and not working)
        self.table.setEnabled(not working)
        self.name_edit.setEnabled(not working)
