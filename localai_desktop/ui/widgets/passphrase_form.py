"""The fields for choosing a new passphrase, with the warning a person reads before choosing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.vault.keys import MIN_PASSPHRASE_CHARS, check_new_passphrase
from localai_desktop.ui.widgets.theme import themed_style_sheet

FORGOTTEN_PASSPHRASE_WARNING = (
    "A forgotten passphrase cannot be recovered: without it, nobody (not even us) can open "
    "this workspace's conversations and documents again. Write it down somewhere safe. "
    f"Use at least {MIN_PASSPHRASE_CHARS} characters; a few unrelated words are strong and "
    "easy to remember."
)
REMEMBER_TEXT = "Remember on this computer"
REMEMBER_TIP = (
    "Keeps the passphrase in this computer's keychain, so the workspace opens without asking. "
    "Anyone who can sign in to your account on this computer can then open it."
)


def passphrase_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    field.setMinimumWidth(280)
    return field


def remember_box() -> QCheckBox:
    box = QCheckBox(REMEMBER_TEXT)
    box.setAccessibleName(REMEMBER_TEXT)
    box.setToolTip(REMEMBER_TIP)
    return box


def wrapped_label(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setAccessibleName(name)
    return label


class NewPassphraseForm(QWidget):
    """The warning, the passphrase typed twice, and "Remember on this computer"."""

    def __init__(self, *, first_label: str = "Passphrase:", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.warning = wrapped_label(FORGOTTEN_PASSPHRASE_WARNING, "Passphrase warning")
        themed_style_sheet(self.warning, lambda theme: f"color: {theme.warning_text};")
        self.passphrase = passphrase_field("New passphrase")
        self.again = passphrase_field("The same passphrase again")
        self.remember = remember_box()
        fields = QFormLayout()
        fields.setContentsMargins(0, 0, 0, 0)
        fields.addRow(first_label, self.passphrase)
        fields.addRow("Again:", self.again)
        fields.addRow("", self.remember)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.warning)
        layout.addLayout(fields)

    def chosen(self) -> str:
        """The passphrase, or a LocalAIError saying plainly what is wrong with it."""
        first, again = self.passphrase.text(), self.again.text()
        check_new_passphrase(first)
        if first != again:
            raise LocalAIError(
                "The two passphrases are not the same.", "Type the same passphrase twice."
            )
        return first

    def remembered(self) -> bool:
        return self.remember.isChecked()

    def clear(self) -> None:
        self.passphrase.clear()
        self.again.clear()
