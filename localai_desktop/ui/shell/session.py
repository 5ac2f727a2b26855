"""AppSession: the open data folder and its main window; switches folders and starts over.

Above the main window, because some things replace it: choosing another data folder (from the
first-run guide or Settings) and "Delete all my data" close the window, which stops the chat
worker (unloading the model), the downloads and every other thread, and close the database
before a single file is touched; then a fresh window opens on the folder.

Workspaces are replaced the same way: switching, locking (by hand, Ctrl+L, or when idle),
protecting the open workspace and deleting it close the window and its workspace first. A
protected workspace opens only through the unlock dialog (ui/workspaces), whose key work runs
off the GUI thread; while it shows, no window, database or model of the workspace is open.

One session per data folder: it holds the folder's desktop-app lock while it has it open, and a
second start on the folder brings this window to the front (single_instance.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication

from localai_desktop import __version__
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.file_lock import FileLock
from localai_desktop.core.common.logs import configure_logging
from localai_desktop.core.datafolder.config import AppConfigStore
from localai_desktop.core.datafolder.data_reset import ResetReport, delete_all_data
from localai_desktop.core.datafolder.desktop_app_lock import claim_for_desktop_app
from localai_desktop.core.datafolder.paths import (
    DATA_DIR_ENV,
    DATABASE_FILE,
    DataPaths,
    data_dir_source,
    init_data_paths,
)
from localai_desktop.core.datafolder.settings import AppSettingsStore, welcome_guide_seen
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory, WorkspaceInfo
from localai_desktop.core.hub.client import HubClient
from localai_desktop.core.hub.download_store import DownloadProgress, DownloadRequest
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.core.storage import Database
from localai_desktop.core.vault.keys import Vault
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.shell.settings_dialog import SettingsDialog
from localai_desktop.ui.shell.single_instance import ShowRequestListener
from localai_desktop.ui.shell.workspace_switching import WorkspaceSwitching
from localai_desktop.ui.welcome.guide import WelcomeGuide
from localai_desktop.ui.workspaces.dialogs import BusyDialog
from localai_desktop.ui.workspaces.idle_lock import IdleLock
from localai_desktop.ui.workspaces.tasks import KeyTask, run_aside
from localai_desktop.ui.workspaces.unlock_dialog import UnlockDialog, UnlockReason

log = logging.getLogger(__name__)

# An opening quicker than this shows no "Opening…" window (it would only flash).
OPENING_SHOWN_AFTER_MS = 400

_FIXED_REASONS = {
    "option": "This folder was given with --data-dir when the app was started, so it is "
    "changed there, not here.",
    "environment": f"This folder is set by the {DATA_DIR_ENV} environment variable, so it is "
    "changed there, not here.",
}


class AppSession(WorkspaceSwitching, QObject):
    """Owns the data folder in use, its database and its main window (one at a time)."""

    window_opened = Signal(object)
    """A main window is open on a data folder (also after a switch): (MainWindow)."""
    show_requested = Signal()
    """Another start of the app on this data folder asked to see the window, which was
    brought to the front: ()."""
    unlock_requested = Signal(object)
    """A protected workspace asks for its passphrase: (UnlockDialog, shown)."""
    locked = Signal()
    """The workspace was locked: its window, database and models are closed: ()."""
    quit_requested = Signal()
    """Quit was chosen where there is no main window to close (the unlock dialog): ()."""

    def __init__(
        self,
        explicit_data_dir: str | None = None,
        *,
        verbose: bool = False,
        config: AppConfigStore | None = None,
    ) -> None:
        super().__init__()
        self._explicit = explicit_data_dir
        self._verbose = verbose
        self.config = config or AppConfigStore()
        self._workspace: Workspace | None = None
        self.window: MainWindow | None = None
        self.log_file: Path | None = None
        self.guide: WelcomeGuide | None = None
        self._guide_folders: set[Path] = set()  # the data folders the open guide was shown in
        self.settings_dialog: SettingsDialog | None = None
        self._folder_lock: FileLock | None = None
        self._show_requests: ShowRequestListener | None = None
        self._root: DataPaths | None = None  # the data folder open now (its lock is held)
        self.unlock_dialog: UnlockDialog | None = None
        self.busy_dialog: BusyDialog | None = None
        self._task: KeyTask | None = None
        self._task_finished: Callable[[object, LocalAIError | None], None] | None = None
        self._closing = False
        self.idle_lock = IdleLock(self)
        self.idle_lock.idle.connect(self._on_idle_lock_idle)

    @property
    def workspace(self) -> Workspace:
        assert self._workspace is not None, "open() first"
        return self._workspace

    @property
    def paths(self) -> DataPaths:
        """The open workspace's paths; while locked, the data folder's."""
        if self._workspace is not None:
            return self._workspace.paths
        assert self._root is not None, "open() first"
        return self._root

    @property
    def db(self) -> Database | None:
        return self._workspace.db if self._workspace is not None else None

    # -- opening and closing ------------------------------------------------------------------

    def open(
        self,
        folder: Path | None = None,
        *,
        workspace: str | None = None,
        vault: Vault | None = None,
        off_thread: bool = True,
    ) -> MainWindow | None:
        """Open the data folder (the resolved one unless given) in a new main window, on the
        workspace named (else the one last used, else the default one).

        A protected workspace asks for its passphrase first: the unlock dialog is shown and
        None returned (the window opens once it is unlocked: `window_opened`). The workspace
        is opened off the GUI thread, which goes on meanwhile (`_open_aside`), unless
        `off_thread` is False (see `_reopen`). Raises OSError
        when the folder cannot be created, DataFolderInUseError when another start of the app
        has it open, and StorageError when the database cannot be opened; nothing is left
        open then. `vault`: the workspace's key, already unlocked (it reopens as it was).
        """
        paths = init_data_paths(folder if folder is not None else self._explicit)
        folder_lock = claim_for_desktop_app(paths)  # one app per folder: single_instance.py
        try:
            debug = self._verbose or AppSettingsStore(paths.settings).load().debug_logging
            self.log_file = configure_logging(paths.logs, "desktop", verbose=debug)
            log.info("Starting LocalAI Desktop %s with data in %s", __version__, paths.root)
            info = self._workspace_to_open(paths, workspace)
            opened = None
            if not info.protected or vault is not None:
                opened = (
                    self._open_aside(paths, info, vault)
                    if off_thread
                    else Workspace.open(paths.root, workspace=info.id, vault=vault)
                )
        except BaseException:
            folder_lock.release()
            raise
        self._root = paths
        self._folder_lock = folder_lock
        self._show_requests = ShowRequestListener(paths.root, self)
        self._show_requests.show_requested.connect(self._on_show_requests_show_requested)
        if opened is None:
            self._ask_passphrase(info, UnlockReason.START)
            return None
        return self._show_window(opened)

    def _open_aside(self, paths: DataPaths, info: WorkspaceInfo, vault: Vault | None) -> Workspace:
        """Open the workspace on its own thread (migrations, a protection stopped mid-way
        finished, SQLCipher's first read: seconds for a large one) while the GUI thread goes
        on; "Opening “NAME”…" shows if it takes a while. Raises what the opening raised."""

        shown: list[BusyDialog] = []

        def say_opening() -> None:
            if self.busy_dialog is None:
                busy = BusyDialog("Opening the workspace", f"Opening “{info.name}”…")
                busy.show()
                self.busy_dialog = busy
                shown.append(busy)

        try:
            opened = run_aside(
                lambda: Workspace.open(paths.root, workspace=info.id, vault=vault),
                when_slow=say_opening,
                slow_after_ms=OPENING_SHOWN_AFTER_MS,
            )
        finally:
            if shown and self.busy_dialog is shown[0]:
                self._close_busy_dialog()
        assert isinstance(opened, Workspace)
        return opened

    def _workspace_to_open(self, paths: DataPaths, wanted: str | None) -> WorkspaceInfo:
        directory = WorkspaceDirectory(paths)
        if wanted is not None:
            return directory.find(wanted)
        last = AppSettingsStore(paths.settings).load().last_workspace
        if last:
            try:
                return directory.find(last)
            except LocalAIError:
                log.info("The workspace used last is gone; opening the default one")
        return directory.find(None)

    def _show_window(self, workspace: Workspace) -> MainWindow:
        self._workspace = workspace
        window = MainWindow(workspace)
        window.welcome_guide_requested.connect(self._on_window_welcome_guide_requested)
        window.settings_requested.connect(self._on_window_settings_requested)
        window.server_settings_requested.connect(self._on_window_server_settings_requested)
        switcher = window.workspace_switcher
        switcher.switch_requested.connect(self._on_switcher_switch_requested)
        switcher.lock_requested.connect(self._on_switcher_lock_requested)
        switcher.protect_requested.connect(self._on_switcher_protect_requested)
        switcher.delete_requested.connect(self._on_switcher_delete_requested)
        self.window = window
        window.show()
        self._remember_last_workspace(workspace.info)
        self.idle_lock.set_minutes(workspace.settings.load().idle_lock_minutes)
        if workspace.protected:
            self.idle_lock.start()
        else:
            self.idle_lock.stop()
        self.window_opened.emit(window)
        return window

    def _remember_last_workspace(self, info: WorkspaceInfo) -> None:
        settings = AppSettingsStore(self.paths.settings)
        if settings.load().last_workspace != info.id:
            try:
                settings.update(last_workspace=info.id)
            except LocalAIError as error:
                log.warning("Could not remember the workspace used last: %s", error.message)

    def close(self) -> None:
        """Close the guide, the window (stopping its threads) and the database."""
        self._closing = True
        try:
            for dialog in (self.guide, self.settings_dialog, self.unlock_dialog):
                if dialog is not None:
                    dialog.close()
            self.unlock_dialog = None
            if self.guide is not None:
                self.guide.wait_for_threads()
            if self._task is not None:
                self._task.wait()
            if self.busy_dialog is not None:
                self.busy_dialog.hide()
                self.busy_dialog.deleteLater()
                self.busy_dialog = None
            self._close_window()
        finally:
            self._closing = False

    def _close_window(self) -> None:
        self._close_workspace()
        if self._show_requests is not None:
            self._show_requests.close()
            self._show_requests.deleteLater()
            self._show_requests = None
        if self._folder_lock is not None:
            self._folder_lock.release()  # last: the folder is free for another start now
            self._folder_lock = None

    def _close_workspace(self) -> None:
        """Close the window (its threads end, models are freed) and the workspace's database;
        the data folder stays this app's."""
        self.idle_lock.stop()
        if self.settings_dialog is not None:
            self.settings_dialog.close()
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None
        if self._workspace is not None:
            self._workspace.close()  # after the window: its threads have ended
            self._workspace = None

    def _reopen(self, folder: Path, before_open: Callable[[], None] | None = None) -> None:
        """Close the window and database, run `before_open`, open `folder` in a new window.

        The window reopens even when `before_open` fails (its error is raised after).
        """
        quit_on_close = QGuiApplication.quitOnLastWindowClosed()
        QGuiApplication.setQuitOnLastWindowClosed(False)  # the old window closes first
        # The same folder reopens on the same workspace, unlocked as it was.
        same = self._root is not None and Path(folder) == self._root.root
        current = self._workspace if same else None
        keep = (current.info.id, current.vault) if current is not None else (None, None)
        try:
            self._close_window()
            try:
                if before_open is not None:
                    before_open()
            finally:
                # On this thread: `_reopen` runs inside a dialog's handler (Settings, the
                # guide) that closing the window scheduled for deletion; the event loop that
                # an opening aside runs could delete it under that handler.
                self.open(folder, workspace=keep[0], vault=keep[1], off_thread=False)
        finally:
            QGuiApplication.setQuitOnLastWindowClosed(quit_on_close)

    # -- the welcome guide --------------------------------------------------------------------

    def welcome_needed(self) -> bool:
        """Whether the open data folder has not shown the welcome guide yet."""
        settings = AppSettingsStore(self.paths.settings).load()
        seen = welcome_guide_seen(settings, self.paths.root, self.config.load())
        if seen and settings.welcome_done is None:
            # The old app-wide flag meant this folder: move it here, so that it answers for
            # this folder alone from now on.
            self._remember_guide_seen([self.paths.root])
            try:
                self.config.update(welcome_done=False)
            except LocalAIError as error:
                log.warning("Could not clear the old app-wide guide flag: %s", error.message)
        return not seen

    def _remember_guide_seen(self, folders: Iterable[Path]) -> None:
        for folder in folders:
            try:
                AppSettingsStore.in_data_dir(folder).update(welcome_done=True)
            except LocalAIError as error:
                log.warning("Could not remember that the guide was seen: %s", error.message)

    def show_welcome_guide(self) -> WelcomeGuide:
        if self.guide is not None:
            self.guide.raise_()
            self.guide.activateWindow()
            return self.guide
        guide = WelcomeGuide(self)
        self._guide_folders = {self.paths.root}
        guide.setWindowModality(Qt.WindowModality.ApplicationModal)
        guide.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        guide.closed.connect(self._on_guide_closed)
        self.guide = guide
        guide.show()
        return guide

    @Slot(bool)
    def _on_guide_closed(self, _went_through: bool) -> None:
        # Seen in the folder it opened in, and in the one chosen in it (if another).
        self._remember_guide_seen(sorted(self._guide_folders | {self.paths.root}))
        if self.guide is not None:
            self.guide.wait_for_threads()
        self.guide = None

    # -- WelcomeHost ----------------------------------------------------------------------------

    def data_dir_fixed_reason(self) -> str | None:
        return _FIXED_REASONS.get(data_dir_source(self._explicit))

    def switch_data_folder(self, folder: Path) -> Path:
        """Use `folder` from now on (remembered for the next start) and reopen the window."""
        if self.data_dir_fixed_reason() is not None:
            raise LocalAIError("The data folder was set when the app was started.", "")
        target = data_folder_for(Path(folder))
        if target == self.paths.root:
            return target
        previous = self.paths.root
        init_data_paths(target)  # fails here, before anything is closed, if it cannot be made
        try:
            self._reopen(target)
        except (LocalAIError, OSError):
            # The folder holds a database this version cannot open: stay where we were.
            if self.window is None and self.unlock_dialog is None:
                self.open(previous, off_thread=False)  # as in _reopen
            raise
        self.config.update(data_dir=str(target))
        log.info("Switched the data folder from %s to %s", previous, target)
        return target

    def hub_client(self) -> HubClient:
        return self.workspace.hub_client(timeout_s=10.0)

    def start_download(self, request: DownloadRequest) -> int:
        return self._window().downloads.start(request)

    def add_download_listener(
        self, listener: Callable[[DownloadProgress], None]
    ) -> Callable[[], None]:
        return self._window().downloads.add_listener(listener)

    def start_model_import(self) -> None:
        self._window().start_model_import()

    def open_chat_when_a_model_arrives(self, model_id: int | None) -> None:
        self._window().open_chat_when_a_model_arrives(model_id)

    def chat_model(self) -> LocalModel | None:
        return self._window().chat_model()

    def _window(self) -> MainWindow:
        assert self.window is not None, "no window is open"
        return self.window

    # -- settings -------------------------------------------------------------------------------

    def show_settings(self) -> SettingsDialog:
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            return self.settings_dialog
        dialog = SettingsDialog(self, self._window())
        dialog.lock_settings.idle_minutes_changed.connect(
            self._on_settings_dialog_idle_minutes_changed
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(self._on_settings_dialog_destroyed)
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def delete_all_data(self, *, include_models: bool) -> ResetReport:
        """Stop everything, delete the data, and open a fresh window on the same folder."""
        paths = self.paths
        vault = self.workspace.default_vault
        outcome: list[ResetReport] = []

        def delete() -> None:
            outcome.append(delete_all_data(paths, include_models=include_models, vault=vault))

        self._reopen(paths.root, delete)
        return outcome[0]

    @Slot()
    def _on_show_requests_show_requested(self) -> None:
        if self.window is None and self.unlock_dialog is not None:
            self.unlock_dialog.raise_()
            self.unlock_dialog.activateWindow()
        if self.window is not None:
            if self.window.isMinimized():
                self.window.showNormal()
            self.window.raise_()
            self.window.activateWindow()
            log.info("Another start of the app on this folder brought the window to the front")
        self.show_requested.emit()

    @Slot()
    def _on_settings_dialog_destroyed(self) -> None:
        self.settings_dialog = None

    @Slot()
    def _on_window_welcome_guide_requested(self) -> None:
        self.show_welcome_guide()

    @Slot()
    def _on_window_settings_requested(self) -> None:
        self.show_settings()

    @Slot()
    def _on_window_server_settings_requested(self) -> None:
        self.show_settings().show_server_page()


def data_folder_for(chosen: Path) -> Path:
    """The folder to use when a person picks `chosen`: itself when it is empty or already a
    data folder, else a "LocalAI Desktop" folder inside it (never mixed with their files)."""
    chosen = chosen.expanduser().resolve()
    if not chosen.exists() or (chosen / DATABASE_FILE).exists():
        return chosen
    if any(chosen.iterdir()):
        return chosen / "LocalAI Desktop"
    return chosen
