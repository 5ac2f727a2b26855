"""The Models tab: the models on this computer (import, remove) and, beside them, Discover."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.quantize.targets import SOURCE_TYPES
from localai_desktop.core.speed.measurement import MachineSpeed
from localai_desktop.core.speed.prediction import estimated_speed
from localai_desktop.ui.models.discover_panel import DiscoverPanel
from localai_desktop.ui.models.layout_dialog import LayoutDialog
from localai_desktop.ui.models.model_import import (
    UNEXPECTED_IMPORT_ERROR,
    ImportModelDialog,
    ModelImportWorker,
    describe_import_progress,
)
from localai_desktop.ui.models.model_table import ModelTableModel
from localai_desktop.ui.models.quantize_dialog import QuantizeDialog
from localai_desktop.ui.widgets.confirm import confirm_delete
from localai_desktop.ui.widgets.list_actions import ButtonMenu
from localai_desktop.ui.widgets.notices import Banner

# Quick imports finish before this; only slower ones show a progress bar (no flashing).
PROGRESS_DELAY_MS = 400


class ModelsTab(QWidget):
    """Lists local models; imports GGUF files on a worker thread; removes models."""

    models_changed = Signal()
    """A model was added or removed."""
    import_ended = Signal(bool, str)
    """An import ended and its thread with it: (whether the model was added, what the user
    was told)."""

    def __init__(
        self,
        registry: ModelRegistry,
        discover: DiscoverPanel | None = None,
        parent: QWidget | None = None,
        *,
        machine_speed: Callable[[], MachineSpeed | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.discover = discover
        self._registry = registry
        # This computer's measured speed (cached in the settings), for the copy's speed column.
        self._machine_speed = machine_speed or (lambda: None)
        self.quantize_dialog: QuantizeDialog | None = None
        self._import: ModelImportWorker | None = None
        self._import_outcome = (False, "")

        intro = QLabel(
            "Models are files on this computer; nothing is sent anywhere. Import a model file "
            "in the GGUF format (for example one you downloaded from Hugging Face)."
        )
        intro.setWordWrap(True)
        self.import_button = QPushButton("Import GGUF file…")
        self.import_button.setAccessibleName("Import GGUF file")
        self.import_button.setToolTip("Add a model file (.gguf) from this computer")
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleName("Remove model")
        self.remove_button.setToolTip("Remove the selected model from the app")
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.quantize_button = QPushButton("Make a smaller copy…")
        self.quantize_button.setAccessibleName("Make a smaller copy")
        self.quantize_button.setToolTip(
            "Make a smaller, faster copy of the selected model (from F32, F16, BF16 or Q8_0) "
            "with llama.cpp's quantizer"
        )
        self.quantize_button.clicked.connect(self._on_quantize_button_clicked)
        self.layout_button = QPushButton("Speed here…")
        self.layout_button.setAccessibleName("Speed on this computer")
        self.layout_button.setToolTip(
            "Measure the selected model in both of llama.cpp's weight layouts and load it in the "
            "faster one for your work"
        )
        self.layout_button.clicked.connect(self._on_layout_button_clicked)
        self.layout_dialog: LayoutDialog | None = None
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.quantize_button)
        buttons.addWidget(self.layout_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)

        self.progress_text = QLabel()
        self.progress_text.setTextFormat(Qt.TextFormat.PlainText)
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Import progress")
        self.progress_bar.setMaximumWidth(240)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel import")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.progress = QFrame()
        progress_row = QHBoxLayout(self.progress)
        progress_row.setContentsMargins(0, 0, 0, 0)
        progress_row.addWidget(self.progress_text, 1)
        progress_row.addWidget(self.progress_bar)
        progress_row.addWidget(self.cancel_button)
        self.progress.hide()
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_DELAY_MS)
        self._progress_timer.timeout.connect(self.progress.show)

        self.banner = Banner()
        self.table_model = ModelTableModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Models")
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setAccessibleName("Row numbers")
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setAccessibleName("Column headings")
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.table_menu = ButtonMenu(
            self.table,
            [self.quantize_button, self.layout_button, self.remove_button],
            "Model actions",
            delete=self.remove_button,
        )
        self.empty_label = QLabel("No models yet. Click “Import GGUF file…” to add one.")
        self.empty_label.setStyleSheet("color: palette(placeholder-text); padding: 24px;")

        local = QWidget()
        layout = QVBoxLayout(local)
        layout.addWidget(intro)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.banner)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.table, 1)
        self.sections = QTabWidget()
        self.sections.setAccessibleName("Models sections")
        self.sections.setDocumentMode(True)
        self.sections.addTab(local, "On this computer")
        if discover is not None:
            self.sections.addTab(discover, "Discover")
            discover.model_downloaded.connect(self._on_discover_model_downloaded)
            self.empty_label.setText(
                "No models yet. Open “Discover” to download a recommended one, or click "
                "“Import GGUF file…” to add a file you have."
            )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.sections)
        self.refresh()

    # -- what the main window and tests call ----------------------------------------------

    def refresh(self) -> None:
        self.table_model.set_models(self._registry.list())
        empty = self.table_model.rowCount() == 0
        self.empty_label.setVisible(empty)
        self._update_buttons()

    def start_import(self, path: Path, name: str, copy: bool) -> None:
        """Import a file on a worker thread; the result shows in the banner and the table."""
        if self._import is not None:
            return
        self.banner.hide()
        worker = ModelImportWorker(self._registry, path, name, copy, self)
        worker.progress_changed.connect(self._on_worker_progress_changed)
        worker.import_succeeded.connect(self._on_worker_import_succeeded)
        worker.import_failed.connect(self._on_worker_import_failed)
        worker.import_cancelled.connect(self._on_worker_import_cancelled)
        worker.finished.connect(self._on_worker_finished)
        self._import = worker
        self._import_outcome = (False, UNEXPECTED_IMPORT_ERROR)
        self.progress_text.setText(describe_import_progress("checking", 0, 1))
        self.progress_bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self._progress_timer.start()
        self._update_buttons()
        worker.start()

    def show_discover(self) -> None:
        """Bring the Discover section to the front (when there is one)."""
        if self.discover is not None:
            self.sections.setCurrentWidget(self.discover)

    def is_importing(self) -> bool:
        return self._import is not None

    def shutdown(self) -> None:
        """Cancel an import or a copy in progress and wait for its thread to end."""
        if self.quantize_dialog is not None:
            self.quantize_dialog.shutdown()
        if self.layout_dialog is not None:
            self.layout_dialog.reject()  # stops a measurement and waits for its thread
        if self._import is not None:
            self._import.cancel()
            self._import.wait()

    def selected_model(self) -> LocalModel | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table_model.model_at(rows[0].row()) if rows else None

    # -- slots: the user ------------------------------------------------------------------

    @Slot()
    def _on_import_button_clicked(self) -> None:
        dialog = QFileDialog(self, "Choose a GGUF model file", str(Path.home()))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters(["GGUF model files (*.gguf)", "All files (*)"])
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self._on_file_dialog_file_selected)
        dialog.open()

    @Slot(str)
    def _on_file_dialog_file_selected(self, file_name: str) -> None:
        if not file_name:
            return
        dialog = ImportModelDialog(Path(file_name), self._registry.models_dir, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._on_import_dialog_accepted)
        dialog.open()

    @Slot()
    def _on_import_dialog_accepted(self) -> None:
        dialog = self.sender()
        if isinstance(dialog, ImportModelDialog):
            self.start_import(dialog.path, dialog.model_name(), dialog.copies_file())

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        if self._import is not None:
            self._import.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_text.setText("Cancelling…")

    @Slot()
    def _on_quantize_button_clicked(self) -> None:
        model = self.selected_model()
        if model is None or self.quantize_dialog is not None:
            return
        measured = self._machine_speed()
        speed = measured or estimated_speed(_cpu_cores())
        dialog = QuantizeDialog(
            self._registry, model, speed, speed_measured=measured is not None, parent=self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.copy_made.connect(self._on_quantize_dialog_copy_made)
        dialog.finished.connect(self._on_quantize_dialog_finished)
        self.quantize_dialog = dialog
        self._update_buttons()
        dialog.open()

    @Slot()
    def _on_layout_button_clicked(self) -> None:
        model = self.selected_model()
        if model is None or self.layout_dialog is not None:
            return
        dialog = LayoutDialog(self._registry, model, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._on_layout_dialog_finished)
        self.layout_dialog = dialog
        self._update_buttons()
        dialog.open()

    @Slot()
    def _on_layout_dialog_finished(self) -> None:
        self.layout_dialog = None
        self.refresh()

    @Slot(int)
    def _on_quantize_dialog_copy_made(self, model_id: int) -> None:
        self._on_discover_model_downloaded(model_id)
        model = self.selected_model()
        if model is not None:
            self.banner.show_info(
                f"Added “{model.name}”, a smaller copy that loaded and answered when tried."
            )

    @Slot()
    def _on_quantize_dialog_finished(self) -> None:
        self.quantize_dialog = None
        self._update_buttons()

    @Slot()
    def _on_remove_button_clicked(self) -> None:
        model = self.selected_model()
        if model is None:
            return
        if model.copied:
            where = f"Its file is a copy in the app's model folder:\n{model.path}"
        else:
            where = f"Its file stays where it is unless you tick the box below:\n{model.path}"
        model_id = model.id
        box = confirm_delete(
            self,
            "Remove model",
            f"Remove the model “{model.name}” from the app?",
            f"Your conversations are kept. {where}",
            lambda: self._remove_model(model_id, box.checkBox().isChecked()),
            action="Remove",
            check_box_text=f"Also delete the file from disk ({format_bytes(model.file_size)})",
        )

    def _remove_model(self, model_id: int, delete_file: bool) -> None:
        try:
            model = self._registry.remove(model_id, delete_file=delete_file)
        except LocalAIError as error:
            # Also when its file could not be deleted: the model then stays, and this says why.
            self.banner.show_error(error.message)
        else:
            suffix = " and deleted its file" if delete_file else ""
            self.banner.show_info(f"Removed “{model.name}”{suffix}.")
        self.refresh()
        self.models_changed.emit()

    @Slot(int)
    def _on_discover_model_downloaded(self, model_id: int) -> None:
        self.refresh()
        row = self.table_model.row_of(model_id)
        if row >= 0:
            self.table.selectRow(row)
        self.models_changed.emit()

    @Slot()
    def _on_table_selection_changed(self) -> None:
        self._update_buttons()

    # -- slots: the import worker ---------------------------------------------------------

    @Slot(str, int, int)
    def _on_worker_progress_changed(self, stage: str, done: int, total: int) -> None:
        if not self.cancel_button.isEnabled():
            return  # "Cancelling…" stays until the worker stops
        self.progress_text.setText(describe_import_progress(stage, done, total))
        if stage == "checking" or total <= 0:
            self.progress_bar.setRange(0, 0)
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * done / total))

    @Slot(object)
    def _on_worker_import_succeeded(self, model: LocalModel) -> None:
        self.refresh()
        row = self.table_model.row_of(model.id)
        if row >= 0:
            self.table.selectRow(row)
        text = f"Added “{model.name}”. You can chat with it in the Chat tab."
        if model.is_embedding_model:
            text = f"Added “{model.name}”. It is an embedding model, which cannot chat."
        elif model.chat_template_notice:
            # Said once, here; the table's Chat template column keeps saying "Not used".
            text = f"Added “{model.name}”. Note: {model.chat_template_notice}."
        self.banner.show_info(text)
        self._import_outcome = (True, text)
        self.models_changed.emit()

    @Slot(str)
    def _on_worker_import_failed(self, error_message: str) -> None:
        self.banner.show_error(error_message)
        self._import_outcome = (False, error_message)

    @Slot()
    def _on_worker_import_cancelled(self) -> None:
        text = "The import was cancelled. Nothing was added."
        self.banner.show_info(text)
        self._import_outcome = (False, text)

    @Slot()
    def _on_worker_finished(self) -> None:
        self._progress_timer.stop()
        self.progress.hide()
        if self._import is not None:
            self._import.deleteLater()
            self._import = None
        self._update_buttons()
        self.import_ended.emit(*self._import_outcome)

    def _update_buttons(self) -> None:
        self.import_button.setEnabled(self._import is None)
        selected = self.selected_model()
        self.remove_button.setEnabled(selected is not None)
        self.layout_button.setEnabled(
            selected is not None
            and selected.file_exists
            and not selected.is_embedding_model
            and self.layout_dialog is None
        )
        self.quantize_button.setEnabled(
            selected is not None
            and selected.file_exists
            and selected.quantization.upper() in SOURCE_TYPES
            and self.quantize_dialog is None
        )


def _cpu_cores() -> int:
    import os

    return os.cpu_count() or 1
