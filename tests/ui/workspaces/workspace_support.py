"""Helpers for the workspace tests: sessions that may start locked, quick keys, a keychain."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.config import AppConfigStore
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory, WorkspaceInfo
from localai_desktop.core.vault.keys import ScryptCost
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.shell.session import AppSession
from localai_desktop.ui.workspaces.unlock_dialog import UnlockDialog
from tests.support.gui_support import no_thread_left_running
from tests.support.keychain_support import MemoryKeyring as MemoryKeyring
from tests.support.keychain_support import memory_keyring as memory_keyring
from tests.support.session_support import restored_logging

OPEN_TIMEOUT_MS = 20_000
# Made by the tests directly: a cheaper scrypt, so setting up does not dominate the run.
QUICK_COST = ScryptCost(n=2**14)
StartSession = Callable[[Path], AppSession]


@contextlib.contextmanager
def session_starter(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, config_dir: Path
) -> Iterator[StartSession]:
    """Starts AppSessions as the app does (a protected workspace shows its unlock dialog)."""
    monkeypatch.setenv("LOCALAI_CONFIG_DIR", str(config_dir))
    opened: list[AppSession] = []

    def start(data_dir: Path) -> AppSession:
        session = AppSession(str(data_dir), config=AppConfigStore(config_dir / "app.json"))
        opened.append(session)
        window = session.open()
        if window is not None:
            qtbot.waitExposed(window)
        return session

    with restored_logging(), no_thread_left_running(monkeypatch):
        try:
            yield start
        finally:
            for session in opened:
                session.close()
            delete_closed_widgets()


def make_workspace(data_dir: Path, name: str, passphrase: str | None = None) -> WorkspaceInfo:
    info = WorkspaceDirectory(init_data_paths(data_dir)).create(name)
    if passphrase is not None:
        info.key_file.create(passphrase, cost=QUICK_COST)
    return info


def open_last(data_dir: Path, info: WorkspaceInfo) -> None:
    """Make `info` the workspace the app opens at its next start."""
    from localai_desktop.core.datafolder.settings import AppSettingsStore

    AppSettingsStore.in_data_dir(data_dir).update(last_workspace=info.id)


def unlock_dialog(qtbot: QtBot, session: AppSession) -> UnlockDialog:
    """The unlock dialog, once it has looked in the keychain and waits for a passphrase."""
    qtbot.waitUntil(lambda: session.unlock_dialog is not None, timeout=OPEN_TIMEOUT_MS)
    dialog = session.unlock_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.unlock_button.isEnabled, timeout=OPEN_TIMEOUT_MS)
    return dialog


def unlock(qtbot: QtBot, session: AppSession, passphrase: str) -> MainWindow:
    dialog = unlock_dialog(qtbot, session)
    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS) as opened:
        qtbot.keyClicks(dialog.passphrase, passphrase)
        dialog.unlock_button.click()
    window = opened.args[0]
    assert isinstance(window, MainWindow)
    qtbot.waitExposed(window)
    return window


def delete_closed_widgets() -> None:
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def texts_on_screen() -> list[str]:
    """Every text any live widget of the app holds (labels, text boxes, documents)."""
    delete_closed_widgets()
    found: list[str] = []
    for widget in QApplication.allWidgets():
        found.extend(_texts(widget))
    return found


def _texts(widget: QWidget) -> list[str]:
    texts = []
    for reader in ("toPlainText", "text", "windowTitle"):
        read = getattr(widget, reader, None)
        if callable(read):
            try:
                value = read()
            except TypeError:
                continue
            if isinstance(value, str):
                texts.append(value)
    return texts
