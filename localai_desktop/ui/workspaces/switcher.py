"""The window's workspace switcher: its title, File > Workspace, the status bar, and Lock."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QIcon,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QToolButton

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory, WorkspaceInfo
from localai_desktop.core.vault.keys import Vault
from localai_desktop.ui.workspaces.dialogs import (
    ChangePassphraseDialog,
    NewWorkspaceDialog,
    ProtectWorkspaceDialog,
    RenameWorkspaceDialog,
    delete_confirmation,
)
from localai_desktop.ui.workspaces.recovery import (
    RecoveryFileDialog,
    forget_remembered_passphrase,
)

log = logging.getLogger(__name__)

APP_TITLE = "LocalAI Desktop"
LOCK_KEYS = "Ctrl+L"


def window_title(info: WorkspaceInfo) -> str:
    return f"{info.name} — {APP_TITLE}"


def lock_icon(colour: QColor | None = None) -> QIcon:
    """A padlock, drawn (no icon theme has one everywhere)."""
    icon = QIcon()
    for size in (16, 24, 32, 48):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        ink = colour or QColor("#6b5b2a")
        pen = QPen(ink, max(1.5, size / 10))
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        shackle = QRectF(size * 0.3, size * 0.1, size * 0.4, size * 0.5)
        painter.drawArc(shackle, 0, 180 * 16)
        painter.drawLine(QPointF(size * 0.3, size * 0.35), QPointF(size * 0.3, size * 0.45))
        painter.drawLine(QPointF(size * 0.7, size * 0.35), QPointF(size * 0.7, size * 0.45))
        painter.setBrush(ink)
        painter.drawRoundedRect(QRectF(size * 0.18, size * 0.45, size * 0.64, size * 0.45), 2, 2)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


class WorkspaceSwitcher(QObject):
    """Shows which workspace is open and offers the others; what replaces the window (switch,
    lock, protect, delete the open one) is asked of the app session by signal."""

    switch_requested = Signal(object, object)
    """Open another workspace: (WorkspaceInfo, its Vault when already unlocked, else None)."""
    lock_requested = Signal()
    """Lock was chosen (the button, the menu or Ctrl+L): ()."""
    protect_requested = Signal(object, str, bool)
    """Encrypt the open workspace: (WorkspaceInfo, passphrase, remember on this computer)."""
    delete_requested = Signal(object)
    """Delete the open workspace, confirmed: (WorkspaceInfo)."""

    def __init__(self, window: QMainWindow, workspace: Workspace, file_menu: QMenu) -> None:
        super().__init__(window)
        self._window = window
        self.workspace = workspace
        self.info = workspace.info
        self._directory = WorkspaceDirectory(workspace.paths)
        self.dialog: object | None = None  # the dialog open now (tests fill it in)
        self.delete_box: QMessageBox | None = None
        self.icon = lock_icon()

        self.menu = QMenu("&Workspace", window)
        self.menu.aboutToShow.connect(self._on_menu_about_to_show)
        self.lock_action = QAction(self.icon, "&Lock", window)
        self.lock_action.setShortcut(QKeySequence(LOCK_KEYS))
        self.lock_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.lock_action.setStatusTip("Close this workspace until its passphrase is typed again")
        self.lock_action.triggered.connect(self.lock_requested)
        window.addAction(self.lock_action)  # Ctrl+L works with the menu closed
        first = file_menu.actions()[0] if file_menu.actions() else None
        file_menu.insertMenu(first, self.menu)
        file_menu.insertAction(first, self.lock_action)
        file_menu.insertSeparator(first)

        self.button = QToolButton()
        self.button.setAccessibleName("Workspace")
        self.button.setToolTip("The workspace open now; click to switch or manage workspaces")
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setAutoRaise(True)
        self.button.setMenu(self.menu)
        self.lock_button = QToolButton()
        self.lock_button.setDefaultAction(self.lock_action)
        self.lock_button.setAccessibleName("Lock")
        self.lock_button.setToolTip(f"Lock this workspace ({LOCK_KEYS})")
        self.lock_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.lock_button.setAutoRaise(True)
        status = window.statusBar()
        status.addPermanentWidget(self.button)
        status.addPermanentWidget(self.lock_button)
        self._show_current()
        self._fill_menu()

    # -- showing --------------------------------------------------------------------------------

    def _show_current(self) -> None:
        info = self.info
        self._window.setWindowTitle(window_title(info))
        self.button.setText(info.name)
        self.button.setIcon(self.icon if self.workspace.protected else QIcon())
        protected = self.workspace.protected
        self.lock_action.setEnabled(protected)
        self.lock_action.setVisible(protected)
        self.lock_button.setVisible(protected)

    def listed(self) -> list[WorkspaceInfo]:
        return self._directory.list()

    def _fill_menu(self) -> None:
        menu = self.menu
        menu.clear()
        group = QActionGroup(menu)
        for info in self.listed():
            action = QAction(self.icon if info.protected else QIcon(), info.name, menu)
            action.setCheckable(True)
            action.setChecked(info.id == self.info.id)
            if info.id == self.info.id:  # an icon hides the check mark in some styles
                font = action.font()
                font.setBold(True)
                action.setFont(font)
            action.setData(info.id)
            action.setStatusTip(
                "Protected with a passphrase" if info.protected else "Not protected"
            )
            action.triggered.connect(self._on_workspace_action_triggered)
            group.addAction(action)
            menu.addAction(action)
        menu.addSeparator()
        name = self.info.name
        self.new_action = menu.addAction("&New workspace…", self.open_new_dialog)
        self.rename_action = menu.addAction(f"&Rename “{name}”…", self.open_rename_dialog)
        self.delete_action = menu.addAction(f"&Delete “{name}”…", self.open_delete_confirmation)
        self.delete_action.setEnabled(not self.info.is_default)
        if self.info.is_default:
            self.delete_action.setStatusTip("The default workspace cannot be deleted")
        if self.workspace.protected:
            self.change_action = menu.addAction(
                "&Change passphrase…", self.open_change_passphrase_dialog
            )
            self.recovery_action = menu.addAction(
                "Save a &recovery file…", self.open_recovery_file_dialog
            )
            self.recovery_action.setStatusTip(
                "A file and a code that together replace a forgotten passphrase"
            )
            self.forget_action = menu.addAction(
                "&Forget the remembered passphrase", self.forget_remembered_passphrase
            )
            self.forget_action.setStatusTip(
                "Remove the passphrase from this computer's keychain: it is asked for again"
            )
        else:
            self.protect_action = menu.addAction(
                f"&Protect “{name}” with a passphrase…", self.open_protect_dialog
            )
        menu.addSeparator()
        menu.addAction(self.lock_action)

    # -- the dialogs ----------------------------------------------------------------------------

    def open_new_dialog(self) -> NewWorkspaceDialog:
        dialog = NewWorkspaceDialog(self.workspace.paths, self._window)
        dialog.created.connect(self._on_new_dialog_created)
        return self._open(dialog)

    def open_rename_dialog(self) -> RenameWorkspaceDialog:
        dialog = RenameWorkspaceDialog(self.workspace.paths, self.info, self._window)
        dialog.renamed.connect(self._on_rename_dialog_renamed)
        return self._open(dialog)

    def open_protect_dialog(self) -> ProtectWorkspaceDialog:
        dialog = ProtectWorkspaceDialog(self.info, self._window)
        dialog.passphrase_chosen.connect(self._on_protect_dialog_passphrase_chosen)
        return self._open(dialog)

    def open_change_passphrase_dialog(self) -> ChangePassphraseDialog:
        dialog = ChangePassphraseDialog(self.workspace.paths, self.info, self._window)
        dialog.passphrase_changed.connect(self._on_change_dialog_passphrase_changed)
        return self._open(dialog)

    def open_recovery_file_dialog(self) -> RecoveryFileDialog:
        return self._open(RecoveryFileDialog(self.info, self._window))  # type: ignore[return-value]

    def forget_remembered_passphrase(self) -> str:
        """Remove the passphrase from the keychain; says so in the status bar (and returns it)."""
        try:
            said = forget_remembered_passphrase(self.workspace.paths, self.info)
        except LocalAIError as error:
            said = error.message
        self._window.statusBar().showMessage(said, 15_000)
        return said

    def open_delete_confirmation(self) -> QMessageBox | None:
        if self.info.is_default:
            return None
        box = delete_confirmation(self.info, self._window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._on_delete_box_finished)
        self.delete_box = box
        box.open()
        return box

    def _open(
        self,
        dialog: NewWorkspaceDialog
        | RenameWorkspaceDialog
        | ProtectWorkspaceDialog
        | ChangePassphraseDialog
        | RecoveryFileDialog,
    ) -> object:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._on_dialog_finished)
        self.dialog = dialog
        dialog.open()
        return dialog

    def shutdown(self) -> None:
        """Close an open dialog (waiting for its key work) before the window goes."""
        dialog = self.dialog
        if dialog is not None:
            dialog.close()  # type: ignore[attr-defined]

    # -- slots ----------------------------------------------------------------------------------

    @Slot()
    def _on_menu_about_to_show(self) -> None:
        self._fill_menu()  # another process may have added or renamed one

    @Slot()
    def _on_workspace_action_triggered(self) -> None:
        action = self.sender()
        if not isinstance(action, QAction):
            return
        wanted = str(action.data())
        if wanted == self.info.id:
            return
        target = next((w for w in self.listed() if w.id == wanted), None)
        if target is not None:
            self.switch_requested.emit(target, None)

    @Slot(object, object)
    def _on_new_dialog_created(self, info: WorkspaceInfo, vault: Vault | None) -> None:
        self.switch_requested.emit(info, vault)

    @Slot(object)
    def _on_rename_dialog_renamed(self, info: WorkspaceInfo) -> None:
        self.info = info
        self._show_current()
        self._fill_menu()

    @Slot(str, bool)
    def _on_protect_dialog_passphrase_chosen(self, passphrase: str, remember: bool) -> None:
        self.protect_requested.emit(self.info, passphrase, remember)

    @Slot(object)
    def _on_change_dialog_passphrase_changed(self, info: WorkspaceInfo) -> None:
        self._window.statusBar().showMessage(
            f"The passphrase of “{info.name}” was changed. The old one no longer opens it.", 10_000
        )

    @Slot(int)
    def _on_delete_box_finished(self, _result: int) -> None:
        box = self.delete_box
        self.delete_box = None
        if box is None:
            return
        clicked = box.clickedButton()
        if (
            clicked is not None
            and box.buttonRole(clicked) == QMessageBox.ButtonRole.DestructiveRole
        ):
            self.delete_requested.emit(self.info)

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        if self.sender() is self.dialog:
            self.dialog = None
