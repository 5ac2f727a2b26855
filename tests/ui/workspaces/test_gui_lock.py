"""Unlocking and locking: the passphrase, the keychain, Ctrl+L, the idle lock, a live answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder import keychain
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.ui.shell.session import AppSession
from localai_desktop.ui.workspaces.unlock_dialog import UnlockReason
from tests.support.gui_support import BatchRecorder
from tests.support.session_support import ANSWER_TIMEOUT_MS, import_model
from tests.ui.shell.test_gui_app import unnamed_controls
from tests.ui.workspaces.workspace_support import (
    OPEN_TIMEOUT_MS,
    StartSession,
    delete_closed_widgets,
    make_workspace,
    memory_keyring,
    open_last,
    session_starter,
    texts_on_screen,
    unlock,
    unlock_dialog,
)

PASSPHRASE = "correct horse battery"
SECRET = "Zanzibarquux"


@pytest.fixture
def start(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StartSession]:
    with session_starter(qtbot, monkeypatch, tmp_path / "config") as starter:
        yield starter


def locked_start(start: StartSession, data_dir: Path) -> AppSession:
    info = make_workspace(data_dir, "Smith v Jones", PASSPHRASE)
    open_last(data_dir, info)
    session = start(data_dir)
    assert session.window is None  # nothing of the workspace is open before the passphrase
    return session


def test_the_app_opens_the_workspace_used_last_and_asks_its_passphrase(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = locked_start(start, data_dir)
    dialog = unlock_dialog(qtbot, session)
    assert dialog.reason == UnlockReason.START
    assert dialog.heading.text() == "“Smith v Jones” is protected with a passphrase."
    assert dialog.leave_button.text() == "Quit"
    assert dialog.other_button is not None  # or open another workspace instead
    assert unnamed_controls(dialog) == []

    window = unlock(qtbot, session, PASSPHRASE)

    assert window.windowTitle() == "Smith v Jones — LocalAI Desktop"
    assert session.workspace.protected
    assert session.unlock_dialog is None


def test_a_wrong_passphrase_gets_a_plain_message_and_changes_nothing(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = locked_start(start, data_dir)
    dialog = unlock_dialog(qtbot, session)
    key_before = (data_dir / "workspaces").rglob("key.json").__next__().read_bytes()

    qtbot.keyClicks(dialog.passphrase, "not the passphrase")
    qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Return)
    assert dialog.status.is_busy() and not dialog.unlock_button.isEnabled()  # off the GUI thread
    qtbot.waitUntil(dialog.unlock_button.isEnabled, timeout=OPEN_TIMEOUT_MS)

    assert dialog.banner.text() == (
        "That passphrase is not the one this workspace was protected with. Check Caps Lock "
        "and the keyboard layout, and try again. Nothing was changed."
    )
    assert session.window is None and dialog.isVisible()
    assert next((data_dir / "workspaces").rglob("key.json")).read_bytes() == key_before
    dialog.passphrase.clear()
    window = unlock(qtbot, session, PASSPHRASE)
    assert window.windowTitle().startswith("Smith v Jones")


def test_open_another_workspace_from_the_unlock_dialog(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = locked_start(start, data_dir)
    dialog = unlock_dialog(qtbot, session)
    assert dialog.other_button is not None
    menu = dialog.other_button.menu()
    assert [a.text() for a in menu.actions()] == ["Default"]
    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS):
        menu.actions()[0].trigger()
    assert session.workspace.info.is_default


def test_quit_in_the_unlock_dialog_asks_the_app_to_quit(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = locked_start(start, data_dir)
    dialog = unlock_dialog(qtbot, session)
    with qtbot.waitSignal(session.quit_requested, timeout=5_000):
        dialog.leave_button.click()


def test_a_remembered_passphrase_opens_it_without_asking(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    with memory_keyring() as backend:
        session = locked_start(start, data_dir)
        dialog = unlock_dialog(qtbot, session)
        dialog.remember.setChecked(True)
        unlock(qtbot, session, PASSPHRASE)
        assert list(backend.saved.values()) == [PASSPHRASE]
        session.close()

        again = AppSession(str(data_dir), config=session.config)
        try:
            with qtbot.waitSignal(again.window_opened, timeout=OPEN_TIMEOUT_MS):
                assert again.open() is None  # the keychain's passphrase is tried off the GUI
            assert again.workspace.protected
        finally:
            again.close()


def test_ctrl_l_locks_clears_the_window_and_asks_for_the_passphrase_again(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    with memory_keyring():
        session = locked_start(start, data_dir)
        dialog = unlock_dialog(qtbot, session)
        dialog.remember.setChecked(True)  # even remembered, a lock asks for the passphrase
        window = unlock(qtbot, session, PASSPHRASE)
        conversation = window.store.create(f"About {SECRET}")
        window.store.add_message(conversation.id, "user", f"What did {SECRET} say?")
        window.chat_tab.refresh_conversations()
        window.chat_tab.select_conversation(conversation.id)
        assert any(SECRET in text for text in texts_on_screen())
        assert window.workspace_switcher.lock_button.isVisible()

        with qtbot.waitSignal(session.locked, timeout=OPEN_TIMEOUT_MS):
            qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)

        assert session.window is None
        dialog = unlock_dialog(qtbot, session)
        assert dialog.reason == UnlockReason.LOCKED
        assert dialog.heading.text() == "“Smith v Jones” is locked."
        assert not any(SECRET in text for text in texts_on_screen())
        qtbot.wait(300)
        assert session.window is None  # the keychain did not open it
        window = unlock(qtbot, session, PASSPHRASE)
        assert window.store.get(conversation.id).messages[0].content.endswith("say?")


def test_nobody_at_the_keyboard_locks_the_workspace(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    assert AppSettingsStore.in_data_dir(data_dir).load().idle_lock_minutes == 15
    session = locked_start(start, data_dir)
    window = unlock(qtbot, session, PASSPHRASE)
    assert session.idle_lock.interval_ms() == 15 * 60_000 and session.idle_lock.is_armed()
    session.idle_lock.set_interval_ms(1_000)

    # Input keeps it open...
    started = time.monotonic()
    while time.monotonic() - started < 1.5:
        qtbot.keyClick(window.chat_tab.composer.input, Qt.Key.Key_A)
        qtbot.wait(200)
    assert session.window is window
    # ...and a second without any locks it.
    with qtbot.waitSignal(session.locked, timeout=5_000):
        pass
    assert session.window is None
    assert unlock_dialog(qtbot, session).reason == UnlockReason.LOCKED
    assert not session.idle_lock.is_armed()


def test_the_idle_lock_closes_a_dialog_left_open_first(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = locked_start(start, data_dir)
    window = unlock(qtbot, session, PASSPHRASE)
    dialog = window.workspace_switcher.open_rename_dialog()
    box = QMessageBox(QMessageBox.Icon.Question, "Question", "Left open", parent=dialog)
    answers: list[int] = []
    session.idle_lock.set_interval_ms(500)

    def ask() -> None:  # a question waiting in its own event loop, as QFileDialog does
        answers.append(box.exec())

    QTimer.singleShot(0, ask)
    with qtbot.waitSignal(session.locked, timeout=10_000):
        pass
    qtbot.waitUntil(lambda: bool(answers), timeout=5_000)
    assert session.window is None and session.unlock_dialog is not None


def test_a_workspace_without_passphrase_has_no_idle_lock(
    start: StartSession, data_dir: Path
) -> None:
    session = start(data_dir)
    assert session.window is not None
    assert not session.idle_lock.is_armed()
    session.lock()  # nothing to lock it with
    assert session.window is not None


def test_locking_while_an_answer_streams_keeps_what_was_written(
    start: StartSession, data_dir: Path, tiny_chat_model: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, tiny_chat_model, "Tiny")
    session = locked_start(start, data_dir)
    window = unlock(qtbot, session, PASSPHRASE)
    tab = window.chat_tab
    tab.settings_panel.set_settings(
        GenerationSettings(max_tokens=20000, context_length=32768, seed=1)
    )
    recorder = BatchRecorder(window)
    with qtbot.waitSignal(recorder.batch_shown, timeout=ANSWER_TIMEOUT_MS):
        qtbot.keyClicks(tab.composer.input, "Write a long letter")
        qtbot.keyClick(tab.composer.input, Qt.Key.Key_Return)
    conversation_id = tab.current_conversation_id()
    worker_thread = window.worker.thread()
    # Batches still queued for the recorder must not reach views the lock deletes: gone with it.
    recorder.deleteLater()
    delete_closed_widgets()

    session.lock()

    assert worker_thread.isFinished()  # the model and its context are gone with the worker
    delete_closed_widgets()
    window = unlock(qtbot, session, PASSPHRASE)
    answer = window.store.get(conversation_id).messages[-1]
    assert answer.role == "assistant" and answer.status == "stopped"
    assert answer.content


def test_settings_show_the_protection_and_set_the_idle_time(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = locked_start(start, data_dir)
    unlock(qtbot, session, PASSPHRASE)
    dialog = session.show_settings()
    lock = dialog.lock_settings
    assert "is protected with a passphrase" in lock.protection.text()
    assert lock.idle_combo.currentText() == "After 15 minutes"

    lock.idle_combo.setCurrentIndex(lock.idle_combo.findText("Never"))

    assert AppSettingsStore.in_data_dir(data_dir).load().idle_lock_minutes == 0
    assert session.idle_lock.interval_ms() == 0 and not session.idle_lock.is_armed()
    lock.idle_combo.setCurrentIndex(lock.idle_combo.findText("After 5 minutes"))
    assert session.idle_lock.interval_ms() == 5 * 60_000 and session.idle_lock.is_armed()


def test_change_passphrase_needs_the_current_one(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = locked_start(start, data_dir)
    window = unlock(qtbot, session, PASSPHRASE)
    dialog = window.workspace_switcher.open_change_passphrase_dialog()
    dialog.current.setText("wrong one entirely")
    dialog.form.passphrase.setText("a brand new phrase")
    dialog.form.again.setText("a brand new phrase")
    dialog.ok_button.click()
    qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=OPEN_TIMEOUT_MS)
    assert dialog.banner.text().startswith("That passphrase is not the one")

    dialog.current.setText(PASSPHRASE)
    with qtbot.waitSignal(dialog.passphrase_changed, timeout=OPEN_TIMEOUT_MS):
        dialog.ok_button.click()
    info = session.workspace.info
    assert keychain.remembered(DataPaths(data_dir).root, info.id) is None
    session.lock()
    dialog = unlock_dialog(qtbot, session)
    qtbot.keyClicks(dialog.passphrase, PASSPHRASE)
    dialog.unlock_button.click()
    qtbot.waitUntil(lambda: bool(dialog.banner.text()), timeout=OPEN_TIMEOUT_MS)
    dialog.passphrase.clear()
    unlock(qtbot, session, "a brand new phrase")
