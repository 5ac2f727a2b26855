"""Choosing the chat model: a picker of chat models and a notice for when there is none."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from localai_desktop.core.common.units import format_bytes, format_parameter_count
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.ui.widgets.elided_combo import ElidedComboBox
from localai_desktop.ui.widgets.safe_text import inert_tooltip

_PICKER_TIP = "The model that writes the answers"


def describe_model(model: LocalModel) -> str:
    """A model in one tooltip: kind, size and what to know before choosing it."""
    parts = [
        model.architecture,
        f"{format_parameter_count(model.parameter_count)} parameters",
        model.quantization,
        format_bytes(model.file_size),
    ]
    text = f"{model.name}: {', '.join(p for p in parts if p)}"
    if not model.has_chat_template and not model.is_embedding_model:
        text += (
            "\nThis model has no chat template of its own. Prompt format: "
            + model.prompt_format.describe()
        )
    elif model.chat_template_notice:
        notice = model.chat_template_notice
        text += f"\n{notice[0].upper()}{notice[1:]}."
    if not model.file_exists:
        text += f"\nIts file is missing: {model.path}"
    return text


class ModelPicker(QWidget):
    """A labelled list of the chat models (embedding models cannot chat and are left out)."""

    model_chosen = Signal(int)
    """The user picked a model from the list: (model_id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # A long name is shortened with "…" in the box; its tooltip and the list show it whole.
        self.combo = ElidedComboBox()
        self.combo.setAccessibleName("Model")
        self.combo.view().setAccessibleName("Chat models")
        self.combo.setToolTip(_PICKER_TIP)
        self.combo.setMinimumContentsLength(12)
        # A long model name must not widen the window: the list shows it whole.
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.activated.connect(self._on_combo_activated)
        self.combo.currentIndexChanged.connect(self._on_combo_current_index_changed)
        label = QLabel("Model")
        label.setBuddy(self.combo)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(self.combo)
        self._models: dict[int, LocalModel] = {}

    def set_models(self, models: Sequence[LocalModel]) -> None:
        """List these models, keeping the current choice when it is still there."""
        current = self.current_id()
        self.combo.clear()
        self._models = {m.id: m for m in models if not m.is_embedding_model}
        for model in models:
            if model.is_embedding_model:
                continue
            label = model.name if model.file_exists else f"{model.name} (file missing)"
            if model.file_exists and not model.has_chat_template:
                label += " · no chat template"
            self.combo.addItem(label, model.id)
            self.combo.setItemData(
                self.combo.count() - 1,
                inert_tooltip(describe_model(model)),
                Qt.ItemDataRole.ToolTipRole,
            )
        self.select(current)
        self.combo.setEnabled(self.combo.count() > 0)

    def select(self, model_id: int | None) -> None:
        """Choose a model without announcing it; the first one when it is not listed."""
        index = self.combo.findData(model_id) if model_id is not None else -1
        self.combo.setCurrentIndex(index if index >= 0 else 0)

    def has(self, model_id: int) -> bool:
        return self.combo.findData(model_id) >= 0

    def current_id(self) -> int | None:
        data = self.combo.currentData()
        return int(data) if data is not None else None

    def current_model(self) -> LocalModel | None:
        """The chosen model as last listed (without asking the database again)."""
        model_id = self.current_id()
        return self._models.get(model_id) if model_id is not None else None

    def model(self, model_id: int) -> LocalModel | None:
        """A listed model by id (as last listed)."""
        return self._models.get(model_id)

    def count(self) -> int:
        return self.combo.count()

    @Slot(int)
    def _on_combo_current_index_changed(self, index: int) -> None:
        text = self.combo.itemText(index) if index >= 0 else ""
        self.combo.setToolTip(inert_tooltip(f"{_PICKER_TIP}: {text}") if text else _PICKER_TIP)

    @Slot(int)
    def _on_combo_activated(self, _index: int) -> None:
        model_id = self.current_id()
        if model_id is not None:
            self.model_chosen.emit(model_id)


class NoModelsNotice(QFrame):
    """Tells a person with no chat model where to get one, with a button to go there."""

    models_tab_requested = Signal()
    """The user wants to open the Models tab."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noModels")
        self.setStyleSheet(
            "QFrame#noModels { border: 1px dashed palette(mid); border-radius: 6px; }"
        )
        self._text = QLabel()
        self._text.setTextFormat(Qt.TextFormat.PlainText)
        self._text.setWordWrap(True)
        go_to_models = QPushButton("Open the Models tab")
        go_to_models.setAccessibleName("Open the Models tab")
        go_to_models.clicked.connect(self._on_go_to_models_button_clicked)
        layout = QHBoxLayout(self)
        layout.addWidget(self._text, 1)
        layout.addWidget(go_to_models)

    def update_for(self, models: Sequence[LocalModel]) -> None:
        """Show the notice when none of these models can chat; hide it otherwise."""
        chat_models = [m for m in models if not m.is_embedding_model]
        if models and not chat_models:
            self._text.setText(
                "Your models are embedding models, which cannot chat. Import a chat model "
                "(a GGUF file) in the Models tab."
            )
        else:
            self._text.setText(
                "You have no model yet. Import a model file (GGUF) in the Models tab to start "
                "chatting. Everything stays on this computer."
            )
        self.setVisible(not chat_models)

    def text(self) -> str:
        return self._text.text()

    @Slot()
    def _on_go_to_models_button_clicked(self) -> None:
        self.models_tab_requested.emit()
