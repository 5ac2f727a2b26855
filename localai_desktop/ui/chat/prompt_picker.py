"""Prompts from the library in the message box: "/" lists them, a form asks for their fields.

The list opens inside the Chat tab, above the message box (not a pop-up window, which would take
the keyboard): typing after "/" filters it, Up and Down move, Enter or Tab inserts the prompt,
Esc closes it. A prompt whose fields are still in braces when the message is sent asks for
them in a small form first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.prompts.fields import field_key, fill_fields, prompt_fields
from localai_desktop.core.prompts.library import Prompt
from localai_desktop.ui.widgets.safe_text import inert_tooltip, plain_label

# What opens the list: a "/" at the very start of the box, followed by a short, one-line query.
PICKER_QUERY = re.compile(r"^/([^\n/]{0,60})$")
MANAGE = -1  # the row that opens the library instead of inserting a prompt
_ID_ROLE = Qt.ItemDataRole.UserRole


def matches(prompt: Prompt, query: str) -> bool:
    """Whether a prompt fits what was typed after "/": every word, in its name or description."""
    haystack = f"{prompt.name} {prompt.description} {prompt.category}".casefold()
    return all(word in haystack for word in query.casefold().split())


class PromptPicker(QWidget):
    """The list of prompts that "/" opens above the message box."""

    prompt_chosen = Signal(object)
    """A prompt was picked to insert: (prompts.library.Prompt)."""
    library_requested = Signal()
    """"Manage prompts…" was picked: open the prompt library."""

    MAX_ROWS = 7

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._prompts: list[Prompt] = []
        self.heading = plain_label("Prompts: type to filter, Enter inserts, Esc closes")
        self.heading.setStyleSheet("color: palette(placeholder-text);")
        self.list = QListWidget()
        self.list.setAccessibleName("Prompts")
        self.list.setUniformItemSizes(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing stays in the message box
        self.list.itemClicked.connect(self._on_list_item_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 2)
        layout.setSpacing(2)
        layout.addWidget(self.heading)
        layout.addWidget(self.list)
        self.hide()

    def set_prompts(self, prompts: Sequence[Prompt]) -> None:
        self._prompts = list(prompts)

    def show_for(self, query: str) -> None:
        """Show the prompts that match `query` (the text after "/"), the best first."""
        self.list.clear()
        shown = [p for p in self._prompts if matches(p, query)]
        starts = [p for p in shown if p.name.casefold().startswith(query.strip().casefold())]
        for prompt in starts + [p for p in shown if p not in starts]:
            fields = ", ".join(f"{{{f}}}" for f in prompt.fields)
            label = f"/{prompt.name}  –  {prompt.description or prompt.text[:60]}"
            item = QListWidgetItem(label)
            item.setData(_ID_ROLE, prompt.id)
            tip = prompt.text + (f"\n\nFields: {fields}" if fields else "")
            item.setToolTip(inert_tooltip(tip))
            self.list.addItem(item)
        if not shown:
            empty = QListWidgetItem(f"No prompt matches “{query}”.")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(empty)
        manage = QListWidgetItem("Manage prompts…")
        manage.setData(_ID_ROLE, MANAGE)
        self.list.addItem(manage)
        self.list.setCurrentRow(0 if shown else self.list.count() - 1)
        rows = min(self.list.count(), self.MAX_ROWS)
        self.list.setFixedHeight(rows * self.list.sizeHintForRow(0) + 2 * self.list.frameWidth())
        self.show()

    def handle_key(self, event: QKeyEvent) -> bool:
        """Keys the message box passes on while the list is open; True when used here."""
        if self.isHidden():
            return False
        key = event.key()
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            step = -1 if key == Qt.Key.Key_Up else 1
            row = self.list.currentRow() + step
            while 0 <= row < self.list.count() and not (
                self.list.item(row).flags() & Qt.ItemFlag.ItemIsEnabled
            ):
                row += step
            if 0 <= row < self.list.count():
                self.list.setCurrentRow(row)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            item = self.list.currentItem()
            if item is not None and item.flags() & Qt.ItemFlag.ItemIsEnabled:
                self._choose(item)
            return True
        if key == Qt.Key.Key_Escape:
            self.hide()
            return True
        return False

    def _choose(self, item: QListWidgetItem) -> None:
        chosen = item.data(_ID_ROLE)
        self.hide()
        if chosen == MANAGE:
            self.library_requested.emit()
            return
        prompt = next((p for p in self._prompts if p.id == chosen), None)
        if prompt is not None:
            self.prompt_chosen.emit(prompt)

    @Slot(QListWidgetItem)
    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        if item.flags() & Qt.ItemFlag.ItemIsEnabled:
            self._choose(item)


def unfilled_fields(text: str, prompt: Prompt | None) -> list[str]:
    """The inserted prompt's fields still written in braces in `text` (braces the person typed
    themselves, in code for example, never ask for anything)."""
    if prompt is None:
        return []
    wanted = {field_key(f) for f in prompt.fields}
    return [f for f in prompt_fields(text) if field_key(f) in wanted]


class PromptFieldsDialog(QDialog):
    """Asks for the values of a prompt's fields before the message is sent."""

    def __init__(self, prompt_name: str, fields: Sequence[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Fill in “{prompt_name}”")
        self.fields = list(fields)
        intro = plain_label("This prompt needs a few details before it is sent:")
        intro.setWordWrap(True)
        form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        for name in self.fields:
            edit = QLineEdit()
            edit.setAccessibleName(name)
            edit.textChanged.connect(self._on_edit_text_changed)
            form.addRow(QLabel(f"{name[:1].upper()}{name[1:]}:"), edit)
            self.edits[name] = edit
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Send")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._on_edit_text_changed()

    def values(self) -> dict[str, str]:
        return {name: edit.text().strip() for name, edit in self.edits.items()}

    def filled(self, text: str) -> str:
        """`text` with these fields replaced by what was typed."""
        return fill_fields(text, self.values(), strict=False)

    @Slot()
    def _on_edit_text_changed(self) -> None:
        # Every field is needed: an empty one would send "{reading level}" to the model.
        ready = all(self.values().values())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ready)
