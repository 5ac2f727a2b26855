"""Choosing a fine-tuned adapter of the chat model, and how strongly it acts."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

from localai_desktop.core.chat.conversations import Message
from localai_desktop.core.chat.provenance import AdapterUse
from localai_desktop.core.chat.service import AdapterChoice
from localai_desktop.core.models.adapters import Adapter
from localai_desktop.ui.widgets.safe_text import inert_tooltip

MAX_STRENGTH = 2.0
_SLIDER_STEPS_PER_UNIT = 20  # the slider moves in steps of 0.05
_SHA256_ROLE = Qt.ItemDataRole.UserRole + 1


def describe_adapter(adapter: Adapter) -> str:
    """An adapter in one tooltip: what it was trained on and how well it learned."""
    lines = [f"{adapter.name}: fine-tuned from {adapter.base_model_name}"]
    examples = adapter.dataset.get("train_examples")
    source = adapter.dataset.get("name")
    if isinstance(examples, int):
        lines.append(f"Learned from {examples} examples" + (f" ({source})" if source else ""))
    if adapter.final_val_loss is not None:
        lines.append(f"Validation loss {adapter.final_val_loss:.4f}")
    lines.append(f"Made {adapter.created_at:%Y-%m-%d %H:%M} UTC")
    if not adapter.file_exists:
        lines.append(f"Its file is missing: {adapter.path}")
    return "\n".join(lines)


class AdapterPicker(QWidget):
    """A list of the current model's adapters ("None" first) and a strength slider (0 to 2).

    Hidden while the model has no adapters, so people who never fine-tune never see it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setAccessibleName("Adapter")
        self.combo.view().setAccessibleName("Adapters of this model")
        self.combo.setToolTip(
            "A fine-tuned adapter changes how this model answers, as it learned from your "
            "examples. Switching it does not reload the model."
        )
        # Not AdjustToContents: "None (the model as it is)" and long adapter names would set
        # the Chat tab's minimum width (836 px with one adapter, wider than an 800 px window).
        # Names too long for the box are elided by Qt; each item's tooltip has the whole name.
        self.combo.setMinimumContentsLength(14)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.currentIndexChanged.connect(self._on_combo_current_index_changed)
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, int(MAX_STRENGTH * _SLIDER_STEPS_PER_UNIT))
        self.strength.setPageStep(_SLIDER_STEPS_PER_UNIT // 4)
        self.strength.setValue(_SLIDER_STEPS_PER_UNIT)
        self.strength.setMinimumWidth(80)
        self.strength.setMaximumWidth(140)
        self.strength.setAccessibleName("Adapter strength")
        self.strength.setToolTip(
            "1.0 applies the adapter as it was trained; lower blends in the plain model, "
            "higher exaggerates what it learned."
        )
        self.strength.valueChanged.connect(self._on_strength_value_changed)
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(110)
        label = QLabel("Adapter")
        label.setBuddy(self.combo)
        strength_caption = QLabel("Strength")
        strength_caption.setBuddy(self.strength)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(self.combo)
        layout.addSpacing(12)
        layout.addWidget(strength_caption)
        layout.addWidget(self.strength)
        layout.addWidget(self.strength_label)
        layout.addStretch(1)
        self._on_strength_value_changed(self.strength.value())
        self.set_adapters([])

    def set_adapters(self, adapters: Sequence[Adapter]) -> None:
        """List these adapters (of the current model), keeping the choice when still listed."""
        current = self.current_id()
        self.combo.blockSignals(True)
        try:
            self.combo.clear()
            self.combo.addItem("None (the model as it is)", None)
            for adapter in adapters:
                label = adapter.name if adapter.file_exists else f"{adapter.name} (file missing)"
                self.combo.addItem(label, adapter.id)
                row = self.combo.count() - 1
                self.combo.setItemData(
                    row, inert_tooltip(describe_adapter(adapter)), Qt.ItemDataRole.ToolTipRole
                )
                self.combo.setItemData(row, adapter.sha256, _SHA256_ROLE)
        finally:
            self.combo.blockSignals(False)
        self.select(current)
        self.setVisible(bool(adapters))

    def select(self, adapter_id: int | None, scale: float | None = None) -> None:
        """Choose an adapter (None for none; an unknown id also means none)."""
        index = self.combo.findData(adapter_id) if adapter_id is not None else -1
        self.combo.setCurrentIndex(max(index, 0))
        if scale is not None:
            self.strength.setValue(round(scale * _SLIDER_STEPS_PER_UNIT))
        self._enable_strength()

    def follow(self, messages: Sequence[Message]) -> None:
        """Choose what the conversation's last answer was written with."""
        answers = [m for m in messages if m.role == "assistant"]
        used = answers[-1].provenance.adapter if answers else None
        if used is None or not self._lists(used):
            # None also when it was removed since: a newer adapter may even have its id.
            self.select(None, used.scale if used is not None else None)
            return
        self.select(used.id, used.scale)

    def _lists(self, used: AdapterUse) -> bool:
        index = self.combo.findData(used.id)
        return index >= 0 and self.combo.itemData(index, _SHA256_ROLE) == used.sha256

    def current_id(self) -> int | None:
        data = self.combo.currentData()
        return int(data) if data is not None else None

    def scale(self) -> float:
        return self.strength.value() / _SLIDER_STEPS_PER_UNIT

    def choice(self) -> AdapterChoice | None:
        """The adapter to answer with and its strength, or None for the plain model."""
        adapter_id = self.current_id()
        if adapter_id is None:
            return None
        return AdapterChoice(adapter_id, self.scale())

    def _enable_strength(self) -> None:
        chosen = self.current_id() is not None
        self.strength.setEnabled(chosen)
        self.strength_label.setEnabled(chosen)

    @Slot(int)
    def _on_combo_current_index_changed(self, _index: int) -> None:
        self._enable_strength()

    @Slot(int)
    def _on_strength_value_changed(self, value: int) -> None:
        scale = value / _SLIDER_STEPS_PER_UNIT
        note = " (as trained)" if value == _SLIDER_STEPS_PER_UNIT else ""
        self.strength_label.setText(f"{scale:.2f}{note}")
