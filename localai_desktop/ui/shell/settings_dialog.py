"""Settings: appearance, offline mode, debug logging, the data folder, backups, "Delete all"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.logs import (
    DEBUG_LOGGING_WARNING,
    content_logging_enabled,
    set_debug_logging,
)
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.datafolder.backup import (
    ExportReport,
    ImportReport,
    export_backup,
    import_backup,
)
from localai_desktop.core.datafolder.data_reset import ResetReport, plural, take_inventory
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.storage import Database
from localai_desktop.ui.server.settings_page import ServerSettings
from localai_desktop.ui.shell.appearance_settings import AppearanceSettings
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.welcome.guide import choose_folder_with_dialog
from localai_desktop.ui.widgets.notices import Banner, StatusLine
from localai_desktop.ui.widgets.safe_text import inert_tooltip
from localai_desktop.ui.widgets.theme import themed_style_sheet
from localai_desktop.ui.workspaces.lock_settings import LockSettings
from localai_desktop.ui.workspaces.tasks import KeyTask

log = logging.getLogger(__name__)

# (parent, "save" or "open", suggested path) -> the chosen file, or None when cancelled.
FileChooser = Callable[[QWidget, str, Path], "Path | None"]
FolderChooser = Callable[[QWidget, Path], "Path | None"]
BACKUP_FILTER = "LocalAI Desktop backups (*.json);;All files (*)"


def choose_file_with_dialog(parent: QWidget, mode: str, suggested: Path) -> Path | None:
    if mode == "save":
        name, _ = QFileDialog.getSaveFileName(
            parent, "Export conversations and settings", str(suggested), BACKUP_FILTER
        )
    else:
        name, _ = QFileDialog.getOpenFileName(
            parent, "Import conversations and settings", str(suggested.parent), BACKUP_FILTER
        )
    return Path(name) if name else None


def _wrapped(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setAccessibleName(name)
    return label


def _button(text: str, name: str, slot: Callable[[], None]) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.clicked.connect(slot)
    return button


class SettingsHost(Protocol):
    """What the dialog needs from the app session (AppSession is one): the open data folder,
    switching to another, and deleting everything."""

    @property
    def workspace(self) -> Workspace: ...

    @property
    def window(self) -> MainWindow | None: ...

    def data_dir_fixed_reason(self) -> str | None: ...

    def switch_data_folder(self, folder: Path) -> Path: ...

    def delete_all_data(self, *, include_models: bool) -> ResetReport: ...


class SettingsDialog(QDialog):
    """App-wide settings of the open data folder; changes apply at once."""

    def __init__(
        self,
        session: SettingsHost,
        window: MainWindow,
        *,
        choose_file: FileChooser = choose_file_with_dialog,
        choose_folder: FolderChooser = choose_folder_with_dialog,
    ) -> None:
        super().__init__(window)
        self.setWindowTitle("Settings")
        self._session = session
        self._window = window
        self._choose_file = choose_file
        self._choose_folder = choose_folder
        settings = window.app_settings.load()

        self.offline_box = QCheckBox("Offline mode: never connect to the internet")
        self.offline_box.setAccessibleName("Offline mode")
        self.offline_box.setToolTip("No search and no downloads; everything else works.")
        self.offline_box.setChecked(session.workspace.offline)
        self.offline_box.toggled.connect(self._on_offline_box_toggled)
        window.offline_mode_changed.connect(self._on_window_offline_mode_changed)
        self.debug_box = QCheckBox("Debug logging (for reporting a problem)")
        self.debug_box.setAccessibleName("Debug logging")
        self.debug_box.setToolTip(
            "Writes more detail to the log files, including what you type and the answers, to "
            "help report a problem. Switch it off again afterwards."
        )
        # On when saved, or for this run only when the app was started with --verbose.
        debug_on = settings.debug_logging or content_logging_enabled()
        self.debug_box.setChecked(debug_on)
        self.debug_box.toggled.connect(self._on_debug_box_toggled)
        self.debug_warning = _wrapped(
            DEBUG_LOGGING_WARNING.format(folder=session.workspace.paths.logs),
            "Debug logging warning",
        )
        themed_style_sheet(self.debug_warning, lambda theme: f"color: {theme.error_text};")
        self.debug_warning.setVisible(debug_on)
        privacy = QGroupBox("Privacy")
        privacy_layout = QVBoxLayout(privacy)
        privacy_layout.addWidget(self.offline_box)
        privacy_layout.addWidget(self.debug_box)
        privacy_layout.addWidget(self.debug_warning)
        privacy_layout.addWidget(
            _wrapped(
                "By default the log files hold no message, document or answer text; they are "
                f"kept in {session.workspace.paths.logs}."
            )
        )

        self.folder_label = _wrapped(str(session.workspace.paths.root), "Data folder")
        self.folder_label.setStyleSheet("font-weight: bold;")
        open_button = _button("Open", "Open the data folder", self._on_open_button_clicked)
        self.change_button = _button(
            "Change…", "Change the data folder", self._on_change_button_clicked
        )
        fixed = session.data_dir_fixed_reason()
        self.change_button.setEnabled(fixed is None)
        if fixed is not None:
            self.change_button.setToolTip(inert_tooltip(fixed))
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_label, 1)
        folder_row.addWidget(open_button)
        folder_row.addWidget(self.change_button)
        self.folder_note = _wrapped(fixed or "", "Why the data folder cannot be changed")
        self.folder_note.setStyleSheet("color: palette(placeholder-text);")
        self.folder_note.setVisible(fixed is not None)
        self.export_button = _button(
            "Export conversations and settings…",
            "Export conversations and settings",
            self._on_export_button_clicked,
        )
        self.import_button = _button("Import…", "Import a backup", self._on_import_button_clicked)
        self.delete_button = _button(
            "Delete all my data…", "Delete all my data", self._on_delete_button_clicked
        )
        themed_style_sheet(self.delete_button, lambda theme: f"color: {theme.error_text};")
        backup_row = QHBoxLayout()
        backup_row.addWidget(self.export_button)
        backup_row.addWidget(self.import_button)
        backup_row.addStretch(1)
        backup_row.addWidget(self.delete_button)
        data = QGroupBox("Your data")
        data_layout = QVBoxLayout(data)
        data_layout.addWidget(_wrapped("Everything the app keeps is in this folder:"))
        data_layout.addLayout(folder_row)
        data_layout.addWidget(self.folder_note)
        data_layout.addLayout(backup_row)
        self.backup_status = StatusLine()
        self.backup_status.hide()
        data_layout.addWidget(self.backup_status)
        self._backup_task: KeyTask | None = None
        self._backup_done: Callable[[object], None] | None = None

        self.banner = Banner()
        # The open workspace's protection and the idle time before it locks itself.
        self.lock_settings = LockSettings(session.workspace, self.banner)
        self.appearance = AppearanceSettings(window.appearance, self.banner)
        window.appearance.text_size_changed.connect(self._on_appearance_text_size_changed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close settings")
        buttons.rejected.connect(self.reject)
        general = QWidget()
        general_layout = QVBoxLayout(general)
        general_layout.addWidget(self.appearance)
        general_layout.addWidget(privacy)
        general_layout.addWidget(self.lock_settings)
        general_layout.addWidget(data)
        general_layout.addStretch(1)
        # The local server has a page of its own ("Let other programs ... use your models").
        self.server_settings = ServerSettings(window.server, self.banner)
        self.pages = QTabWidget()
        self.pages.setAccessibleName("Settings pages")
        self.pages.addTab(general, "General")
        self.pages.addTab(self.server_settings, "Other programs")
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        layout.addWidget(self.banner)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.setMinimumWidth(640)
        self.resize(680, 600)  # room for the wrapped notes (a top-level dialog sizes by hints)

    def show_server_page(self) -> None:
        """Show the local server's page (the status bar's server line asks for it)."""
        self.pages.setCurrentWidget(self.server_settings)

    def _session_db(self) -> Database:
        return self._session.workspace.db

    def _grow_to_fit(self) -> None:
        # Word-wrapped labels need height for their width; a top-level dialog does not ask
        # for it when one appears, so grow by hand (never shrink under the person's size).
        layout = self.layout()
        if layout is None:
            return
        width = max(self.width(), layout.minimumSize().width())  # wider text, wider buttons
        needed = layout.totalHeightForWidth(width)
        if needed > self.height() or width > self.width():
            self.resize(width, max(needed, self.height()))

    @Slot(int)
    def _on_appearance_text_size_changed(self, _points: int) -> None:
        # Once the new size has reached every widget and their sizes are known again.
        QTimer.singleShot(0, self, self._grow_to_fit)

    # -- slots: privacy -----------------------------------------------------------------------

    @Slot(bool)
    def _on_offline_box_toggled(self, offline: bool) -> None:
        # The Workspace saves it and tells the window, which updates the Models tab's switch.
        try:
            self._session.workspace.set_offline(offline)
        except LocalAIError as error:
            # The switch still applies to this session; only remembering it failed.
            self.banner.show_error(error.message)

    @Slot(bool)
    def _on_window_offline_mode_changed(self, offline: bool) -> None:
        with QSignalBlocker(self.offline_box):
            self.offline_box.setChecked(offline)

    @Slot(bool)
    def _on_debug_box_toggled(self, enabled: bool) -> None:
        self.debug_warning.setVisible(enabled)
        self._grow_to_fit()
        set_debug_logging(enabled, logs_dir=self._session.workspace.paths.logs)
        try:
            self._window.app_settings.update(debug_logging=enabled)
        except LocalAIError as error:
            self.banner.show_error(error.message)

    # -- slots: the data folder ---------------------------------------------------------------

    @Slot()
    def _on_open_button_clicked(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._session.workspace.paths.root)))

    @Slot()
    def _on_change_button_clicked(self) -> None:
        folder = self._choose_folder(self, self._session.workspace.paths.root)
        if folder is None:
            return
        session = self._session
        try:
            # Closes this dialog with the window; the new window opens on the new folder.
            used = session.switch_data_folder(folder)
        except (LocalAIError, OSError) as error:
            message = error.message if isinstance(error, LocalAIError) else str(error)
            if session.window is not None:
                _inform(session.window, "The data folder was not changed", message, error=True)
            return
        if session.window is not None:
            _inform(
                session.window,
                "Data folder changed",
                f"Your data is now kept in {used}. The data in the previous folder is still "
                "there; switch back in Settings to see it.",
            )

    @Slot()
    def _on_export_button_clicked(self) -> None:
        suggested = Path.home() / f"LocalAI-backup-{date.today().isoformat()}.json"
        path = self._choose_file(self, "save", suggested)
        if path is None:
            return
        db, settings_store = self._session_db(), self._window.app_settings
        audit = self._session.workspace.audit
        passphrase = self._session.workspace.export_passphrase

        def work() -> ExportReport:
            return export_backup(db, settings_store, path, audit=audit, passphrase=passphrase)

        # Encrypting (age's scrypt) takes about a second: never on the GUI thread.
        busy = "Encrypting and saving the backup…" if passphrase else "Saving the backup…"
        self._run_backup_task(busy, work, self._on_export_done)

    def _on_export_done(self, report: object) -> None:
        assert isinstance(report, ExportReport)
        conversations = plural(report.conversations, "conversation", "conversations")
        messages = plural(report.messages, "message", "messages")
        protection = (
            "It is encrypted with this workspace's passphrase."
            if report.encrypted
            else "The file is not encrypted: keep it somewhere safe."
        )
        self.banner.show_info(
            f"Saved {conversations} ({messages}) and the settings to {report.path}. {protection}"
        )

    @Slot()
    def _on_import_button_clicked(self) -> None:
        path = self._choose_file(self, "open", Path.home() / "backup.json")
        if path is None:
            return
        db, settings_store = self._session_db(), self._window.app_settings
        audit = self._session.workspace.audit
        passphrase = self._session.workspace.export_passphrase

        def work() -> ImportReport:
            return import_backup(db, settings_store, path, audit=audit, passphrase=passphrase)

        self._run_backup_task("Reading the backup…", work, self._on_import_done)

    def _on_import_done(self, report: object) -> None:
        assert isinstance(report, ImportReport)
        self._window.chat_tab.refresh_conversations()
        try:
            self._session.workspace.reload_offline()  # the imported settings may switch it
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        self.banner.show_info(report.summary())

    def _run_backup_task(
        self, busy: str, work: Callable[[], object], done: Callable[[object], None]
    ) -> None:
        """Run an export or import on its own thread, the buttons off and a busy line shown
        meanwhile; then `done(report)` on the GUI thread, or the error in the banner."""
        self.banner.hide()
        self.backup_status.show_busy(busy)
        self.backup_status.show()
        for button in (self.export_button, self.import_button):
            button.setEnabled(False)
        task = KeyTask(work, self)
        task.succeeded.connect(self._on_backup_task_succeeded)
        task.failed.connect(self._on_backup_task_failed)
        task.finished.connect(task.deleteLater)
        self._backup_task, self._backup_done = task, done
        task.start()

    def _end_backup_task(self) -> Callable[[object], None] | None:
        done, self._backup_done, self._backup_task = self._backup_done, None, None
        self.backup_status.clear()
        self.backup_status.hide()
        for button in (self.export_button, self.import_button):
            button.setEnabled(True)
        return done

    def is_busy(self) -> bool:
        """Whether an export or import is running."""
        return self._backup_task is not None

    @Slot(object)
    def _on_backup_task_succeeded(self, report: object) -> None:
        done = self._end_backup_task()
        if done is not None:
            done(report)

    @Slot(object)
    def _on_backup_task_failed(self, error: LocalAIError) -> None:
        self._end_backup_task()
        self.banner.show_error(error.message)

    def done(self, result: int) -> None:
        # The file is written whole or not at all: let a running export or import end first
        # (a second or two) rather than leave its thread running without the dialog.
        if self._backup_task is not None:
            self._backup_task.wait()
        super().done(result)

    @Slot()
    def _on_delete_button_clicked(self) -> None:
        inventory = take_inventory(
            self._session.workspace.paths, self._session.workspace.default_vault
        )
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Delete all my data",
            "Delete all your data from this computer?",
            parent=self,
        )
        items = "\n".join(f"• {line}" for line in inventory.lines(include_models=False))
        box.setInformativeText(
            f"This deletes, in {inventory.root}:\n{items}\n\nIt cannot be undone. Export your "
            "conversations first if you may want them later."
        )
        inside = sum(_size(p) for p in inventory.model_files_inside)
        label = f"Also delete my models ({plural(inventory.models, 'model', 'models')}"
        if inventory.model_files_inside:
            label += f"; frees {format_bytes(inside)}"
        if inventory.model_files_elsewhere:
            label += "; files outside the app's folder are only forgotten, not deleted"
        models = QCheckBox(label + ")", box)
        models.setAccessibleName("Also delete my models")
        models.setEnabled(inventory.models > 0)
        box.setCheckBox(models)
        delete = box.addButton("Delete everything", QMessageBox.ButtonRole.DestructiveRole)
        delete.setAccessibleName("Delete everything")
        keep = box.addButton("Keep my data", QMessageBox.ButtonRole.RejectRole)
        keep.setAccessibleName("Keep my data")
        box.setDefaultButton(keep)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._on_delete_box_finished)
        self.delete_box = box
        box.open()

    @Slot(int)
    def _on_delete_box_finished(self, _result: int) -> None:
        box = self.sender()
        if not isinstance(box, QMessageBox):
            return
        clicked = box.clickedButton()
        if clicked is None or box.buttonRole(clicked) != QMessageBox.ButtonRole.DestructiveRole:
            return
        include_models = box.checkBox().isChecked()
        session = self._session
        try:
            # Closes the window (and this dialog): the model is unloaded, threads end, the
            # database is closed; then a fresh window opens.
            report = session.delete_all_data(include_models=include_models)
        except (LocalAIError, OSError) as error:
            message = error.message if isinstance(error, LocalAIError) else str(error)
            log.error("Deleting all data failed: %s", message)
            if session.window is not None:
                _inform(session.window, "Not everything was deleted", message, error=True)
            return
        if session.window is not None:
            _inform(session.window, "Your data was deleted", report.summary())


def _inform(parent: QWidget, title: str, text: str, *, error: bool = False) -> QMessageBox:
    icon = QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information
    box = QMessageBox(icon, title, title + ".", parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setInformativeText(text)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setObjectName("settings-outcome")
    box.open()
    return box


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
