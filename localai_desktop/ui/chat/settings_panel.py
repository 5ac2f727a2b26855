"""The Chat tab's side panel: a conversation's system prompt and how answers are generated."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.chat.memory_default import OLD_DEFAULT_CONTEXT_LENGTH
from localai_desktop.core.inference.generation import AUTOMATIC_CONTEXT_LENGTH, GenerationSettings
from localai_desktop.core.models.context_choice import ContextChoice
from localai_desktop.ui.widgets.settings_form import (
    AdvancedToggle,
    decimal_spin_box,
    signals_blocked,
    spin_box,
)

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

        self._temperature = decimal_spin_box(
            0.0,
            2.0,
            "Creativity (temperature)",
            "How freely the model chooses its words. Lower (0.2) gives focused, predictable "
            "answers: good for facts, summaries and letters. Higher (1.0 or more) gives varied, "
            "creative ones: good for ideas. 0.7 suits most uses; 0 gives the same answer every "
            "time.",
            step=0.1,
        )
        self._max_tokens = spin_box(
            16,
            32768,
            "Longest answer",
            "The answer stops after this many tokens. A token is about three quarters of a "
            "word, so 1,024 tokens is roughly 750 words. Raise it when answers stop in the "
            "middle of a sentence; lower it to keep them short.",
            step=128,
            suffix=" tokens",
        )
        self._context_length = spin_box(
            AUTOMATIC_CONTEXT_LENGTH,
            262144,
            "Memory of the conversation (context length)",
            "How much of the conversation the model can keep in mind at once. Longer uses more "
            "memory. When a conversation grows past it, its oldest messages are left out (the "
            "answer says so). It never goes beyond what the model supports. Automatic uses as "
            "much as this computer comfortably holds. Raise it for long conversations or long "
            "documents; lower it if the computer runs short of memory.",
            step=1024,
            suffix=" tokens",
        )
        self._context_length.setSpecialValueText("Automatic")
        self._context_hint = QLabel()
        self._context_hint.setWordWrap(True)
        self._context_hint.setStyleSheet("color: palette(placeholder-text);")
        self._model_context_length: int | None = None
        self._automatic: ContextChoice | None = None
        # Whether the person chose this chat's Memory (see core.chat.memory_default).
        self._memory_chosen = False
        self.memory_offer = _AutomaticMemoryOffer()
        self.memory_offer.use_automatic.clicked.connect(self._on_use_automatic_clicked)
        self.memory_offer.keep.clicked.connect(self._on_keep_memory_clicked)

        self._seed = spin_box(
            _RANDOM_SEED,
            2**31 - 1,
            "Seed",
            "Random: every answer is drawn afresh. A number: the same question with the same "
            "settings gives the same answer again, which helps to compare settings or to "
            "repeat a result.",
        )
        self._seed.setSpecialValueText("Random")
        self._top_p = decimal_spin_box(
            0.05,
            1.0,
            "Top P",
            "The model picks each next word only from the most likely ones that together make "
            "up this share of the chances. Lower (0.5) keeps answers on the likeliest words; "
            "1.0 allows every word. Leave at 0.95 unless answers wander off the subject.",
            step=0.05,
        )
        self._top_k = spin_box(
            0,
            500,
            "Top K",
            "The model picks each next word from at most this many likely candidates. Lower "
            "(10) is more focused, higher more varied; 0 means no limit. Leave at 40 unless "
            "answers wander off the subject.",
        )
        self._repeat_penalty = decimal_spin_box(
            1.0,
            2.0,
            "Repeat penalty",
            "How strongly the model avoids words it has just used. Raise it (1.2) when answers "
            "go round in circles or repeat a phrase; 1.0 turns it off. Too high makes the "
            "wording odd.",
            step=0.05,
        )

        self._advanced = QWidget()
        advanced_form = QFormLayout(self._advanced)
        advanced_form.setContentsMargins(0, 0, 0, 0)
        advanced_form.addRow("Seed", self._seed)
        advanced_form.addRow("Top P", self._top_p)
        advanced_form.addRow("Top K", self._top_k)
        advanced_form.addRow("Repeat penalty", self._repeat_penalty)
        self._advanced_toggle = AdvancedToggle(self._advanced)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Creativity", self._temperature)
        form.addRow("Longest answer", self._max_tokens)
        form.addRow("Memory", self._context_length)
        form.addRow(self._context_hint)
        form.addRow(self.memory_offer)
        self._form = form

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
        self._context_length.valueChanged.connect(self._on_context_length_value_changed)
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
        with signals_blocked(widgets):
            self._temperature.setValue(settings.temperature)
            self._top_p.setValue(settings.top_p)
            self._top_k.setValue(settings.top_k)
            self._repeat_penalty.setValue(settings.repeat_penalty)
            self._max_tokens.setValue(settings.max_tokens)
            self._context_length.setValue(settings.context_length)
            self._seed.setValue(_RANDOM_SEED if settings.seed is None else settings.seed)
        self._update_context_hint()

    def memory_chosen(self) -> bool:
        """Whether the person chose this chat's Memory (changed it, or answered the offer)."""
        return self._memory_chosen

    def set_memory_choice(self, chosen: bool, *, offer_automatic: bool) -> None:
        """A conversation's Memory choice as loaded; `offer_automatic`: its Memory is the old
        fixed default nobody chose, so offer Automatic (never switched without asking)."""
        self._memory_chosen = chosen
        self.memory_offer.setVisible(offer_automatic and not chosen)
        self._update_context_hint()

    def add_model_setting(self, label: str, widget: QWidget) -> None:
        """Add a row for a setting kept with the model rather than the chat (prompt format)."""
        self._form.addRow(label, widget)

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
        self._model_context_length = context_length
        self._update_context_hint()

    def set_automatic_choice(self, choice: ContextChoice | None) -> None:
        """What Automatic means for the chosen model on this computer (None: no model)."""
        self._automatic = choice
        self._update_context_hint()

    def context_tokens(self) -> int:
        """The context the chosen model will be loaded with, as the worker will choose it."""
        value = self._context_length.value()
        if value <= AUTOMATIC_CONTEXT_LENGTH:
            return self._automatic.tokens if self._automatic is not None else 4096
        most = self._model_context_length
        return max(256, min(value, most) if most else value)

    def context_hint(self) -> str:
        """What the panel says under "Memory" about the chosen model's limit."""
        return self._context_hint.text()

    def _update_context_hint(self) -> None:
        most = self._model_context_length
        if self._automatic is not None:
            self.memory_offer.set_automatic_tokens(self._automatic.tokens)
        if self._context_length.value() <= AUTOMATIC_CONTEXT_LENGTH:
            text = self._automatic.describe() if self._automatic is not None else ""
        elif most and self._context_length.value() > most:
            text = f"This model remembers at most {most:,} tokens, so it uses {most:,}."
        elif most:
            text = f"This model can remember up to {most:,} tokens."
        else:
            text = ""
        self._context_hint.setText(text)
        self._context_hint.setVisible(bool(text))

    # -- slots ----------------------------------------------------------------------------

    @Slot()
    def _on_system_prompt_text_changed(self) -> None:
        self.settings_changed.emit()

    @Slot()
    def _on_context_length_value_changed(self) -> None:
        self._memory_chosen = True  # a change by the person (loading blocks the signals)
        self.memory_offer.hide()

    @Slot()
    def _on_use_automatic_clicked(self) -> None:
        self._context_length.setValue(AUTOMATIC_CONTEXT_LENGTH)  # saved like any change

    @Slot()
    def _on_keep_memory_clicked(self) -> None:
        self._memory_chosen = True
        self.memory_offer.hide()
        self.settings_changed.emit()  # saved with the mark: not asked again

    @Slot()
    def _on_setting_value_changed(self) -> None:
        self._update_context_hint()
        self.settings_changed.emit()


class _AutomaticMemoryOffer(QFrame):
    """Under "Memory" of a chat saved with the old fixed 4,096: offers Automatic, or keeping it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoryOffer")
        self.setStyleSheet(
            "QFrame#memoryOffer { border: 1px solid palette(mid); border-radius: 6px; }"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.use_automatic = QPushButton("Use Automatic")
        self.use_automatic.setAccessibleName("Use Automatic memory for this chat")
        self.keep = QPushButton(f"Keep {OLD_DEFAULT_CONTEXT_LENGTH:,}")
        self.keep.setAccessibleName(f"Keep the memory at {OLD_DEFAULT_CONTEXT_LENGTH:,} tokens")
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_automatic)
        buttons.addWidget(self.keep)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        self.set_automatic_tokens(None)
        self.hide()

    def set_automatic_tokens(self, tokens: int | None) -> None:
        here = f" (up to {tokens:,} tokens for this model on this computer)" if tokens else ""
        self.text.setText(
            f"This chat keeps a fixed Memory of {OLD_DEFAULT_CONTEXT_LENGTH:,} tokens, the "
            f"setting earlier versions gave every chat. Automatic remembers more{here}, so "
            "long messages and documents are less often cut."
        )
