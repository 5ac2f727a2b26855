"""Live progress of a fine-tuning run: phase, step, epoch, losses, speed, time left, loss chart."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from localai_desktop.core.common.units import format_duration
from localai_desktop.core.finetune.events import TrainingEvent
from localai_desktop.ui.finetune.loss_chart import LossChart

_DEVICE_NAMES = {"cpu": "the CPU", "cuda": "the GPU (CUDA)", "mps": "the GPU (Apple)"}
# A small model reports dozens of steps a second; the panel redraws at most this often.
FLUSH_MS = 50
_FREQUENT = ("step", "validation", "checkpoint")
# The one training loss the app shows (here, in the summary and in Your adapters).
LOSS_TIP = (
    "The training loss averaged over the steps of the last epoch (over the steps so far, in "
    "the first epoch). Lower is better. The finished adapter keeps the same figure."
)


def device_name(device: str) -> str:
    return _DEVICE_NAMES.get(device, device.upper() or "the CPU")


class TrainingPanel(QWidget):
    """Shows one run as its events arrive; holds no state beyond what it displays."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.phase = QLabel("No training has run yet. Choose examples and a model, then Start.")
        self.phase.setTextFormat(Qt.TextFormat.PlainText)
        self.phase.setWordWrap(True)
        self.phase.setAccessibleName("Training status")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Training progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self._values: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        fields = (
            ("step", "Step"),
            ("epoch", "Epoch"),
            ("loss", "Training loss (epoch average)"),
            ("val_loss", "Validation loss"),
            ("speed", "Speed"),
            ("eta", "Time left"),
        )
        for index, (key, title) in enumerate(fields):
            caption = QLabel(title)
            caption.setStyleSheet("color: palette(placeholder-text);")
            value = QLabel("–")
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setAccessibleName(title)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setStyleSheet("font-weight: 600;")
            row, column = divmod(index, 3)
            grid.addWidget(caption, row * 2, column)
            grid.addWidget(value, row * 2 + 1, column)
            self._values[key] = value
            if key == "loss":
                for label in (caption, value):
                    label.setToolTip(LOSS_TIP)
        self.checkpoint = QLabel()
        self.checkpoint.setTextFormat(Qt.TextFormat.PlainText)
        self.checkpoint.setStyleSheet("color: palette(placeholder-text);")
        self.chart = LossChart()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.phase)
        layout.addWidget(self.progress)
        layout.addLayout(grid)
        layout.addWidget(self.checkpoint)
        layout.addWidget(self.chart, 1)
        self._pending: list[TrainingEvent] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._on_flush_timer_timeout)

    def value(self, key: str) -> str:
        """The text shown for "step", "epoch", "loss", "val_loss", "speed" or "eta"."""
        return self._values[key].text()

    def begin(self, *, fresh: bool, name: str) -> None:
        """A run of the adapter `name` starts; a fresh one clears the previous run's numbers."""
        self._flush_timer.stop()
        self._pending = []
        if fresh:
            self.chart.clear()
            for label in self._values.values():
                label.setText("–")
            self.checkpoint.clear()
        self.phase.setText(f"Starting to train “{name}”…")
        self._busy()

    def show_event(self, event: TrainingEvent) -> None:
        """Show a run's event: frequent ones in batches (one redraw), the others at once."""
        self._pending.append(event)
        if event.kind not in _FREQUENT:
            self.flush()
        elif not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Show the events still waiting for the next batch."""
        self._flush_timer.stop()
        pending, self._pending = self._pending, []
        for event in pending:
            self._apply(event)

    @Slot()
    def _on_flush_timer_timeout(self) -> None:
        self.flush()

    def _apply(self, event: TrainingEvent) -> None:
        kind = event.kind
        if kind == "loading":
            self.phase.setText(f"{event.message}…" if event.message else "Getting ready…")
            self._busy()
        elif kind == "started":
            self.chart.set_total_steps(event.total_steps)
            where = device_name(event.device)
            if event.resumed_from_step:
                self.chart.truncate_after(event.resumed_from_step)
                self.phase.setText(
                    f"Training on {where}, continuing from step {event.resumed_from_step}."
                )
            else:
                self.phase.setText(f"Training on {where}.")
            self._steps(event.step, event.total_steps)
        elif kind == "step":
            self._steps(event.step, event.total_steps)
            epoch = f"{event.epoch:.1f}".removesuffix(".0")
            self._values["epoch"].setText(f"{epoch} of {event.epochs}")
            if event.loss is not None:
                self._values["loss"].setText(f"{event.loss:.4f}")
                self.chart.add_train_point(event.step, event.loss)
            if event.tokens_per_second:
                self._values["speed"].setText(f"{event.tokens_per_second:,.0f} tokens/s")
            if event.eta_s is not None:
                self._values["eta"].setText(format_duration(event.eta_s))
        elif kind == "validation" and event.val_loss is not None:
            self._values["val_loss"].setText(f"{event.val_loss:.4f}")
            self.chart.add_validation_point(event.step, event.val_loss)
        elif kind == "checkpoint":
            self.checkpoint.setText(
                f"Progress saved at step {event.step}: a stopped run continues from there."
            )
        elif kind == "exporting":
            self.phase.setText("Saving the adapter and checking that the chat can use it…")
            self._values["eta"].setText("–")
            self._busy()
        elif kind == "finished":
            self.phase.setText("Finished. The adapter is saved and ready in Chat.")
            self._steps(event.total_steps, event.total_steps)
            self._values["eta"].setText("done")
            if event.loss is not None:
                self._values["loss"].setText(f"{event.loss:.4f}")
            if event.val_loss is not None:
                self._values["val_loss"].setText(f"{event.val_loss:.4f}")
        elif kind == "cancelled":
            self.phase.setText(
                f"Stopped at step {event.step} of {event.total_steps}. Nothing is lost: "
                "Resume continues from there."
            )
            self._steps(event.step, event.total_steps)
            self._values["eta"].setText("–")

    def show_stopped(self, text: str) -> None:
        """The run ended without an event saying so (an error, or the trainer went away)."""
        self.flush()
        self.phase.setText(text)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self._values["eta"].setText("–")

    def _steps(self, step: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(step, max(total, 1)))
        self.progress.setFormat("%v of %m steps")
        if total:
            self._values["step"].setText(f"{step:,} of {total:,}")

    def _busy(self) -> None:
        self.progress.setRange(0, 0)
