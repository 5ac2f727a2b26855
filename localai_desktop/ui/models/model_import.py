"""Importing a GGUF file: the dialog that asks how, and the worker that does it off the GUI."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.models.registry import ImportCancelled, ModelRegistry
from localai_desktop.ui.widgets.safe_text import inert_tooltip

log = logging.getLogger(__name__)

# Progress reaches the view at most this often, however fast the file is read.
PROGRESS_INTERVAL_S = 0.05

UNEXPECTED_IMPORT_ERROR = (
    "Something went wrong inside the app while importing this file. Nothing was added. "
    "Try again; if it keeps happening, the log file in the app's data folder says more."
)


class ModelImportWorker(QThread):
    """Runs ModelRegistry.import_model on its own thread; reports progress; can be cancelled."""

    progress_changed = Signal(str, int, int)
    """The import moved on: (stage: "checking", "hashing" or "copying", done, total)."""
    import_succeeded = Signal(object)
    """The model was added: (registry.LocalModel)."""
    import_failed = Signal(str)
    """The file could not be added: (message for the user)."""
    import_cancelled = Signal()
    """The user cancelled; nothing was added."""

    def __init__(
        self,
        registry: ModelRegistry,
        path: Path,
        name: str,
        copy: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("model-import")
        self._registry = registry
        self._path = path
        self._name = name
        self._copy = copy
        self._cancel = threading.Event()
        self._last_progress = (0.0, "")

    def cancel(self) -> None:
        """Ask the import to stop at its next check. Safe from any thread."""
        self._cancel.set()

    def run(self) -> None:
        try:
            model = self._registry.import_model(
                self._path,
                name=self._name,
                copy=self._copy,
                progress=self._report,
                should_cancel=self._cancel.is_set,
            )
        except ImportCancelled:
            self.import_cancelled.emit()
        except LocalAIError as error:
            if self._cancel.is_set():
                self.import_cancelled.emit()
            else:
                self.import_failed.emit(error.message)
        except Exception:
            log.exception("Importing %s failed unexpectedly", self._path)
            self.import_failed.emit(UNEXPECTED_IMPORT_ERROR)
        else:
            self.import_succeeded.emit(model)

    def _report(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        last_time, last_stage = self._last_progress
        if stage != last_stage or done >= total or now - last_time >= PROGRESS_INTERVAL_S:
            self._last_progress = (now, stage)
            self.progress_changed.emit(stage, done, total)


def describe_import_progress(stage: str, done: int, total: int) -> str:
    """What an import is doing, in words."""
    if stage == "checking":
        return "Checking that this file is a model the app can run…"
    if stage == "hashing":
        return "Reading the whole file to fingerprint it…"
    if stage == "copying":
        return f"Copying into the app's model folder… {format_bytes(done)} of {format_bytes(total)}"
    return "Importing…"


class ImportModelDialog(QDialog):
    """Asks what to call a model and whether to copy its file into the app's folder."""

    def __init__(self, path: Path, models_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle("Import a model")
        try:
            size = format_bytes(path.stat().st_size)
        except OSError:
            size = "size unknown"
        file_label = QLabel(f"{path.name} ({size})")
        file_label.setTextFormat(Qt.TextFormat.PlainText)
        file_label.setToolTip(inert_tooltip(str(path)))
        file_label.setAccessibleName("File")
        self._name = QLineEdit(path.stem)
        self._name.setAccessibleName("Model name")
        self._name.setToolTip("The name you will see in the model list and the Chat tab")
        self._name.textChanged.connect(self._on_name_text_changed)

        self.in_place = QRadioButton("Use the file where it is")
        self.in_place.setAccessibleName("Use the file where it is")
        self.in_place.setToolTip(
            "Nothing is copied. If you later move or delete the file, the model stops working."
        )
        self.copy = QRadioButton("Copy into the app's model folder")
        self.copy.setAccessibleName("Copy into the app's model folder")
        self.copy.setToolTip(
            f"Uses another {size} of disk space, in {models_dir}. You can then move or delete "
            "the original file."
        )
        choice = QButtonGroup(self)
        choice.addButton(self.in_place)
        choice.addButton(self.copy)
        self.in_place.setChecked(True)
        hint = QLabel(
            "Copying uses more disk space but keeps the model working if you move or delete "
            "the original file."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(placeholder-text);")

        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Import")
        ok.setAccessibleName("Import")
        cancel = self._buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("File", file_label)
        form.addRow("Name", self._name)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.in_place)
        layout.addWidget(self.copy)
        layout.addWidget(hint)
        layout.addWidget(self._buttons)
        self.setMinimumWidth(420)

    def model_name(self) -> str:
        return " ".join(self._name.text().split())

    def set_model_name(self, name: str) -> None:
        self._name.setText(name)

    def copies_file(self) -> bool:
        return self.copy.isChecked()

    @Slot(str)
    def _on_name_text_changed(self, _text: str) -> None:
        ok = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.model_name()))
