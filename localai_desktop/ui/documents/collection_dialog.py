"""The "New collection" dialog: a name and the embedding model that will index the documents."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.models.registry import LocalModel


class NewCollectionDialog(QDialog):
    """Asks for a collection's name and embedding model; the tab creates it when accepted."""

    def __init__(self, embedding_models: Sequence[LocalModel], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New collection")
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("Collection name")
        self.name_edit.setPlaceholderText("For example: Ward guidelines, Smith v. Jones")
        self.name_edit.textChanged.connect(self._on_name_edit_text_changed)
        self.model_box = QComboBox()
        self.model_box.setAccessibleName("Embedding model")
        self.model_box.setToolTip(
            "The model that turns passages into numbers for searching by meaning. A collection "
            "keeps the model it was created with."
        )
        for model in embedding_models:
            self.model_box.addItem(f"{model.name} ({format_bytes(model.file_size)})", model.id)
        hint = QLabel(
            "Documents stay where they are: the app reads them and keeps a searchable index "
            "on this computer. Nothing is sent anywhere."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(placeholder-text);")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.create_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create")
        self.create_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Embedding model", self.model_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.buttons)
        self.resize(460, self.sizeHint().height())

    def name(self) -> str:
        return " ".join(self.name_edit.text().split())

    def model_id(self) -> int | None:
        value = self.model_box.currentData()
        return int(value) if value is not None else None

    @Slot(str)
    def _on_name_edit_text_changed(self, _text: str) -> None:
        self.create_button.setEnabled(bool(self.name()) and self.model_id() is not None)
