"""The unlock dialog: a protected workspace's passphrase, checked off the GUI thread."""

from __future__ import annotations

import enum
import logging

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder import keychain
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.workspace import PassphraseNeededError, unlock
from localai_desktop.core.datafolder.workspaces import WorkspaceInfo
from localai_desktop.core.vault.keys import Vault
from localai_desktop.ui.widgets.notices import Banner, StatusLine
from localai_desktop.ui.widgets.passphrase_form import (
    passphrase_field,
    remember_box,
    wrapped_label,
)
from localai_desktop.ui.workspaces.dialogs import grow_to_fit
from localai_desktop.ui.workspaces.tasks import KeyTask

log = logging.getLogger(__name__)


class UnlockReason(enum.Enum):
    START = "start"  # the app opens on it: the keychain may answer
    SWITCH = "switch"  # chosen in the switcher: the keychain may answer; Cancel keeps the old
    LOCKED = "locked"  # locked by hand or when idle: only the typed passphrase opens it


class UnlockDialog(QDialog):
    """Asks for the passphrase; `unlocked` carries the Vault. Wrong: a plain message, retry."""

    unlocked = Signal(object)
    """The passphrase unwrapped the workspace's key: (Vault)."""
    other_workspace_requested = Signal(object)
    """The person chose to open another workspace instead: (WorkspaceInfo)."""
    quit_requested = Signal()
    """The person chose Quit (or closed the dialog) at start or while locked."""

    def __init__(
        self,
        root: DataPaths,
        info: WorkspaceInfo,
        reason: UnlockReason,
        *,
        others: list[WorkspaceInfo] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._root = root
        self.info = info
        self.reason = reason
        self._task: KeyTask | None = None
        self._finished = False
        self.setWindowTitle(f"Unlock “{info.name}” — LocalAI Desktop")
        if reason == UnlockReason.LOCKED:
            heading = f"“{info.name}” is locked."
        else:
            heading = f"“{info.name}” is protected with a passphrase."
        self.heading = wrapped_label(heading, "Workspace")
        self.heading.setStyleSheet("font-weight: bold; font-size: 120%;")
        self.explanation = wrapped_label(
            "Its conversations and documents are encrypted on this computer. Type its "
            "passphrase to open it."
        )
        self.passphrase = passphrase_field("Passphrase")
        self.remember = remember_box()
        fields = QFormLayout()
        fields.addRow("Passphrase:", self.passphrase)
        fields.addRow("", self.remember)
        self.status = StatusLine()
        self.banner = Banner()

        buttons = QDialogButtonBox()
        self.unlock_button = buttons.addButton("Unlock", QDialogButtonBox.ButtonRole.AcceptRole)
        self.unlock_button.setAccessibleName("Unlock")
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self._on_unlock_button_clicked)
        self.other_button: QPushButton | None = None
        self._others: dict[str, WorkspaceInfo] = {}
        listed = [w for w in (others or []) if w.id != info.id]
        if reason != UnlockReason.SWITCH and listed:
            self.other_button = buttons.addButton(
                "Open another workspace", QDialogButtonBox.ButtonRole.ActionRole
            )
            self.other_button.setAccessibleName("Open another workspace")
            menu = QMenu(self.other_button)
            for other in listed:
                action = menu.addAction(other.name + (" (protected)" if other.protected else ""))
                action.setData(other.id)
                action.triggered.connect(self._on_other_action_triggered)
            self.other_button.setMenu(menu)
            self._others = {w.id: w for w in listed}
        leave = "Cancel" if reason == UnlockReason.SWITCH else "Quit"
        self.leave_button = buttons.addButton(leave, QDialogButtonBox.ButtonRole.RejectRole)
        self.leave_button.setAccessibleName(leave)
        self.leave_button.clicked.connect(self.reject)
        # Return always means Unlock (the dialog's default button), even while the passphrase
        # box is disabled and the focus has moved on to Quit.
        for button in (self.leave_button, self.other_button):
            if button is not None:
                button.setAutoDefault(False)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.explanation)
        layout.addLayout(fields)
        layout.addWidget(self.status)
        layout.addWidget(self.banner)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    # -- what the session calls ----------------------------------------------------------------

    def start(self) -> None:
        """Show the dialog; at start and on a switch, first try the keychain's passphrase."""
        self.show()
        if self.reason == UnlockReason.LOCKED:
            self.passphrase.setFocus()
            return
        root, info = self._root, self.info
        self._run(
            lambda: unlock(root.for_workspace(info.folder), info, None),
            "Looking for a passphrase remembered on this computer…",
        )

    def show_error(self, message: str) -> None:
        self.banner.show_error(message)
        grow_to_fit(self)

    def wait_for_threads(self) -> None:
        if self._task is not None:
            self._task.wait()

    # -- QDialog --------------------------------------------------------------------------------

    def done(self, result: int) -> None:
        # The key work is short (under a second): let it end rather than leave it running.
        self.wait_for_threads()
        left = result != QDialog.DialogCode.Accepted and not self._finished
        self._finished = True
        super().done(result)
        if left and self.reason != UnlockReason.SWITCH:
            self.quit_requested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.wait_for_threads()
        super().closeEvent(event)

    # -- the work -------------------------------------------------------------------------------

    def _run(self, work: object, busy_text: str) -> None:
        self._set_busy(True)
        self.status.show_busy(busy_text)
        task = KeyTask(work, self)  # type: ignore[arg-type]
        task.succeeded.connect(self._on_task_succeeded)
        task.failed.connect(self._on_task_failed)
        task.finished.connect(task.deleteLater)
        self._task = task
        task.start()

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.passphrase, self.remember, self.unlock_button):
            widget.setEnabled(not busy)
        if self.other_button is not None:
            self.other_button.setEnabled(not busy)

    @Slot()
    def _on_unlock_button_clicked(self) -> None:
        if self._task is not None and self._task.isRunning():
            return
        typed = self.passphrase.text()
        if not typed:
            self.show_error("Type the workspace's passphrase first.")
            return
        self.banner.hide()
        root, info, remember = self._root, self.info, self.remember.isChecked()

        def work() -> Vault:
            vault = info.key_file.unlock(typed)  # WrongPassphraseError: nothing changed
            if remember:
                keychain.remember(root.root, info.id, typed)
            return vault

        self._run(work, "Unlocking…")

    @Slot(object)
    def _on_task_succeeded(self, vault: object) -> None:
        if self._task is not None:
            # Its thread ends right after this signal; the dialog is deleted on close and
            # the workspace now opens on another thread: let this one end first.
            self._task.wait()
        self._task = None
        self.status.show_message("Unlocked.")
        self.passphrase.clear()
        self._finished = True
        self.accept()
        self.unlocked.emit(vault)

    @Slot(object)
    def _on_task_failed(self, error: LocalAIError) -> None:
        self._task = None
        self._set_busy(False)
        self.status.clear()
        if not isinstance(error, PassphraseNeededError):
            self.show_error(error.message)
        self.passphrase.selectAll()
        self.passphrase.setFocus()

    @Slot()
    def _on_other_action_triggered(self) -> None:
        action = self.sender()
        other = self._others.get(str(action.data())) if action is not None else None
        if other is None:
            return
        self._finished = True
        self.accept()
        self.other_workspace_requested.emit(other)
