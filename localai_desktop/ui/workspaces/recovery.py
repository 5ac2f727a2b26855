"""Save a recovery file (its code shown once), and forget a passphrase kept in the keychain.

The recovery file holds the workspace's data key wrapped by a random code (core.vault.keys):
with both, a forgotten passphrase can be replaced (`localai workspace recover`). Writing it runs
scrypt, so it runs on a KeyTask; the code is then shown once, with what to do with it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder import keychain
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.workspaces import WorkspaceInfo
from localai_desktop.ui.widgets.passphrase_form import passphrase_field, wrapped_label
from localai_desktop.ui.widgets.theme import themed_style_sheet
from localai_desktop.ui.workspaces.dialogs import _KeyWorkDialog, grow_to_fit

# (parent, suggested path) -> the file chosen, or None when cancelled.
RecoveryFileChooser = Callable[[QWidget, Path], "Path | None"]

RECOVERY_EXPLAINED = (
    "A recovery file and its code together replace a forgotten passphrase; neither alone opens "
    "anything. Keep them apart: for example the file on a USB stick in a safe, the code on "
    "paper. Anyone with both can open this workspace."
)
CODE_WARNING = (
    "Write this code down now: it is shown only this once and cannot be shown again. Without "
    "it the recovery file is useless. To use them: localai workspace recover."
)


def choose_recovery_file_with_dialog(parent: QWidget, suggested: Path) -> Path | None:
    chosen, _filter = QFileDialog.getSaveFileName(
        parent, "Save the recovery file", str(suggested), "Recovery files (*.json)"
    )
    return Path(chosen) if chosen else None


class RecoveryFileDialog(_KeyWorkDialog):
    """The passphrase (typed again), where to save the file; then the code, shown once."""

    def __init__(
        self,
        info: WorkspaceInfo,
        parent: QWidget | None = None,
        *,
        choose_file: RecoveryFileChooser = choose_recovery_file_with_dialog,
    ) -> None:
        super().__init__(f"Save a recovery file for “{info.name}”", "Save recovery file…", parent)
        self.info = info
        self._choose_file = choose_file
        self.saved_to: Path | None = None
        self.explained = wrapped_label(RECOVERY_EXPLAINED, "What a recovery file is")
        self.passphrase = passphrase_field("Passphrase of this workspace")
        self._fields = QWidget()
        fields = QFormLayout(self._fields)
        fields.setContentsMargins(0, 0, 0, 0)
        fields.addRow("Passphrase:", self.passphrase)
        self.code = QLabel()
        self.code.setAccessibleName("Recovery code")
        self.code.setTextFormat(Qt.TextFormat.PlainText)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code.setWordWrap(True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(mono.pointSizeF() * 1.3)
        self.code.setFont(mono)
        self.code_warning = wrapped_label(CODE_WARNING, "Recovery code warning")
        themed_style_sheet(self.code_warning, lambda theme: f"color: {theme.warning_text};")
        self.copy_button = QPushButton("Copy the code")
        self.copy_button.setAccessibleName("Copy the recovery code")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self._shown = QWidget()
        shown = QVBoxLayout(self._shown)
        shown.setContentsMargins(0, 0, 0, 0)
        shown.addWidget(self.code_warning)
        shown.addWidget(self.code)
        shown.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._shown.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.explained)
        layout.addWidget(self._fields)
        layout.addWidget(self._shown)
        self._finish_layout(layout)

    @Slot()
    def _on_ok_button_clicked(self) -> None:
        if self.saved_to is not None:  # the code was shown: "I have written it down"
            self.accept()
            return
        passphrase = self.passphrase.text()
        if not passphrase:
            self.show_error("Type the passphrase of this workspace first.")
            return
        target = self._choose_file(self, Path.home() / f"{self.info.name} recovery.json")
        if target is None:
            return
        if target.exists():
            self.show_error(f"{target} already exists; choose a new file name.")
            return
        key_file = self.info.key_file

        def work() -> tuple[Path, str]:
            # A wrong passphrase: WrongPassphraseError, and no file is written.
            return target, key_file.write_recovery_file(passphrase, target)

        self._run(work, "Saving the recovery file…")

    def _succeeded(self, result: object) -> None:
        target, code = result  # type: ignore[misc]
        self.saved_to = Path(target)
        self.passphrase.clear()
        self._fields.hide()
        self.explained.setText(f"Saved the recovery file to {self.saved_to}. {RECOVERY_EXPLAINED}")
        self.code.setText(str(code))
        self._shown.show()
        self.ok_button.setText("I have written the code down")
        self.ok_button.setAccessibleName("I have written the code down")
        self.ok_button.setEnabled(True)
        self.cancel_button.hide()
        grow_to_fit(self)

    def reject(self) -> None:
        if self.saved_to is not None:
            self.code.clear()  # the code goes with the dialog: it is not kept anywhere
        super().reject()

    def accept(self) -> None:
        self.code.clear()
        super().accept()

    @Slot()
    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.code.text())


def forget_remembered_passphrase(root: DataPaths, info: WorkspaceInfo) -> str:
    """Remove the workspace's passphrase from this computer's keychain; what to tell the person."""
    if keychain.remembered(root.root, info.id) is None:
        return f"This computer did not remember the passphrase of “{info.name}”."
    keychain.forget(root.root, info.id)
    if keychain.remembered(root.root, info.id) is not None:
        raise LocalAIError(
            f"The keychain still holds the passphrase of “{info.name}”.",
            "Remove it in your system's keychain or password manager.",
        )
    return (
        f"This computer no longer remembers the passphrase of “{info.name}”: it will be asked "
        "for when the workspace is opened or unlocked."
    )
