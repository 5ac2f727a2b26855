"""Choosing what to fine-tune and how: the base model (with a forecast) and the settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.finetune.events import TrainingSettings
from localai_desktop.core.finetune.stack import INSTALL_HINT, untrainable_reason
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.ui.widgets.settings_form import (
    AdvancedToggle,
    decimal_spin_box,
    signals_blocked,
    spin_box,
)
from localai_desktop.ui.widgets.text_size import relative_font
from localai_desktop.ui.widgets.theme import themed_style_sheet

_HINT_STYLE = "color: palette(placeholder-text);"


def untrainable_reasons(models: Sequence[LocalModel]) -> dict[int, str]:
    """Why each model that cannot be fine-tuned cannot be (by model id)."""
    reasons = {}
    for model in models:
        reason = untrainable_reason(model.architecture, is_embedding_model=model.is_embedding_model)
        if reason is None and not model.file_exists:
            reason = f"Its file is missing ({model.path})."
        if reason is not None:
            reasons[model.id] = reason
    return reasons


class BaseModelChooser(QWidget):
    """The models that can be fine-tuned, those that cannot (with why), and the forecast."""

    model_chosen = Signal(int)
    """The user picked a base model: (model_id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setAccessibleName("Model to teach")
        self.combo.setToolTip("The model that learns from your examples")
        self.combo.view().setAccessibleName("Models that can be fine-tuned")
        self.combo.activated.connect(self._on_combo_activated)
        self.untrainable = QLabel()
        self.untrainable.setTextFormat(Qt.TextFormat.PlainText)
        self.untrainable.setWordWrap(True)
        self.untrainable.setStyleSheet(_HINT_STYLE)
        self.untrainable.setAccessibleName("Models that cannot be fine-tuned")
        self.estimate = QLabel()
        self.estimate.setTextFormat(Qt.TextFormat.PlainText)
        self.estimate.setWordWrap(True)
        self.estimate.setAccessibleName("Estimate")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addWidget(self.untrainable)
        layout.addWidget(self.estimate)
        self.untrainable.hide()
        self.estimate.hide()

    def set_models(self, models: Sequence[LocalModel]) -> None:
        """List the trainable models (keeping the choice) and say why the others are not."""
        current = self.current_id()
        reasons = untrainable_reasons(models)
        self.combo.clear()
        for model in models:
            if model.id not in reasons:
                self.combo.addItem(model.name, model.id)
        if self.combo.count() == 0:
            self.combo.addItem("No model can be fine-tuned yet", None)
        self.combo.setEnabled(self.current_id() is not None)
        self.select(current)
        lines = [f"• {m.name}: {reasons[m.id]}" for m in models if m.id in reasons]
        if lines:
            self.untrainable.setText("Cannot be fine-tuned:\n" + "\n".join(lines))
        self.untrainable.setVisible(bool(lines))

    def select(self, model_id: int | None) -> None:
        index = self.combo.findData(model_id) if model_id is not None else -1
        self.combo.setCurrentIndex(max(index, 0))

    def current_id(self) -> int | None:
        data = self.combo.currentData()
        return int(data) if data is not None else None

    def show_estimate(self, text: str, *, refusal: bool) -> None:
        """The forecast for this computer, or (refusal) why the run will not be started."""
        self.estimate.setText(text)
        themed_style_sheet(
            self.estimate, lambda theme: f"color: {theme.error_text};" if refusal else ""
        )
        self.estimate.setVisible(bool(text))

    def estimate_text(self) -> str:
        return self.estimate.text() if not self.estimate.isHidden() else ""

    @Slot(int)
    def _on_combo_activated(self, _index: int) -> None:
        model_id = self.current_id()
        if model_id is not None:
            self.model_chosen.emit(model_id)


class TrainingSettingsForm(QWidget):
    """The adapter's name, epochs, and an Advanced section; defaults suit most people."""

    settings_changed = Signal()
    """A setting that changes the forecast was edited (read them with settings())."""
    name_changed = Signal(str)
    """The adapter's name was edited: (name)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("Name of the new adapter")
        self.name_edit.setPlaceholderText("for example: clinic letters")
        self.name_edit.setToolTip("You choose the adapter by this name in Chat.")
        self.name_edit.textChanged.connect(self._on_name_edit_text_changed)
        self.epochs = spin_box(
            1,
            100,
            "Rounds through the examples (epochs)",
            "How many times the model reads all your examples. More rounds learn more closely "
            "but take longer; 3 suits most datasets.",
        )
        self.rank = spin_box(
            1,
            256,
            "LoRA rank",
            "The size of the adapter. Higher learns more detail but needs more memory and can "
            "learn small datasets by heart; 8 to 16 suits most. Raise it for large, varied "
            "datasets.",
        )
        self.alpha = decimal_spin_box(
            0.5,
            1024.0,
            "LoRA alpha",
            "How strongly the adapter changes the model's answers; usually twice the rank. "
            "Lower it if the tuned model forgets what it knew before.",
            decimals=1,
        )
        self.learning_rate = decimal_spin_box(
            0.00001,
            0.5,
            "Learning rate",
            "How big each learning step is; 0.0002 is typical. Lower it if the training loss "
            "jumps about or grows; raise it a little if the loss hardly falls.",
            step=0.0001,
            decimals=5,
        )
        self.max_length = spin_box(
            16,
            32768,
            "Longest example (max length)",
            "Examples longer than this (in tokens) are listed as problems and not trained on. "
            "Longer needs more memory: raise it only when your examples are long.",
            step=256,
            suffix=" tokens",
        )
        self.batch_size = spin_box(
            1,
            256,
            "Examples per step (batch size)",
            "How many examples the model reads before each learning step. More gives steadier "
            "steps but needs more memory: lower it if training runs out of memory.",
        )
        self.validation_share = spin_box(
            0,
            45,
            "Held back for validation",
            "This share of the examples is not trained on; the model is tested on it after "
            "each round, to show it learns rather than memorises. 10 % suits most datasets; "
            "use 0 only when you have very few examples.",
            suffix=" %",
        )

        self.advanced = QWidget()
        advanced = QFormLayout(self.advanced)
        advanced.setContentsMargins(0, 0, 0, 0)
        advanced.addRow("LoRA rank", self.rank)
        advanced.addRow("LoRA alpha", self.alpha)
        advanced.addRow("Learning rate", self.learning_rate)
        advanced.addRow("Max length", self.max_length)
        advanced.addRow("Batch size", self.batch_size)
        advanced.addRow("Validation", self.validation_share)
        self._advanced_toggle = AdvancedToggle(self.advanced)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Name", self.name_edit)
        form.addRow("Epochs", self.epochs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self._advanced_toggle)
        layout.addWidget(self.advanced)
        self.set_settings(TrainingSettings())
        for spin in (self.epochs, self.rank, self.max_length, self.batch_size):
            spin.valueChanged.connect(self._on_setting_value_changed)
        self.validation_share.valueChanged.connect(self._on_setting_value_changed)
        for double in (self.alpha, self.learning_rate):
            double.valueChanged.connect(self._on_setting_value_changed)

    def settings(self) -> TrainingSettings:
        """The settings shown, over the last ones set (which keep the fields not shown)."""
        return replace(
            self._shown,
            rank=self.rank.value(),
            alpha=round(self.alpha.value(), 1),
            learning_rate=round(self.learning_rate.value(), 5),
            epochs=self.epochs.value(),
            max_length=self.max_length.value(),
            batch_size=self.batch_size.value(),
            validation_share=self.validation_share.value() / 100,
        )

    def set_settings(self, settings: TrainingSettings) -> None:
        """Show these settings without announcing a change."""
        self._shown = settings
        spins = (
            self.epochs,
            self.rank,
            self.alpha,
            self.learning_rate,
            self.max_length,
            self.batch_size,
            self.validation_share,
        )
        with signals_blocked(spins):
            self.epochs.setValue(settings.epochs)
            self.rank.setValue(settings.rank)
            self.alpha.setValue(settings.alpha)
            self.learning_rate.setValue(settings.learning_rate)
            self.max_length.setValue(settings.max_length)
            self.batch_size.setValue(settings.batch_size)
            self.validation_share.setValue(round(settings.validation_share * 100))

    def name(self) -> str:
        return self.name_edit.text().strip()

    def set_name(self, name: str) -> None:
        self.name_edit.setText(name)

    @Slot(str)
    def _on_name_edit_text_changed(self, text: str) -> None:
        self.name_changed.emit(text.strip())

    @Slot()
    def _on_setting_value_changed(self) -> None:
        self.settings_changed.emit()


class NotInstalledNotice(QWidget):
    """Shown instead of the tab when the training packages are missing: how to add them."""

    def __init__(self, missing: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Fine-tuning is not installed")
        heading = QLabel("Fine-tuning is not installed in this copy of the app")
        relative_font(heading, 1.6)  # grows and shrinks with the app's text size
        heading.setWordWrap(True)
        self.body = QLabel(
            "Fine-tuning teaches a model your own style or facts from examples, on this "
            "computer, and then you chat with the result. It needs about 1 GB of extra "
            f"packages that are not installed yet ({', '.join(missing)}).\n\n"
            "To enable it, run this command in the Python environment the app runs in, then "
            "start the app again. Everything else in the app works without it."
        )
        self.body.setWordWrap(True)
        self.command = QLabel(INSTALL_HINT)
        self.command.setAccessibleName("Install command")
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command.setStyleSheet(
            "font-family: monospace; padding: 8px; border: 1px solid palette(mid);"
            " border-radius: 4px; background: palette(base);"
        )
        self.copy_button = QPushButton("Copy the command")
        self.copy_button.setAccessibleName("Copy the install command")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        command_row = QHBoxLayout()
        command_row.addWidget(self.command, 1)
        command_row.addWidget(self.copy_button)
        column = QWidget()
        column.setMaximumWidth(720)
        layout = QVBoxLayout(column)
        layout.addWidget(heading)
        layout.addWidget(self.body)
        layout.addLayout(command_row)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 24)
        outer.addWidget(column)
        outer.addStretch(1)

    def text(self) -> str:
        return f"{self.body.text()}\n{self.command.text()}"

    @Slot()
    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(INSTALL_HINT)
        self.copy_button.setText("Copied")
