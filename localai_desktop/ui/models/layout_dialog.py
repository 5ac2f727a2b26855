"""“Speed here…”: measure a model in both weight layouts and keep the faster for your work."""

from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.inference.llama_runtime import default_thread_count
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.speed.layout import (
    WEIGHT_LAYOUT_KEY,
    LayoutChoice,
    Work,
    measure_layouts,
    stored_choice,
)

log = logging.getLogger(__name__)

UNEXPECTED_MEASURE_ERROR = (
    "Something went wrong inside the app while measuring. Nothing was changed. Try again; if it "
    "keeps happening, the log file in the app's data folder says more."
)


class LayoutWorker(QThread):
    """Runs core.speed.layout.measure_layouts on its own thread (each layout in a child)."""

    step_changed = Signal(str)
    """Which layout is being measured now: (a sentence for the user)."""
    measured = Signal(object)
    """Both layouts were measured: (layout.LayoutChoice)."""
    failed = Signal(str)
    """Measuring stopped: (message for the user; cancelled says so)."""

    def __init__(self, model: LocalModel, work: Work, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("model-layout")
        self._model = model
        self._work = work
        self._cancellation = Cancellation()

    def cancel(self) -> None:
        """Stop the measuring child; safe from any thread."""
        self._cancellation.set()

    def run(self) -> None:
        try:
            choice = measure_layouts(
                self._model,
                work=self._work,
                threads=default_thread_count(),
                on_progress=self.step_changed.emit,
                cancel=self._cancellation,
            )
        except LocalAIError as error:
            self.failed.emit(error.message)
        except Exception:
            log.exception("Measuring the layouts of %s failed unexpectedly", self._model.name)
            self.failed.emit(UNEXPECTED_MEASURE_ERROR)
        else:
            self.measured.emit(choice)


class LayoutDialog(QDialog):
    """Shows both layouts' speeds on this computer and which one the app loads, for which work."""

    def __init__(
        self, registry: ModelRegistry, model: LocalModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Speed on this computer")
        self._registry = registry
        self._model = model
        self._worker: LayoutWorker | None = None
        self.choice: LayoutChoice | None = stored_choice(model)

        intro = QLabel(
            f"llama.cpp can rearrange the weights of “{model.name}” when it loads them. On some "
            "computers that reads long prompts faster, on others it writes answers faster. "
            "Measure both here (about a minute for a small model, longer for a large one) and "
            "the app loads the model in the faster layout for the work you do most."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.documents_button = QRadioButton("Questions about documents (long prompts)")
        self.chat_button = QRadioButton("Conversations (longer answers)")
        self.work_group = QButtonGroup(self)
        self.work_group.addButton(self.documents_button)
        self.work_group.addButton(self.chat_button)
        work = self.choice.work if self.choice is not None else Work.DOCUMENTS
        (self.documents_button if work is Work.DOCUMENTS else self.chat_button).setChecked(True)
        self.documents_button.toggled.connect(self._on_work_toggled)
        work_row = QHBoxLayout()
        work_row.addWidget(self.documents_button)
        work_row.addWidget(self.chat_button)
        work_row.addStretch(1)

        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setAccessibleName("Measured speeds")
        self.progress_text = QLabel()
        self.progress_text.setTextFormat(Qt.TextFormat.PlainText)
        self.progress_text.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setAccessibleName("Measuring")
        self.progress_bar.hide()

        self.measure_button = QPushButton("Measure" if self.choice is None else "Measure again")
        self.measure_button.setAccessibleName("Measure both layouts")
        self.measure_button.clicked.connect(self._on_measure_button_clicked)
        self.close_button = QPushButton("Close")
        self.close_button.setAccessibleName("Close")
        self.close_button.clicked.connect(self._on_close_button_clicked)
        buttons = QDialogButtonBox()
        buttons.addButton(self.measure_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(work_row)
        layout.addWidget(self.result_label)
        layout.addWidget(self.progress_text)
        layout.addWidget(self.progress_bar)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.setMinimumSize(600, 340)
        self._show_choice()

    # -- what the tab and tests use ---------------------------------------------------------

    def selected_work(self) -> Work:
        return Work.DOCUMENTS if self.documents_button.isChecked() else Work.CHAT

    def is_measuring(self) -> bool:
        return self._worker is not None

    # -- slots ----------------------------------------------------------------------------------

    def _on_measure_button_clicked(self) -> None:
        if self._worker is not None:
            return
        worker = LayoutWorker(self._model, self.selected_work(), self)
        worker.step_changed.connect(self.progress_text.setText)
        worker.measured.connect(self._on_worker_measured)
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self.measure_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.progress_text.setText("Starting…")
        self.progress_bar.show()
        worker.start()

    def _on_close_button_clicked(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            return
        self.reject()

    def _on_work_toggled(self, _checked: bool) -> None:
        if self.choice is not None and self._worker is None:
            self._keep(self.choice.for_work(self.selected_work()))

    def _on_worker_measured(self, choice: LayoutChoice) -> None:
        self._keep(choice)
        self.progress_text.setText("")

    def _on_worker_failed(self, message: str) -> None:
        self.progress_text.setText(message)

    def _on_worker_finished(self) -> None:
        self._worker = None
        self.progress_bar.hide()
        self.measure_button.setEnabled(True)
        self.measure_button.setText("Measure again")
        self.close_button.setText("Close")

    def reject(self) -> None:
        if self._worker is not None:  # Esc while measuring: stop it, close when it has ended
            self._worker.cancel()
            self._worker.wait()
        super().reject()

    # -- helpers --------------------------------------------------------------------------------

    def _keep(self, choice: LayoutChoice) -> None:
        model = self._registry.get(self._model.id)
        source = {**model.source, WEIGHT_LAYOUT_KEY: choice.to_json()}
        self._registry.set_source(model.id, source)
        self._model = replace(model, source=source)
        self.choice = choice
        self._show_choice()

    def _show_choice(self) -> None:
        choice = self.choice
        if choice is None:
            self.result_label.setText("Not measured on this computer yet.")
            return
        lines = [
            f"{label}: reads a prompt at {speed.prompt_tokens_per_second:.0f} tokens/s, writes "
            f"at {speed.answer_tokens_per_second:.1f} tokens/s"
            for label, speed in (
                ("Rearranged by llama.cpp", choice.repacked),
                ("The file's own layout", choice.plain),
            )
        ]
        lines.append(f"Used: {choice.describe()}.")
        if self._model.plain_buffers:
            lines.append(
                "The file's own layout is used anyway: the rearranged one crashed on this "
                "computer when the model was added."
            )
        self.result_label.setText("\n".join(lines))
        self.adjustSize()  # wrapped lines need more height than the dialog had
