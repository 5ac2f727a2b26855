"""The chat settings' "Prompt format": how the chosen model's turns are written, and a choice.

A model file without a chat template of its own is prompted in a built-in format guessed from
its architecture and tokens (core.models.prompt_formats); here a person sees which, and why,
and can choose another for that model.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox, QSizePolicy, QWidget

from localai_desktop.core.models.prompt_formats import FORMATS, chosen_key, format_choice
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.ui.widgets.elided_combo import ElidedComboBox
from localai_desktop.ui.widgets.safe_text import inert_tooltip

_AUTOMATIC = ""  # item data of the automatic entry
_TIP = (
    "How the conversation is written for the model. Models are trained on one way of marking "
    "who speaks; another makes them ramble or repeat instructions. Automatic uses the model's "
    "own chat template, or a format guessed from its file. The choice is kept for the model."
)


def no_template_notice(model: LocalModel) -> str:
    """What a person is told once about a model without a chat template ("" when it has one)."""
    if model.has_chat_template or model.is_embedding_model:
        return ""
    choice = format_choice(model)
    return (
        f"this model has no chat template of its own. Prompt format: {choice.describe()} "
        "Change it under “Prompt format” in the chat's settings"
    )


class PromptFormatPicker(ElidedComboBox):
    """Automatic (the model's own template, or the guess), or one of the built-in formats."""

    format_chosen = Signal(int, object)
    """The user chose a format for a model: (model_id, format key, or None for automatic)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        # A narrow settings panel shortens "Automatic: the model's own" with "…" rather than
        # cutting it mid-letter; the list and the tooltip show it whole.
        super().__init__(parent, mode=Qt.TextElideMode.ElideRight)
        self.setAccessibleName("Prompt format")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._model: LocalModel | None = None
        self.activated.connect(self._on_activated)
        self.set_model(None)

    def set_model(self, model: LocalModel | None) -> None:
        """Show the format of this model (None: no model, nothing to choose)."""
        self._model = model
        self.blockSignals(True)
        try:
            self.clear()
            if model is None:
                self.setEnabled(False)
                self.setToolTip(_TIP)
                return
            self.setEnabled(True)
            automatic = format_choice(replace(model, source={}))
            first = (
                "Automatic: the model's own"
                if automatic.origin == "file"
                else f"Automatic: {FORMATS[automatic.key].label}"
            )
            self.addItem(first, _AUTOMATIC)
            for key, prompt_format in FORMATS.items():
                self.addItem(prompt_format.label, key)
            chosen = chosen_key(model.source)
            self.setCurrentIndex(self.findData(chosen) if chosen else 0)
            self.setToolTip(inert_tooltip(f"{_TIP}\nNow: {format_choice(model).describe()}"))
        finally:
            self.blockSignals(False)

    def current_key(self) -> str | None:
        data = self.currentData()
        return data if isinstance(data, str) and data != _AUTOMATIC else None

    @Slot(int)
    def _on_activated(self, _index: int) -> None:
        if self._model is not None:
            self.format_chosen.emit(self._model.id, self.current_key())
