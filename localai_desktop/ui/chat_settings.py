"""The Chat tab's side panel: a conversation's system prompt and how answers are generated."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.generation import GenerationSettings

_RANDOM_SEED = -1  # the spin box value shown as "Random"


class ChatSettingsPanel(QWidget):
    """Edits a conversation's system prompt and GenerationSettings; holds no other state."""

    settings_changed = Signal()
    """The user changed the system prompt or a setting (read them with the getters)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.system_prompt_edit = QPlainTextEdit()
        self.system_prompt_edit.setAccessibleName("System prompt")
        self.system_prompt_edit.setPlaceholderText(
            "Optional: tell the assistant how to behave, for example “Answer briefly, in plain "
            "English.”"
        )
        self.system_prompt_edit.setToolTip(
            "Instructions the assistant follows for the whole conversation. Saved with this "
            "conversation."
        )
        self.system_prompt_edit.setTabChangesFocus(True)
        self.system_prompt_edit.setMaximumHeight(110)
        self.system_prompt_edit.textChanged.connect(self._on_system_prompt_text_changed)

        self._temperature = QDoubleSpinBox()
        self._temperature.setRange(0.0, 2.0)
        self._temperature.setSingleStep(0.1)
        self._temperature.setDecimals(2)
        self._temperature.setAccessibleName("Creativity (temperature)")
        self._temperature.setToolTip(
            "Lower values give focused, predictable answers; higher values give more varied, "
            "creative ones. 0.7 suits most uses; 0 always gives the same answer."
        )
        self._max_tokens = QSpinBox()
        self._max_tokens.setRange(16, 32768)
        self._max_tokens.setSingleStep(128)
        self._max_tokens.setSuffix(" tokens")
        self._max_tokens.setAccessibleName("Longest answer")
        self._max_tokens.setToolTip(
            "The answer stops after this many tokens. A token is about three quarters of a "
            "word, so 1,024 tokens is roughly 750 words."
        )
        self._context_length = QSpinBox()
        self._context_length.setRange(256, 262144)
        self._context_length.setSingleStep(1024)
        self._context_length.setSuffix(" tokens")
        self._context_length.setAccessibleName("Memory of the conversation (context length)")
        self._context_length.setToolTip(
            "How much of the conversation the model can keep in mind at once. Longer uses more "
            "memory. When a conversation grows past it, its oldest messages are left out. "
            "It never goes beyond what the model supports."
        )
        self._context_hint = QLabel()
        self._context_hint.setWordWrap(True)
        self._context_hint.setStyleSheet("color: palette(placeholder-text);")

        self._advanced_toggle = QToolButton()
        self._advanced_toggle.setText("Advanced")
        self._advanced_toggle.setCheckable(True)
        self._advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self._advanced_toggle.setAutoRaise(True)
        self._advanced_toggle.setAccessibleName("Show advanced settings")
        self._advanced_toggle.toggled.connect(self._on_advanced_toggle_toggled)

        self._seed = QSpinBox()
        self._seed.setRange(_RANDOM_SEED, 2**31 - 1)
        self._seed.setSpecialValueText("Random")
        self._seed.setAccessibleName("Seed")
        self._seed.setToolTip(
            "Random: every answer is drawn afresh. A number: the same question with the same "
            "settings gives the same answer again."
        )
        self._top_p = QDoubleSpinBox()
        self._top_p.setRange(0.05, 1.0)
        self._top_p.setSingleStep(0.05)
        self._top_p.setAccessibleName("Top P")
        self._top_p.setToolTip("Leave at 0.95 unless you know you need it: lower is more focused.")
        self._top_k = QSpinBox()
        self._top_k.setRange(0, 500)
        self._top_k.setAccessibleName("Top K")
        self._top_k.setToolTip("Leave at 40 unless you know you need it: lower is more focused.")
        self._repeat_penalty = QDoubleSpinBox()
        self._repeat_penalty.setRange(1.0, 2.0)
        self._repeat_penalty.setSingleStep(0.05)
        self._repeat_penalty.setAccessibleName("Repeat penalty")
        self._repeat_penalty.setToolTip("Higher values make the model repeat itself less.")

        self._advanced = QWidget()
        advanced_form = QFormLayout(self._advanced)
        advanced_form.setContentsMargins(0, 0, 0, 0)
        advanced_form.addRow("Seed", self._seed)
        advanced_form.addRow("Top P", self._top_p)
        advanced_form.addRow("Top K", self._top_k)
        advanced_form.addRow("Repeat penalty", self._repeat_penalty)
        self._advanced.hide()

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Creativity", self._temperature)
        form.addRow("Longest answer", self._max_tokens)
        form.addRow("Memory", self._context_length)
        form.addRow(self._context_hint)

        heading = QLabel("Settings for this chat")
        heading.setStyleSheet("font-weight: 600;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading)
        layout.addWidget(QLabel("System prompt"))
        layout.addWidget(self.system_prompt_edit)
        layout.addLayout(form)
        layout.addWidget(self._advanced_toggle)
        layout.addWidget(self._advanced)
        layout.addStretch(1)

        for spin in (self._temperature, self._top_p, self._repeat_penalty):
            spin.valueChanged.connect(self._on_setting_value_changed)
        for spin in (self._max_tokens, self._context_length, self._seed, self._top_k):
            spin.valueChanged.connect(self._on_setting_value_changed)
        self.set_settings(GenerationSettings())

    # -- read and write -------------------------------------------------------------------

    def settings(self) -> GenerationSettings:
        seed = self._seed.value()
        return GenerationSettings(
            temperature=round(self._temperature.value(), 2),
            top_p=round(self._top_p.value(), 2),
            top_k=self._top_k.value(),
            repeat_penalty=round(self._repeat_penalty.value(), 2),
            max_tokens=self._max_tokens.value(),
            context_length=self._context_length.value(),
            seed=None if seed == _RANDOM_SEED else seed,
        )

    def set_settings(self, settings: GenerationSettings) -> None:
        """Show these settings without announcing a change."""
        widgets = (
            self._temperature,
            self._top_p,
            self._top_k,
            self._repeat_penalty,
            self._max_tokens,
            self._context_length,
            self._seed,
        )
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self._temperature.setValue(settings.temperature)
            self._top_p.setValue(settings.top_p)
            self._top_k.setValue(settings.top_k)
            self._repeat_penalty.setValue(settings.repeat_penalty)
            self._max_tokens.setValue(settings.max_tokens)
            self._context_length.setValue(settings.context_length)
            self._seed.setValue(_RANDOM_SEED if settings.seed is None else settings.seed)
        finally:
            for widget in widgets:
                widget.blockSignals(False)

    def system_prompt(self) -> str:
        return self.system_prompt_edit.toPlainText().strip()

    def set_system_prompt(self, text: str) -> None:
        """Show a conversation's system prompt without announcing a change."""
        self.system_prompt_edit.blockSignals(True)
        try:
            self.system_prompt_edit.setPlainText(text)
        finally:
            self.system_prompt_edit.blockSignals(False)

    def set_model_context_length(self, context_length: int | None) -> None:
        """Say how much context the chosen model supports (the setting is capped there)."""
        if context_length:
            self._context_hint.setText(f"This model can remember up to {context_length:,} tokens.")
        self._context_hint.setVisible(bool(context_length))

    # -- slots ----------------------------------------------------------------------------

    @Slot()
    def _on_system_prompt_text_changed(self) -> None:
        self.settings_changed.emit()

    @Slot()
    def _on_setting_value_changed(self) -> None:
        self.settings_changed.emit()

    @Slot(bool)
    def _on_advanced_toggle_toggled(self, shown: bool) -> None:
        self._advanced.setVisible(shown)
        self._advanced_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self._advanced_toggle.setAccessibleName(
            "Hide advanced settings" if shown else "Show advanced settings"
        )
