"""The workspace switcher: title, list, New / Rename / Delete / Protect, keeping matters apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory
from localai_desktop.core.storage.connections import is_plaintext_database
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.shell.session import AppSession
from localai_desktop.ui.widgets.passphrase_form import FORGOTTEN_PASSPHRASE_WARNING
from localai_desktop.ui.workspaces.dialogs import NewWorkspaceDialog, ProtectWorkspaceDialog
from tests.ui.shell.test_gui_app import unnamed_controls
from tests.ui.workspaces.workspace_support import (
    OPEN_TIMEOUT_MS,
    StartSession,
    make_workspace,
    session_starter,
    unlock,
)

PASSPHRASE = "correct horse battery"


@pytest.fixture
def start(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StartSession]:
    with session_starter(qtbot, monkeypatch, tmp_path / "config") as starter:
        yield starter


def window_of(session: AppSession) -> MainWindow:
    assert session.window is not None
    return session.window


def menu_entries(window: MainWindow) -> list[tuple[str, bool, bool]]:
    """(name, checked, has the lock icon) of each workspace listed in File > Workspace."""
    switcher = window.workspace_switcher
    switcher.menu.aboutToShow.emit()
    return [
        (a.text(), a.isChecked(), not a.icon().isNull())
        for a in switcher.menu.actions()
        if a.isCheckable()
    ]


def test_the_title_and_the_menu_show_the_workspaces_and_which_are_protected(
    start: StartSession, data_dir: Path
) -> None:
    make_workspace(data_dir, "Smith v Jones", PASSPHRASE)
    make_workspace(data_dir, "Acme audit")
    window = window_of(start(data_dir))

    assert window.windowTitle() == "Default — LocalAI Desktop"
    assert menu_entries(window) == [
        ("Default", True, False),
        ("Acme audit", False, False),
        ("Smith v Jones", False, True),
    ]
    switcher = window.workspace_switcher
    assert switcher.button.text() == "Default"
    # Not protected: there is nothing to lock, and the default workspace cannot be deleted.
    assert not switcher.lock_button.isVisible() and not switcher.lock_action.isEnabled()
    assert not switcher.delete_action.isEnabled()
    assert switcher.open_delete_confirmation() is None
    assert unnamed_controls(window.statusBar()) == []
    # The menu's items open the real dialogs, whose every control a screen reader can name.
    switcher.new_action.trigger()
    assert isinstance(switcher.dialog, NewWorkspaceDialog) and switcher.dialog.isVisible()
    assert unnamed_controls(switcher.dialog) == []
    switcher.dialog.cancel_button.click()
    switcher.protect_action.trigger()
    assert isinstance(switcher.dialog, ProtectWorkspaceDialog)
    assert unnamed_controls(switcher.dialog) == []
    switcher.dialog.cancel_button.click()


def test_new_workspace_is_protected_by_default_and_opens(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = start(data_dir)
    window = window_of(session)
    dialog = window.workspace_switcher.open_new_dialog()
    assert isinstance(dialog, NewWorkspaceDialog)
    assert dialog.protect.isChecked()
    assert dialog.form.warning.text() == FORGOTTEN_PASSPHRASE_WARNING
    assert "cannot be recovered" in dialog.form.warning.text()

    qtbot.keyClicks(dialog.name, "Smith v Jones")
    qtbot.keyClicks(dialog.form.passphrase, PASSPHRASE)
    qtbot.keyClicks(dialog.form.again, PASSPHRASE + "x")
    dialog.ok_button.click()
    assert dialog.banner.text() == (
        "The two passphrases are not the same. Type the same passphrase twice."
    )
    dialog.form.again.setText("short")
    dialog.form.passphrase.setText("short")
    dialog.ok_button.click()
    assert "too short" in dialog.banner.text()
    assert [w.name for w in WorkspaceDirectory(DataPaths(data_dir)).list()] == ["Default"]

    dialog.form.passphrase.setText(PASSPHRASE)
    dialog.form.again.setText(PASSPHRASE)
    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS) as opened:
        dialog.ok_button.click()
        assert dialog.status.is_busy()  # the key is made off the GUI thread

    new_window = opened.args[0]
    assert new_window.windowTitle() == "Smith v Jones — LocalAI Desktop"
    assert session.workspace.protected and session.workspace.info.name == "Smith v Jones"
    assert not is_plaintext_database(session.workspace.paths.database)
    assert new_window.workspace_switcher.lock_button.isVisibleTo(new_window)
    # The app opens it again at the next start.
    last = AppSettingsStore.in_data_dir(data_dir).load().last_workspace
    assert last == session.workspace.info.id


def test_a_taken_name_is_refused_plainly(start: StartSession, data_dir: Path) -> None:
    make_workspace(data_dir, "Acme audit")
    dialog = window_of(start(data_dir)).workspace_switcher.open_new_dialog()
    dialog.name.setText("acme  AUDIT")
    dialog.protect.setChecked(False)
    assert not dialog.form.isEnabled()
    dialog.ok_button.click()
    assert dialog.banner.text() == (
        "A workspace named 'acme AUDIT' already exists. Choose another name."
    )


def test_rename_changes_the_title_and_the_list(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    make_workspace(data_dir, "Acme audit")
    session = start(data_dir)
    window = window_of(session)
    switcher = window.workspace_switcher
    switcher.menu.aboutToShow.emit()
    acme = next(a for a in switcher.menu.actions() if a.text() == "Acme audit")
    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS):
        acme.trigger()
    window = window_of(session)

    dialog = window.workspace_switcher.open_rename_dialog()
    dialog.name.setText("Acme audit 2026")
    dialog.ok_button.click()

    assert window.windowTitle() == "Acme audit 2026 — LocalAI Desktop"
    assert [n for n, _c, _l in menu_entries(window)] == ["Default", "Acme audit 2026"]


def test_delete_names_what_is_lost_and_opens_the_default_workspace(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    info = make_workspace(data_dir, "Smith v Jones", PASSPHRASE)
    session = start(data_dir)
    session.switch_workspace(info)
    window = unlock(qtbot, session, PASSPHRASE)
    window.store.create("Meeting notes")

    box = window.workspace_switcher.open_delete_confirmation()
    assert box is not None
    assert "Smith v Jones" in box.text()
    assert "conversations" in box.informativeText() and "cannot be undone" in box.informativeText()
    assert "key is destroyed first" in box.informativeText()
    keep = next(b for b in box.buttons() if b.text() == "Keep it")
    keep.click()
    assert session.window is window and info.folder.exists()

    box = window.workspace_switcher.open_delete_confirmation()
    assert box is not None
    delete = next(
        b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole
    )
    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS):
        delete.click()
        assert session.busy_dialog is not None  # removing the files runs off the GUI thread

    assert window_of(session).windowTitle() == "Default — LocalAI Desktop"
    assert not info.folder.exists()
    assert [w.name for w in WorkspaceDirectory(DataPaths(data_dir)).list()] == ["Default"]


def test_switching_keeps_each_workspaces_conversations_apart(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    acme = make_workspace(data_dir, "Acme audit")
    session = start(data_dir)
    window = window_of(session)
    window.store.create("Default matter")
    window.chat_tab.refresh_conversations()

    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS):
        session.switch_workspace(acme)
    window = window_of(session)
    assert window.store.list() == []
    assert window.chat_tab.conversations.list.count() == 0
    window.store.create("Acme matter")

    default = WorkspaceDirectory(DataPaths(data_dir)).find(None)
    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS):
        session.switch_workspace(default)
    titles = [c.title for c in window_of(session).store.list()]
    assert titles == ["Default matter"]


def test_protect_encrypts_the_open_workspace_without_freezing_the_window(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = start(data_dir)
    window = window_of(session)
    window.store.create("Kept through protection")
    dialog = window.workspace_switcher.open_protect_dialog()
    assert isinstance(dialog, ProtectWorkspaceDialog)
    assert "cannot be recovered" in dialog.form.warning.text()
    dialog.form.passphrase.setText(PASSPHRASE)
    dialog.form.again.setText(PASSPHRASE)

    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS):
        dialog.ok_button.click()
        # The work runs on its own thread; meanwhile a busy window says what happens.
        assert session.busy_dialog is not None and session.busy_dialog.isVisible()
        assert session.busy_dialog.status.is_busy()

    assert session.busy_dialog is None
    assert session.workspace.protected
    assert not is_plaintext_database(data_dir / "localai.db")
    assert [c.title for c in window_of(session).store.list()] == ["Kept through protection"]
    assert window_of(session).workspace_switcher.lock_action.isEnabled()
