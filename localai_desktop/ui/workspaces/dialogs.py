"""New workspace, Rename, Protect, Change passphrase, the delete confirmation, and Busy."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder import keychain
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.workspaces import (
    MAX_NAME_CHARS,
    WorkspaceDirectory,
    WorkspaceInfo,
    check_name,
)
from localai_desktop.core.vault.keys import Vault
from localai_desktop.ui.widgets.notices import Banner, StatusLine
from localai_desktop.ui.widgets.passphrase_form import (
    NewPassphraseForm,
    passphrase_field,
    wrapped_label,
)
from localai_desktop.ui.workspaces.tasks import KeyTask

log = logging.getLogger(__name__)

PROTECT_TEXT = "Protect with a passphrase (recommended)"
WHAT_A_WORKSPACE_LOSES = (
    "its conversations, document collections and their index, adapters, fine-tuning data and "
    "jobs, and audit trail"
)


def grow_to_fit(dialog: QDialog) -> None:
    """Grow a dialog for word-wrapped text that appeared (a top-level window does not ask for
    the height its wrapped labels need); never shrink under the person's size."""
    layout = dialog.layout()
    if layout is None:
        return
    layout.activate()
    width = max(dialog.width(), layout.minimumSize().width())
    needed = layout.totalHeightForWidth(width)
    if needed > dialog.height():
        dialog.resize(width, needed)


def _name_field(text: str = "") -> QLineEdit:
    field = QLineEdit(text)
    field.setAccessibleName("Workspace name")
    field.setPlaceholderText("For example: Smith v Jones")
    field.setMaxLength(MAX_NAME_CHARS)
    field.setMinimumWidth(280)
    return field


class _KeyWorkDialog(QDialog):
    """A dialog with a banner, a busy line and OK/Cancel, whose OK may run a KeyTask."""

    def __init__(self, title: str, ok_text: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.banner = Banner()
        self.status = StatusLine()
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setAccessibleName(ok_text)
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self._on_ok_button_clicked)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self._task: KeyTask | None = None
        self.setMinimumWidth(520)

    def _finish_layout(self, layout: QVBoxLayout) -> None:
        layout.addWidget(self.status)
        layout.addWidget(self.banner)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    def _run(self, work: object, busy_text: str) -> None:
        self.banner.hide()
        self.status.show_busy(busy_text)
        self.ok_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        task = KeyTask(work, self)  # type: ignore[arg-type]
        task.succeeded.connect(self._on_task_succeeded)
        task.failed.connect(self._on_task_failed)
        task.finished.connect(task.deleteLater)
        self._task = task
        task.start()

    def is_busy(self) -> bool:
        return self._task is not None

    def wait_for_threads(self) -> None:
        if self._task is not None:
            self._task.wait()

    def done(self, result: int) -> None:
        self.wait_for_threads()
        super().done(result)

    @Slot()
    def _on_ok_button_clicked(self) -> None:
        raise NotImplementedError

    @Slot(object)
    def _on_task_succeeded(self, result: object) -> None:
        if self._task is not None:
            self._task.wait()  # it ends right after this signal; the dialog may close now
        self._task = None
        self.status.clear()
        self._succeeded(result)

    @Slot(object)
    def _on_task_failed(self, error: LocalAIError) -> None:
        self._task = None
        self.status.clear()
        self.ok_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.show_error(error.message)

    def show_error(self, message: str) -> None:
        self.banner.show_error(message)
        grow_to_fit(self)

    def _succeeded(self, result: object) -> None:
        self.accept()


class NewWorkspaceDialog(_KeyWorkDialog):
    """A name, and (checked by default) a passphrase; `created` when it exists."""

    created = Signal(object, object)
    """The workspace exists (and has its key): (WorkspaceInfo, Vault or None)."""

    def __init__(self, root: DataPaths, parent: QWidget | None = None) -> None:
        super().__init__("New workspace", "Create workspace", parent)
        self._root = root
        self.name = _name_field()
        self.protect = QCheckBox(PROTECT_TEXT)
        self.protect.setAccessibleName(PROTECT_TEXT)
        self.protect.setChecked(True)
        self.protect.toggled.connect(self._on_protect_toggled)
        self.form = NewPassphraseForm()
        fields = QFormLayout()
        fields.addRow("Name:", self.name)
        layout = QVBoxLayout(self)
        layout.addWidget(
            wrapped_label(
                "A workspace keeps one client's or patient group's conversations, documents "
                "and fine-tuning apart from the others. Models are shared by all."
            )
        )
        layout.addLayout(fields)
        layout.addWidget(self.protect)
        layout.addWidget(self.form)
        self._finish_layout(layout)

    @Slot(bool)
    def _on_protect_toggled(self, protect: bool) -> None:
        self.form.setEnabled(protect)

    @Slot()
    def _on_ok_button_clicked(self) -> None:
        directory = WorkspaceDirectory(self._root)
        try:
            name = check_name(self.name.text())
            if any(w.name.casefold() == name.casefold() for w in directory.list()):
                raise LocalAIError(
                    f"A workspace named '{name}' already exists.", "Choose another name."
                )
            passphrase = self.form.chosen() if self.protect.isChecked() else None
        except LocalAIError as error:
            self.show_error(error.message)
            return
        remember = self.form.remembered()
        root = self._root.root

        def work() -> tuple[WorkspaceInfo, Vault | None]:
            info = directory.create(name)
            if passphrase is None:
                return info, None
            try:
                # The key comes first: the database is encrypted from its very first page.
                vault = info.key_file.create(passphrase)
            except LocalAIError:
                directory.remove(info.id)
                raise
            if remember:
                keychain.remember(root, info.id, passphrase)
            return info, vault

        busy = "Creating the workspace and its key…" if passphrase else "Creating the workspace…"
        self._run(work, busy)

    def _succeeded(self, result: object) -> None:
        info, vault = result  # type: ignore[misc]
        self.form.clear()
        self.accept()
        self.created.emit(info, vault)


class RenameWorkspaceDialog(_KeyWorkDialog):
    """Another name for a workspace; `renamed` when saved."""

    renamed = Signal(object)
    """The workspace has its new name: (WorkspaceInfo)."""

    def __init__(self, root: DataPaths, info: WorkspaceInfo, parent: QWidget | None = None):
        super().__init__(f"Rename “{info.name}”", "Rename", parent)
        self._root = root
        self.info = info
        self.name = _name_field(info.name)
        self.name.selectAll()
        fields = QFormLayout()
        fields.addRow("New name:", self.name)
        layout = QVBoxLayout(self)
        layout.addLayout(fields)
        self._finish_layout(layout)
        self.setMinimumWidth(420)

    @Slot()
    def _on_ok_button_clicked(self) -> None:
        try:
            renamed = WorkspaceDirectory(self._root).rename(self.info.id, self.name.text())
        except LocalAIError as error:
            self.show_error(error.message)
            return
        self.accept()
        self.renamed.emit(renamed)


class ProtectWorkspaceDialog(_KeyWorkDialog):
    """Chooses the passphrase for an unprotected workspace; the app session encrypts it."""

    passphrase_chosen = Signal(str, bool)
    """A valid new passphrase was typed twice: (passphrase, remember on this computer)."""

    def __init__(self, info: WorkspaceInfo, parent: QWidget | None = None) -> None:
        super().__init__(f"Protect “{info.name}” with a passphrase", "Protect", parent)
        self.info = info
        self.form = NewPassphraseForm()
        layout = QVBoxLayout(self)
        layout.addWidget(
            wrapped_label(
                f"Everything in “{info.name}” is encrypted on this computer, and the unencrypted "
                "copies are overwritten and removed. The window closes while it is done and "
                "opens again when it is finished."
            )
        )
        layout.addWidget(self.form)
        self._finish_layout(layout)

    @Slot()
    def _on_ok_button_clicked(self) -> None:
        try:
            passphrase = self.form.chosen()
        except LocalAIError as error:
            self.show_error(error.message)
            return
        remember = self.form.remembered()
        self.form.clear()
        self.accept()
        self.passphrase_chosen.emit(passphrase, remember)


class ChangePassphraseDialog(_KeyWorkDialog):
    """The current passphrase and a new one; only the key is rewrapped, off the GUI thread."""

    passphrase_changed = Signal(object)
    """The new passphrase opens the workspace; the old one no longer does: (WorkspaceInfo)."""

    def __init__(self, root: DataPaths, info: WorkspaceInfo, parent: QWidget | None = None):
        super().__init__(f"Change the passphrase of “{info.name}”", "Change passphrase", parent)
        self._root = root
        self.info = info
        self.current = passphrase_field("Current passphrase")
        self.form = NewPassphraseForm(first_label="New passphrase:")
        fields = QFormLayout()
        fields.addRow("Current passphrase:", self.current)
        layout = QVBoxLayout(self)
        layout.addLayout(fields)
        layout.addWidget(self.form)
        self._finish_layout(layout)

    @Slot()
    def _on_ok_button_clicked(self) -> None:
        old = self.current.text()
        try:
            if not old:
                raise LocalAIError("Type the current passphrase first.")
            new = self.form.chosen()
        except LocalAIError as error:
            self.show_error(error.message)
            return
        info, root, remember = self.info, self._root.root, self.form.remembered()

        def work() -> WorkspaceInfo:
            info.key_file.change_passphrase(old, new)  # a wrong old one: nothing changed
            if remember:
                keychain.remember(root, info.id, new)
            else:
                keychain.forget(root, info.id)  # the old one opens nothing any more
            return info

        self._run(work, "Changing the passphrase…")

    def _succeeded(self, result: object) -> None:
        self.current.clear()
        self.form.clear()
        self.accept()
        self.passphrase_changed.emit(result)


class BusyDialog(QDialog):
    """A window that says what the app is doing while the main window is closed for it."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.status = StatusLine()
        self.status.show_busy(text)
        self.text = wrapped_label(text)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.status)
        self.setMinimumWidth(420)
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)

    def set_text(self, text: str) -> None:
        """Say what the app does next (the same window goes on from one step to the next)."""
        self.text.setText(text)
        self.status.show_busy(text)

    def reject(self) -> None:
        """Escape does not close it: the work it shows cannot be left half done."""


def delete_confirmation(info: WorkspaceInfo, parent: QWidget) -> QMessageBox:
    """Asks before deleting a workspace, naming what is lost; the destructive button deletes."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Delete workspace",
        f"Delete the workspace “{info.name}” and everything in it?",
        parent=parent,
    )
    box.setTextFormat(Qt.TextFormat.PlainText)
    erase = (
        " Its key is destroyed first, so what may remain on the disk cannot be read."
        if info.protected
        else ""
    )
    box.setInformativeText(
        f"This deletes {WHAT_A_WORKSPACE_LOSES}. Models are shared by all workspaces and are "
        f"kept.{erase} It cannot be undone."
    )
    delete = box.addButton("Delete workspace", QMessageBox.ButtonRole.DestructiveRole)
    delete.setAccessibleName("Delete workspace")
    keep = box.addButton("Keep it", QMessageBox.ButtonRole.RejectRole)
    keep.setAccessibleName("Keep it")
    box.setDefaultButton(keep)
    return box
