"""The app session's part for workspaces: switching, locking, protecting and deleting them.

A mixin of AppSession (session.py), which owns the window and the open Workspace: each of these
closes the window and its workspace first (the model is freed, the database closed), then opens
the next one, through the unlock dialog when it is protected.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder import keychain
from localai_desktop.core.datafolder.config import APP_NAME
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.protection import protect
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory, WorkspaceInfo
from localai_desktop.core.finetune.jobs import (
    running_in_plaintext_database,
    training_running_error,
)
from localai_desktop.core.vault.keys import Vault
from localai_desktop.ui.workspaces.dialogs import BusyDialog
from localai_desktop.ui.workspaces.tasks import KeyTask
from localai_desktop.ui.workspaces.unlock_dialog import UnlockDialog, UnlockReason

log = logging.getLogger(__name__)

# Dialogs in front of the window that an idle lock closes (one inside another), at most.
_MAX_DIALOGS_CLOSED = 8


class WorkspaceSwitching:
    """Switch, lock, protect and delete workspaces (mixed into AppSession)."""

    @property
    def root(self) -> DataPaths:
        assert self._root is not None, "open() first"
        return self._root

    def switch_workspace(self, info: WorkspaceInfo, vault: Vault | None = None) -> None:
        """Open `info` instead of the open workspace (asking its passphrase first if needed:
        the open one stays until it is unlocked, and stays if the person cancels)."""
        if self._workspace is not None and self._workspace.info.id == info.id:
            return
        if info.protected and vault is None:
            self._ask_passphrase(info, UnlockReason.SWITCH)
        else:
            self._replace_workspace(info, vault)

    def lock(self) -> None:
        """Close the open protected workspace (a streamed answer is stopped and saved, the
        window and its models go, the database is closed) until its passphrase is typed."""
        if self._workspace is None or not self._workspace.protected:
            return
        info = self._workspace.info
        with _kept_running():
            self._close_workspace()
            self._ask_passphrase(info, UnlockReason.LOCKED)
        log.info("Locked the workspace %s", info.id)
        self.locked.emit()

    def workspace_protected(self) -> bool:
        return self._workspace is not None and self._workspace.protected

    def protect_open_workspace(
        self, passphrase: str, remember: bool, done: Callable[[str | None], None]
    ) -> None:
        """The welcome guide's "Protect with a passphrase": `done(None or the problem)`."""
        if self._workspace is None:
            done("No workspace is open.")
            return
        self.protect_workspace(self._workspace.info, passphrase, remember, done)

    def protect_workspace(
        self,
        info: WorkspaceInfo,
        passphrase: str,
        remember: bool,
        done: Callable[[str | None], None] | None = None,
    ) -> None:
        """Encrypt the open workspace with a new passphrase, its window closed meanwhile;
        then `done(None or the problem)`."""
        training = self._training_in(info)
        if training:
            error = training_running_error(training)
            _warn(self.window, "The workspace was not protected", error.message)
            if done is not None:
                done(error.message)
            return
        paths = self.root.for_workspace(info.folder)
        root = self.root.root

        def work() -> Vault:
            vault = protect(paths, passphrase)
            if remember:
                keychain.remember(root, info.id, passphrase)
            return vault

        def finished(vault: object, error: LocalAIError | None) -> None:
            # Kill-safe: the data is as it was, or encrypted under the key already written.
            fresh = WorkspaceDirectory(self.root).find(info.id)
            if error is not None:
                self._open_workspace(fresh, error.message)
            else:

                def say_protected() -> None:
                    if self.window is not None:
                        self.window.statusBar().showMessage(
                            f"“{info.name}” is protected: its data is encrypted on this computer.",
                            15_000,
                        )
                    if done is not None:
                        done(None)

                self._replace_workspace(fresh, vault, then=say_protected)  # type: ignore[arg-type]
                return
            if done is not None:
                done(error.message)

        self._work_with_window_closed(
            "Protecting the workspace",
            f"Encrypting “{info.name}”. The window opens again when it is done; this takes "
            "longer for a workspace with many documents.",
            work,
            finished,
        )

    def _training_in(self, info: WorkspaceInfo) -> list[str]:
        """The trainings at work in `info` (the window's own, or `localai finetune` beside it):
        closing the window would stop the first, encrypting would pull files from under both."""
        workspace = self._workspace
        if workspace is None or workspace.info.id != info.id:
            return running_in_plaintext_database(self.root.for_workspace(info.folder).database)
        names = [job.name for job in workspace.jobs.running()]
        if not names and self.window is not None and self.window.finetune_tab.is_training():
            names = ["the one started in the Fine-tune tab"]
        return names

    def delete_workspace(self, info: WorkspaceInfo) -> None:
        """Delete a workspace (its key first); the default one opens if it was the open one."""
        directory = WorkspaceDirectory(self.root)
        root = self.root.root

        def work() -> WorkspaceInfo:
            directory.remove(info.id)
            keychain.forget(root, info.id)
            log.info("Deleted the workspace %s", info.id)
            return info

        if self._workspace is None or self._workspace.info.id != info.id:
            try:
                work()
            except LocalAIError as error:
                _warn(self.window, "The workspace was not deleted", error.message)
            return

        def finished(_result: object, error: LocalAIError | None) -> None:
            self._open_workspace(directory.find(None), error.message if error else None)

        self._work_with_window_closed(
            "Deleting the workspace",
            f"Deleting “{info.name}” and everything in it…",
            work,
            finished,
        )

    def _work_with_window_closed(
        self,
        title: str,
        text: str,
        work: Callable[[], object],
        finished: Callable[[object, LocalAIError | None], None],
    ) -> None:
        """Close the window and workspace, say what happens in a small window, run `work` on
        its own thread, then `finished(result, error)` (which opens the next window)."""
        with _kept_running():
            self._close_workspace()
            if self.busy_dialog is not None:
                self.busy_dialog.setWindowTitle(title)
                self.busy_dialog.set_text(text)
            else:
                busy = BusyDialog(title, text)
                busy.show()
                self.busy_dialog = busy
        task = KeyTask(work, self)
        task.succeeded.connect(self._on_task_succeeded)
        task.failed.connect(self._on_task_failed)
        task.finished.connect(task.deleteLater)
        self._task, self._task_finished = task, finished
        task.start()

    @Slot(object)
    def _on_task_succeeded(self, result: object) -> None:
        self._end_task(result, None)

    @Slot(object)
    def _on_task_failed(self, error: LocalAIError) -> None:
        self._end_task(None, error)

    def _end_task(self, result: object, error: LocalAIError | None) -> None:
        finished, self._task_finished = self._task_finished, None
        self._task = None
        with _kept_running():  # the busy window goes once the next window shows
            if finished is not None:
                finished(result, error)  # may start the next task (open what was protected)
            if self._task is None:  # else the same busy window goes on for the next task
                self._close_busy_dialog()

    def _open_workspace(self, info: WorkspaceInfo, problem: str | None = None) -> None:
        """Open `info` where no workspace is open: its unlock dialog, or its window."""
        if info.protected:
            self._ask_passphrase(info, UnlockReason.START, problem)
        else:
            self._replace_workspace(info, None, problem)

    def _replace_workspace(
        self,
        info: WorkspaceInfo,
        vault: Vault | None,
        problem: str | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Close the window, open `info` on its own thread (migrations, a protection stopped
        mid-way finished, SQLCipher's first read: seconds for a large workspace) with a busy
        window meanwhile, then show it; `then()` once it shows."""
        root = self.root.root

        def work() -> Workspace:
            return Workspace.open(root, workspace=info.id, vault=vault)

        def finished(opened: object, error: LocalAIError | None) -> None:
            if error is not None:
                log.error("Could not open the workspace %s: %s", info.id, error.message)
                default = WorkspaceDirectory(self.root).find(None)
                if info.id == default.id:
                    _warn(None, "The workspace could not be opened", error.message)
                    self.quit_requested.emit()
                    return
                self._open_workspace(default, error.message)
                return
            assert isinstance(opened, Workspace)
            if self._closing:  # the app is quitting: the window is not wanted any more
                opened.close()
                return
            window = self._show_window(opened)
            if problem is not None:
                _warn(window, "Something went wrong", problem)
            if then is not None:
                then()

        self._work_with_window_closed(
            "Opening the workspace", f"Opening “{info.name}”…", work, finished
        )

    def _ask_passphrase(
        self, info: WorkspaceInfo, reason: UnlockReason, problem: str | None = None
    ) -> UnlockDialog:
        if self.unlock_dialog is not None:
            replaced, self.unlock_dialog = self.unlock_dialog, None
            replaced.quit_requested.disconnect(self._on_unlock_dialog_quit_requested)
            replaced.close()  # replaced, not left: the app goes on
        others = WorkspaceDirectory(self.root).list()
        parent = self.window if reason == UnlockReason.SWITCH else None
        dialog = UnlockDialog(self.root, info, reason, others=others, parent=parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if parent is not None:
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.unlocked.connect(self._on_unlock_dialog_unlocked)
        dialog.other_workspace_requested.connect(self._on_unlock_dialog_other_workspace_requested)
        dialog.quit_requested.connect(self._on_unlock_dialog_quit_requested)
        dialog.finished.connect(self._on_unlock_dialog_finished)
        self.unlock_dialog = dialog
        if problem is not None:
            dialog.show_error(problem)
        dialog.start()
        self.unlock_requested.emit(dialog)
        return dialog

    @Slot(object)
    def _on_unlock_dialog_unlocked(self, vault: Vault) -> None:
        dialog = self.sender()
        if not isinstance(dialog, UnlockDialog):
            return
        self._replace_workspace(dialog.info, vault)

    @Slot(object)
    def _on_unlock_dialog_other_workspace_requested(self, info: WorkspaceInfo) -> None:
        self._open_workspace(info)

    @Slot()
    def _on_unlock_dialog_quit_requested(self) -> None:
        if not self._closing:
            self.quit_requested.emit()

    @Slot(int)
    def _on_unlock_dialog_finished(self, _result: int) -> None:
        if self.sender() is self.unlock_dialog:
            self.unlock_dialog = None

    def _close_busy_dialog(self) -> None:
        if self.busy_dialog is not None:
            self.busy_dialog.hide()
            self.busy_dialog.deleteLater()
            self.busy_dialog = None

    @Slot()
    def _on_idle_lock_idle(self) -> None:
        log.info("Nobody used the app for a while: locking the workspace")
        self._lock_when_no_dialog_waits(_MAX_DIALOGS_CLOSED)

    def _lock_when_no_dialog_waits(self, tries: int) -> None:
        # A dialog left open (a file chooser, a question) may run its own event loop inside
        # code that uses the workspace: close it as "Cancel" and lock once that code returned.
        modal = QApplication.activeModalWidget()
        if modal is not None and modal is not self.unlock_dialog and tries > 0:
            if isinstance(modal, QDialog):
                modal.reject()
            else:
                modal.close()
            QTimer.singleShot(0, lambda: self._lock_when_no_dialog_waits(tries - 1))
            return
        self.lock()

    @Slot(object, object)
    def _on_switcher_switch_requested(self, info: WorkspaceInfo, vault: Vault | None) -> None:
        self.switch_workspace(info, vault)

    @Slot()
    def _on_switcher_lock_requested(self) -> None:
        self.lock()

    @Slot(object, str, bool)
    def _on_switcher_protect_requested(
        self, info: WorkspaceInfo, passphrase: str, remember: bool
    ) -> None:
        self.protect_workspace(info, passphrase, remember)

    @Slot(object)
    def _on_switcher_delete_requested(self, info: WorkspaceInfo) -> None:
        self.delete_workspace(info)

    @Slot(int)
    def _on_settings_dialog_idle_minutes_changed(self, minutes: int) -> None:
        self.idle_lock.set_minutes(minutes)


@contextlib.contextmanager
def _kept_running() -> Iterator[None]:
    """The app goes on while its only window is replaced (closed, then another shown)."""
    quit_on_close = QGuiApplication.quitOnLastWindowClosed()
    QGuiApplication.setQuitOnLastWindowClosed(False)
    try:
        yield
    finally:
        QGuiApplication.setQuitOnLastWindowClosed(quit_on_close)


def _warn(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, title + ".", parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setInformativeText(text)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setObjectName("workspace-problem")
    box.open()
    return box
