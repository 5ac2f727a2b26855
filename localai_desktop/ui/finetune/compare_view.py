"""Before and after: the base model's and the tuned model's answers to held-back prompts."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.models.adapters import Adapter
from localai_desktop.ui.widgets.theme import themed_style_sheet

_EMPTY = (
    "When a training finishes, the model answers a few of your examples before and after "
    "learning, side by side here."
)


def describe_adapter_result(adapter: Adapter) -> str:
    """One sentence: "“bluebell” is ready for stories: training loss 0.0031 (epoch average),
    ..., 8 examples"."""
    text = f"“{adapter.name}” is ready for {adapter.base_model_name}"
    losses = []
    if adapter.final_loss is not None:
        losses.append(f"training loss {adapter.final_loss:.4f} (epoch average)")
    if adapter.final_val_loss is not None:
        losses.append(f"validation loss {adapter.final_val_loss:.4f}")
    examples = adapter.dataset.get("train_examples")
    if isinstance(examples, int):
        losses.append(f"learned from {examples} {'example' if examples == 1 else 'examples'}")
    return text + (": " + ", ".join(losses) if losses else "") + "."


def _text(text: str, *, style: str = "") -> QLabel:
    label = QLabel(text or "(no answer)")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    if style:
        label.setStyleSheet(style)
    return label


class CompareView(QWidget):
    """The finished adapter, its sample answers before and after, and "Chat with it"."""

    chat_requested = Signal(int, int)
    """The user wants to chat with the adapter: (base model_id, adapter_id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._adapter: Adapter | None = None
        self.headline = QLabel(_EMPTY)
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        self.headline.setWordWrap(True)
        self.headline.setAccessibleName("Result")
        self.chat_button = QPushButton("Chat with it")
        self.chat_button.setAccessibleName("Chat with the new adapter")
        self.chat_button.setToolTip("Open Chat with the base model and this adapter chosen")
        self.chat_button.clicked.connect(self._on_chat_button_clicked)
        self.chat_button.hide()
        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        top.addWidget(self.chat_button, 0, Qt.AlignmentFlag.AlignTop)
        self._samples = QWidget()
        self._samples_layout = QVBoxLayout(self._samples)
        self._samples_layout.setContentsMargins(0, 0, 0, 0)
        self._samples_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._samples)
        scroll.setAccessibleName("Answers before and after")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)

    def show_adapter(self, adapter: Adapter) -> None:
        self._adapter = adapter
        self.headline.setText(describe_adapter_result(adapter))
        self.chat_button.setVisible(adapter.base_model_id is not None)
        self._clear_samples()
        for sample in adapter.samples:
            self._samples_layout.insertWidget(
                self._samples_layout.count() - 1, self._sample_card(sample, adapter)
            )

    def clear(self) -> None:
        self._adapter = None
        self.headline.setText(_EMPTY)
        self.chat_button.hide()
        self._clear_samples()

    def adapter_id(self) -> int | None:
        """The adapter shown, or None."""
        return self._adapter.id if self._adapter is not None else None

    def sample_texts(self) -> list[tuple[str, str]]:
        """(before, after) of each sample shown."""
        if self._adapter is None:
            return []
        return [(s.get("base", ""), s.get("tuned", "")) for s in self._adapter.samples]

    def _clear_samples(self) -> None:
        while self._samples_layout.count() > 1:
            item = self._samples_layout.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()

    @staticmethod
    def _sample_card(sample: dict[str, str], adapter: Adapter) -> QFrame:
        card = QFrame()
        card.setObjectName("sample")
        card.setStyleSheet("QFrame#sample { border: 1px solid palette(mid); border-radius: 6px; }")
        grid = QGridLayout(card)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        question = _text(sample.get("prompt", ""), style="font-weight: 600;")
        expected = _text(
            f"Your example answer: {sample.get('expected', '')}",
            style="color: palette(placeholder-text);",
        )
        before_title = _text(f"Before: {adapter.base_model_name} alone")
        themed_style_sheet(before_title, lambda theme: f"color: {theme.warning_text};")
        after_title = _text(f"After: with “{adapter.name}”")
        themed_style_sheet(after_title, lambda theme: f"color: {theme.success_text};")
        before = _text(sample.get("base", ""))
        before.setAccessibleName("Answer before")
        after = _text(sample.get("tuned", ""))
        after.setAccessibleName("Answer after")
        grid.addWidget(question, 0, 0, 1, 2)
        grid.addWidget(expected, 1, 0, 1, 2)
        grid.addWidget(before_title, 2, 0)
        grid.addWidget(after_title, 2, 1)
        grid.addWidget(before, 3, 0)
        grid.addWidget(after, 3, 1)
        return card

    @Slot()
    def _on_chat_button_clicked(self) -> None:
        adapter = self._adapter
        if adapter is not None and adapter.base_model_id is not None:
            self.chat_requested.emit(adapter.base_model_id, adapter.id)
