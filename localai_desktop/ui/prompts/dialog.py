"""The prompt library: every prompt beside an editor; add, edit, duplicate, delete, share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.prompts.fields import prompt_fields
from localai_desktop.core.prompts.library import Prompt, PromptLibrary
from localai_desktop.ui.widgets.confirm import confirm_delete
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.widgets.safe_text import plain_label

log = logging.getLogger(__name__)

_ID_ROLE = Qt.ItemDataRole.UserRole
_JSON_FILTER = "Prompt files (*.json)"
PathChooser = Callable[[QWidget, str, Path], "Path | None"]


def choose_file(parent: QWidget, purpose: str, suggested: Path) -> Path | None:
    """A file dialog: "export" asks where to save, "import" which file to read."""
    if purpose == "export":
        name, _ = QFileDialog.getSaveFileName(
            parent, "Export prompts", str(suggested), _JSON_FILTER
        )
    else:
        name, _ = QFileDialog.getOpenFileName(
            parent, "Import prompts", str(suggested), _JSON_FILTER
        )
    return Path(name) if name else None


class PromptLibraryDialog(QDialog):
    """Shows the library and saves each change at once (short transactions)."""

    prompts_changed = Signal()
    """A prompt was added, changed or deleted (the message box's "/" list reads them again)."""

    def __init__(self, library: PromptLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Prompt library")
        self.resize(880, 560)
        self._library = library
        self.choose_file: PathChooser = choose_file
        self.delete_box: QWidget | None = None  # the open "Delete?" question, for tests
        self.banner = Banner()
        self.list = QListWidget()
        self.list.setAccessibleName("Prompts")
        self.list.currentItemChanged.connect(self._on_list_current_item_changed)
        self.name = QLineEdit()
        self.name.setAccessibleName("Name")
        self.category = QLineEdit()
        self.category.setAccessibleName("Category")
        self.category.setPlaceholderText("Legal, Medical, …")
        self.description = QLineEdit()
        self.description.setAccessibleName("What it is for")
        self.text = QPlainTextEdit()
        self.text.setAccessibleName("Prompt text")
        self.text.setPlaceholderText(
            "What to ask. Write fields in braces, for example: "
            "“Explain this letter at a {reading level} reading level.”"
        )
        self.text.textChanged.connect(self._on_text_text_changed)
        self.fields = plain_label()
        self.fields.setWordWrap(True)
        self.save_button = QPushButton("Save changes")
        self.save_button.clicked.connect(self._on_save_button_clicked)
        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Category:", self.category)
        form.addRow("What it is for:", self.description)
        editor = QWidget()
        column = QVBoxLayout(editor)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(form)
        column.addWidget(self.text, 1)
        column.addWidget(self.fields)
        column.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(editor)
        split.setSizes([280, 600])
        split.setChildrenCollapsible(False)

        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for label, slot in (
            ("New", self._on_new_clicked),
            ("Duplicate", self._on_duplicate_clicked),
            ("Delete", self._on_delete_clicked),
            ("Import…", self._on_import_clicked),
            ("Export…", self._on_export_clicked),
        ):
            button = QPushButton(label)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons[label] = button
        row.addStretch(1)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        layout.addLayout(row)
        self.reload()

    # -- what the window calls ------------------------------------------------------------

    def reload(self, select: int | None = None) -> None:
        """Read the library again and show it, keeping (or choosing) the selected prompt."""
        keep = select if select is not None else self.current_id()
        try:
            prompts = self._library.list()
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        self.list.blockSignals(True)
        self.list.clear()
        for prompt in prompts:
            item = QListWidgetItem(prompt.name)
            item.setData(_ID_ROLE, prompt.id)
            item.setToolTip(prompt.description)
            self.list.addItem(item)
            if prompt.id == keep:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._show(self.current_prompt())

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(_ID_ROLE)) if item is not None else None

    def current_prompt(self) -> Prompt | None:
        prompt_id = self.current_id()
        if prompt_id is None:
            return None
        try:
            return self._library.get(prompt_id)
        except LocalAIError:
            return None

    # -- helpers --------------------------------------------------------------------------

    def _show(self, prompt: Prompt | None) -> None:
        for edit, value in (
            (self.name, prompt.name if prompt else ""),
            (self.category, prompt.category if prompt else ""),
            (self.description, prompt.description if prompt else ""),
        ):
            edit.setText(value)
        self.text.setPlainText(prompt.text if prompt else "")
        for widget in (self.name, self.category, self.description, self.text, self.save_button):
            widget.setEnabled(prompt is not None)
        for label in ("Duplicate", "Delete"):
            self.buttons[label].setEnabled(prompt is not None)

    def _changed(self, prompt_id: int | None = None, message: str = "") -> None:
        self.reload(select=prompt_id)
        self.prompts_changed.emit()
        if message:
            self.banner.show_info(message)

    def _run(self, action: Callable[[], object]) -> object | None:
        try:
            return action()
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return None

    # -- slots ----------------------------------------------------------------------------

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_list_current_item_changed(self, *_items: object) -> None:
        self._show(self.current_prompt())

    @Slot()
    def _on_text_text_changed(self) -> None:
        fields = prompt_fields(self.text.toPlainText())
        self.fields.setText(
            "Fields asked for when it is used: " + ", ".join(f"{{{f}}}" for f in fields)
            if fields
            else "No fields: write one in braces, like {reading level}, to be asked for it."
        )

    @Slot()
    def _on_save_button_clicked(self) -> None:
        prompt_id = self.current_id()
        if prompt_id is None:
            return
        saved = self._run(
            lambda: self._library.update(
                prompt_id,
                name=self.name.text(),
                text=self.text.toPlainText(),
                description=self.description.text(),
                category=self.category.text(),
            )
        )
        if isinstance(saved, Prompt):
            self._changed(saved.id, f"Saved “{saved.name}”.")

    @Slot()
    def _on_new_clicked(self) -> None:
        name = "new prompt"
        taken = {self.list.item(i).text().casefold() for i in range(self.list.count())}
        number = 2
        while name.casefold() in taken:
            name, number = f"new prompt {number}", number + 1
        added = self._run(lambda: self._library.add(name, "Write your prompt here, with {fields}."))
        if isinstance(added, Prompt):
            self._changed(added.id)
            self.name.setFocus()
            self.name.selectAll()

    @Slot()
    def _on_duplicate_clicked(self) -> None:
        prompt_id = self.current_id()
        if prompt_id is not None:
            copy = self._run(lambda: self._library.duplicate(prompt_id))
            if isinstance(copy, Prompt):
                self._changed(copy.id, f"Made “{copy.name}”: change it as you like.")

    @Slot()
    def _on_delete_clicked(self) -> None:
        prompt = self.current_prompt()
        if prompt is None:
            return

        def delete() -> None:
            try:
                self._library.delete(prompt.id)
            except LocalAIError as error:
                self.banner.show_error(error.message)
                return
            self._changed(message=f"Deleted “{prompt.name}”.")

        self.delete_box = confirm_delete(
            self,
            "Delete prompt",
            f"Delete the prompt “{prompt.name}”?",
            "Conversations that used it keep their text. Export it first to keep a copy.",
            delete,
        )

    @Slot()
    def _on_import_clicked(self) -> None:
        path = self.choose_file(self, "import", Path.home())
        if path is None:
            return
        report = self._run(lambda: self._library.import_file(path))
        if report is not None:
            added = getattr(report, "added", [])
            self._changed(message=f"Imported {len(added)} prompt(s) from {path.name}.")

    @Slot()
    def _on_export_clicked(self) -> None:
        path = self.choose_file(self, "export", Path.home() / "prompts.json")
        if path is None:
            return
        count = self._run(lambda: self._library.export_file(path))
        if isinstance(count, int):
            self.banner.show_info(f"Saved {count} prompt(s) to {path}.")
