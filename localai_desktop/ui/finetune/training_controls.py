"""The Fine-tune tab's run controls: Start, Cancel, and Resume or Discard an unfinished run."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from localai_desktop.core.finetune.jobs import FineTuneJob

_HINT_STYLE = "color: palette(placeholder-text);"


def describe_unfinished(job: FineTuneJob) -> str:
    where = (
        f"at step {job.step} of {job.total_steps}" if job.total_steps else "before its first step"
    )
    return (
        f"Unfinished: “{job.name}” stopped {where} ({job.status}). Resume continues from its "
        "last saved step; Discard deletes it."
    )


class TrainingControls(QGroupBox):
    """Buttons that ask for a run, with a line saying why Start is not possible yet."""

    start_clicked = Signal()
    """The user asked to start a new run."""
    cancel_clicked = Signal()
    """The user asked to stop the run (it keeps a checkpoint)."""
    resume_clicked = Signal()
    """The user asked to continue the unfinished run."""
    discard_clicked = Signal()
    """The user asked to delete the unfinished run."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.start_button = QPushButton("Start training")
        self.start_button.setAccessibleName("Start training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self._on_start_button_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel training")
        self.cancel_button.setToolTip("Stop after the current step; the progress is kept")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setAccessibleName("Resume training")
        self.resume_button.clicked.connect(self._on_resume_button_clicked)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setAccessibleName("Discard the unfinished training")
        self.discard_button.clicked.connect(self._on_discard_button_clicked)
        self.hint = QLabel()
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(_HINT_STYLE)
        self.hint.setAccessibleName("Why training cannot start yet")
        self.unfinished = QLabel()
        self.unfinished.setTextFormat(Qt.TextFormat.PlainText)
        self.unfinished.setWordWrap(True)
        self.unfinished.setAccessibleName("Unfinished training")
        run = QHBoxLayout()
        run.addWidget(self.start_button)
        run.addWidget(self.cancel_button)
        later = QHBoxLayout()
        later.addWidget(self.resume_button)
        later.addWidget(self.discard_button)
        later.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(run)
        layout.addWidget(self.hint)
        layout.addWidget(self.unfinished)
        layout.addLayout(later)

    def set_state(
        self, *, running: bool, can_cancel: bool, blocker: str, unfinished: FineTuneJob | None
    ) -> None:
        """Running: only Cancel. Otherwise Start unless `blocker` says why not, and Resume
        or Discard for an unfinished job."""
        self.start_button.setEnabled(not running and not blocker)
        self.hint.setText("" if running else blocker)
        self.hint.setVisible(not running and bool(blocker))
        self.cancel_button.setEnabled(running and can_cancel)
        job = None if running else unfinished
        if job is not None:
            self.unfinished.setText(describe_unfinished(job))
        for widget in (self.unfinished, self.resume_button, self.discard_button):
            widget.setVisible(job is not None)

    def set_stopping(self) -> None:
        self.cancel_button.setEnabled(False)

    @Slot()
    def _on_start_button_clicked(self) -> None:
        self.start_clicked.emit()

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        self.cancel_clicked.emit()

    @Slot()
    def _on_resume_button_clicked(self) -> None:
        self.resume_clicked.emit()

    @Slot()
    def _on_discard_button_clicked(self) -> None:
        self.discard_clicked.emit()
