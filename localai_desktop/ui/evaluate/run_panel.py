"""The Run page: a test set, the models (and adapters) to answer it, settings, and the run's
progress with Cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.units import format_duration
from localai_desktop.core.evaluation.runner import DEFAULT_MAX_TOKENS, DEFAULT_SEED, EvalProgress
from localai_desktop.core.evaluation.test_sets import TestSet
from localai_desktop.core.inference.generation import AUTOMATIC_CONTEXT_LENGTH, GenerationSettings
from localai_desktop.core.models.adapters import Adapter
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.ui.evaluate.accessible import name_controls
from localai_desktop.ui.widgets.elided_label import ElidedLabel
from localai_desktop.ui.workers.remotes import RemoteListing

_TARGET_ROLE = Qt.ItemDataRole.UserRole  # ("model", name) or ("adapter", "MODEL:ADAPTER")


@dataclass(frozen=True)
class RunChoice:
    """What the person chose on the Run page (plain data for the worker)."""

    test_set: str
    models: tuple[str, ...]
    adapters: tuple[str, ...]  # "MODEL:ADAPTER"
    settings: dict[str, Any]


def describe_progress(progress: EvalProgress) -> str:
    """ "Question 3 of 8 · st: answering · about 4 s left"."""
    if progress.phase == "loading":
        doing = f"loading {progress.target_label}"
    else:
        doing = progress.target_label
    text = f"Question {min(progress.done + 1, progress.total)} of {progress.total} · {doing}"
    if progress.done >= progress.total:
        text = f"{progress.total} of {progress.total} answered"
    if progress.seconds_left is not None and progress.done < progress.total:
        text += f" · {format_duration(progress.seconds_left)} left"
    return text


def memory_hint(value: int) -> str:
    """What the Memory choice means for the models of a run, in plain words."""
    if value <= AUTOMATIC_CONTEXT_LENGTH:
        return "Each model gets as much as this computer comfortably holds, up to its own limit."
    return f"Each model gets {value:,} tokens, or its own limit where that is less."


class RunPanel(QWidget):
    """Choose, start and follow a run; the tab sends it to the EvaluationWorker."""

    run_requested = Signal(object)
    """The person pressed Run: (RunChoice)."""
    cancel_requested = Signal()
    """The person pressed Cancel while a run goes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.test_set = QComboBox()
        self.test_set.setAccessibleName("Test set to run")
        self._models: list[LocalModel] = []
        self._adapters: list[Adapter] = []
        self._remotes: tuple[RemoteListing, ...] = ()
        self.targets = QListWidget()
        self.targets.setAccessibleName("Models to evaluate")
        self.targets.setToolTip("Tick every model (and fine-tuned adapter) to compare")
        self.targets.itemChanged.connect(self._on_targets_item_changed)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 32_768)
        self.max_tokens.setValue(DEFAULT_MAX_TOKENS)
        self.max_tokens.setAccessibleName("Longest answer (tokens)")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(GenerationSettings.temperature)
        self.temperature.setAccessibleName("Creativity (temperature)")
        self.memory = QSpinBox()
        self.memory.setRange(AUTOMATIC_CONTEXT_LENGTH, 262_144)
        self.memory.setSingleStep(1024)
        self.memory.setSuffix(" tokens")
        self.memory.setSpecialValueText("Automatic")
        self.memory.setValue(AUTOMATIC_CONTEXT_LENGTH)
        self.memory.setAccessibleName("Memory of each model (context length)")
        self.memory.setToolTip(
            "How much of the question and its documents each model keeps in mind. Automatic "
            "gives each model as much as this computer comfortably holds, up to the model's "
            "own limit, as in Chat. A number is used for every model (a model that supports "
            "less uses its own limit). The results show what each model had."
        )
        self.memory_hint = QLabel()
        self.memory_hint.setWordWrap(True)
        self.memory_hint.setStyleSheet("color: palette(placeholder-text);")
        self.memory.valueChanged.connect(self._on_memory_value_changed)
        self._on_memory_value_changed(self.memory.value())
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_147_483_647)
        self.seed.setValue(DEFAULT_SEED)
        self.seed.setAccessibleName("Seed")
        self.seed.setToolTip("The same seed gives the same answers, so models compare fairly")
        form = QFormLayout()
        form.addRow("Test set", self.test_set)
        form.addRow("Longest answer (tokens)", self.max_tokens)
        memory = QWidget()
        memory_column = QVBoxLayout(memory)
        memory_column.setContentsMargins(0, 0, 0, 0)
        memory_column.setSpacing(2)
        memory_column.addWidget(self.memory)
        memory_column.addWidget(self.memory_hint)
        form.addRow("Memory", memory)
        form.addRow("Creativity", self.temperature)
        form.addRow("Seed", self.seed)

        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Answer every question with every ticked model, one at a time")
        self.run_button.clicked.connect(self._on_run_button_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current answer; the answers so far are kept")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.cancel_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Run progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
        self.status.setAccessibleName("Run status")
        self.hint = QLabel(
            "One model is loaded at a time. A run you cancel, or one the app did not finish, "
            "can be resumed from the Results page."
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text);")

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Models"))
        layout.addWidget(self.targets, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.hint)
        name_controls(self)
        self._running = False
        self._update_buttons()

    # -- what the tab calls ---------------------------------------------------------------

    def set_test_sets(self, sets: Sequence[TestSet]) -> None:
        current = self.test_set.currentText()
        self.test_set.clear()
        for test_set in sets:
            self.test_set.addItem(
                f"{test_set.name} ({len(test_set.questions)} questions)", test_set.name
            )
        index = self.test_set.findData(current) if current else -1
        self.test_set.setCurrentIndex(max(index, 0) if sets else -1)
        self._update_buttons()

    def select_test_set(self, name: str) -> None:
        index = self.test_set.findData(name)
        if index >= 0:
            self.test_set.setCurrentIndex(index)

    def set_models(self, models: Sequence[LocalModel], adapters: Sequence[Adapter]) -> None:
        self._models, self._adapters = list(models), list(adapters)
        self._fill()

    def set_remote_models(self, listings: Sequence[RemoteListing]) -> None:
        """The remote engines' models (those that answered and offline mode allows), listed
        after this computer's, each saying where it runs."""
        self._remotes = tuple(listing for listing in listings if listing.available)
        self._fill()

    def _fill(self) -> None:
        models, adapters = self._models, self._adapters
        ticked = set(self.chosen_targets())
        self.targets.blockSignals(True)
        try:
            self.targets.clear()
            for model in models:
                if model.is_embedding_model:
                    continue
                self._add_target(model.name, ("model", model.name), ticked)
                for adapter in adapters:
                    if adapter.fits(model):
                        pair = f"{model.name}:{adapter.name}"
                        self._add_target(
                            f"{model.name} + adapter {adapter.name}", ("adapter", pair), ticked
                        )
            for listing in self._remotes:  # after this computer's: their text is sent away
                for model_id in listing.models:
                    reference = listing.reference(model_id)
                    self._add_target(f"{reference} · {listing.where}", ("model", reference), ticked)
        finally:
            self.targets.blockSignals(False)
        self._update_buttons()

    def tick(self, label_or_pair: str, ticked: bool = True) -> None:
        """Tick a target by model name or "MODEL:ADAPTER" (tests, and a later restore)."""
        for row in range(self.targets.count()):
            item = self.targets.item(row)
            if item.data(_TARGET_ROLE)[1] == label_or_pair:
                item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)

    def chosen_targets(self) -> list[tuple[str, str]]:
        chosen = []
        for row in range(self.targets.count()):
            item = self.targets.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                kind, value = item.data(_TARGET_ROLE)
                chosen.append((str(kind), str(value)))
        return chosen

    def choice(self) -> RunChoice | None:
        name = self.test_set.currentData()
        targets = self.chosen_targets()
        if not name or not targets:
            return None
        settings = GenerationSettings(
            temperature=round(self.temperature.value(), 2),
            max_tokens=self.max_tokens.value(),
            context_length=self.memory.value(),
            seed=self.seed.value(),
        )
        return RunChoice(
            str(name),
            tuple(v for k, v in targets if k == "model"),
            tuple(v for k, v in targets if k == "adapter"),
            settings.to_dict(),
        )

    def set_running(self, running: bool) -> None:
        self._running = running
        if running:
            self.progress.setRange(0, 0)
            self.status.set_full_text("Starting…")
        self._update_buttons()

    def show_progress(self, progress: EvalProgress) -> None:
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        self.status.set_full_text(describe_progress(progress))

    def show_message(self, text: str) -> None:
        self.status.set_full_text(text)

    def is_running(self) -> bool:
        return self._running

    # -- inside -------------------------------------------------------------------------------

    def _add_target(self, label: str, data: tuple[str, str], ticked: set[tuple[str, str]]) -> None:
        item = QListWidgetItem(label)
        item.setData(_TARGET_ROLE, data)
        item.setToolTip(label)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if data in ticked else Qt.CheckState.Unchecked)
        self.targets.addItem(item)

    def _update_buttons(self) -> None:
        ready = self.test_set.currentData() is not None and bool(self.chosen_targets())
        self.run_button.setEnabled(ready and not self._running)
        self.cancel_button.setEnabled(self._running)
        self.test_set.setEnabled(not self._running)
        self.targets.setEnabled(not self._running)
        if not self._running and not ready and not self.status.full_text():
            self.status.set_full_text("Choose a test set and tick at least one model.")

    @Slot(int)
    def _on_memory_value_changed(self, value: int) -> None:
        self.memory_hint.setText(memory_hint(value))

    @Slot(QListWidgetItem)
    def _on_targets_item_changed(self, _item: QListWidgetItem) -> None:
        self._update_buttons()

    @Slot()
    def _on_run_button_clicked(self) -> None:
        choice = self.choice()
        if choice is not None:
            self.run_requested.emit(choice)
