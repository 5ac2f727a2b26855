"""The "Add a remote engine" dialog: name, address, API key, offline use and a CA file."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.remotes.store import Remote
from localai_desktop.ui.widgets.notices import Banner

EXPLANATION = (
    "A remote engine is an OpenAI-compatible server on another computer (vLLM, llama-server, "
    "Ollama, LM Studio, or another copy of this app). When one of its models answers, your "
    "conversation, and the passages of your documents it needs, are sent to that server."
)


class AddRemoteDialog(QDialog):
    """Adds a remote engine to the workspace when the person clicks Add (the address is
    checked first: https anywhere, http only on this computer or your own network)."""

    remote_added = Signal(object)
    """A remote engine was added: (the core's Remote)."""

    def __init__(self, remotes: Remotes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a remote engine")
        self._remotes = remotes
        explanation = QLabel(EXPLANATION)
        explanation.setWordWrap(True)
        self.name_field = QLineEdit()
        self.name_field.setAccessibleName("Remote engine name")
        self.name_field.setPlaceholderText("For example: gpu-server")
        self.url_field = QLineEdit()
        self.url_field.setAccessibleName("Address")
        self.url_field.setPlaceholderText("https://gpu-server.clinic.lan:8443")
        self.url_field.setMinimumWidth(320)
        self.key_field = QLineEdit()
        self.key_field.setAccessibleName("API key")
        self.key_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_field.setPlaceholderText("Optional; kept in this workspace's database")
        self.offline_box = QCheckBox("On this computer or our own network (use it in offline mode)")
        self.offline_box.setAccessibleName("Allow in offline mode")
        self.ca_field = QLineEdit()
        self.ca_field.setAccessibleName("CA file")
        self.ca_field.setPlaceholderText("Optional: your own certificate authority (PEM)")
        browse = QPushButton("Choose…")
        browse.setAccessibleName("Choose CA file")
        browse.clicked.connect(self._on_browse_button_clicked)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_field, 1)
        ca_row.addWidget(browse)
        fields = QFormLayout()
        fields.addRow("Name", self.name_field)
        fields.addRow("Address", self.url_field)
        fields.addRow("API key", self.key_field)
        fields.addRow("", self.offline_box)
        fields.addRow("CA file", ca_row)
        self.banner = Banner()
        self.buttons = QDialogButtonBox()
        self.add_button = self.buttons.addButton("Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setAccessibleName("Add remote engine")
        self.add_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(fields)
        layout.addWidget(self.banner)
        layout.addWidget(self.buttons)
        self.added: Remote | None = None

    @Slot()
    def _on_browse_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose the CA certificate", "", "Certificates (*.pem *.crt *.cer);;All (*)"
        )
        if path:
            self.ca_field.setText(path)

    def _grow_to_fit(self) -> None:
        """Make room for a long message (a dialog does not ask for its wrapped text's height)."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        needed = layout.totalHeightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    @Slot()
    def _on_buttons_accepted(self) -> None:
        try:
            self.added = self._remotes.add(
                self.name_field.text(),
                self.url_field.text(),
                api_key=self.key_field.text() or None,
                allow_offline=self.offline_box.isChecked(),
                ca_file=self.ca_field.text().strip() or None,
            )
        except LocalAIError as error:
            self.banner.show_error(error.message)  # the dialog stays open to fix it
            self._grow_to_fit()
            return
        self.key_field.clear()
        self.remote_added.emit(self.added)
        self.accept()
