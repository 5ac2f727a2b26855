"""Workspace menu: Save a recovery file (its code shown once), Forget the remembered passphrase."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder import keychain
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.ui.workspaces.recovery import CODE_WARNING, RecoveryFileDialog
from tests.ui.workspaces.workspace_support import (
    StartSession,
    make_workspace,
    memory_keyring,
    open_last,
    session_starter,
    unlock,
)

PASSPHRASE = "correct horse battery"
NEW_PASSPHRASE = "staple battery horse"


@pytest.fixture
def start(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StartSession]:
    with session_starter(qtbot, monkeypatch, tmp_path / "config") as starter:
        yield starter


def test_a_recovery_file_is_saved_off_the_gui_thread_and_its_code_shown_once(
    start: StartSession, data_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    info = make_workspace(data_dir, "Clinic", PASSPHRASE)
    open_last(data_dir, info)
    session = start(data_dir)
    window = unlock(qtbot, session, PASSPHRASE)
    switcher = window.workspace_switcher
    switcher.menu.aboutToShow.emit()
    assert switcher.recovery_action.text() == "Save a &recovery file…"
    target = tmp_path / "clinic-recovery.json"
    dialog = RecoveryFileDialog(info, window, choose_file=lambda _parent, _path: target)
    qtbot.addWidget(dialog)
    dialog.show()

    dialog.passphrase.setText("not the passphrase")
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)
    assert "passphrase" in dialog.banner.text().lower()  # said plainly; no file written
    assert not target.exists()

    gaps: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.timeout.connect(beat)
    heartbeat.start(10)
    dialog.passphrase.setText(PASSPHRASE)
    dialog.ok_button.click()
    assert dialog.is_busy() and dialog.status.is_busy()  # scrypt runs on its own thread
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)
    heartbeat.stop()
    print(f"longest GUI stall while saving the recovery file: {max(gaps):.3f} s")
    assert max(gaps) < 0.3

    code = dialog.code.text()
    assert target.is_file() and len(code.split("-")) == 6
    assert dialog.code_warning.text() == CODE_WARNING
    assert "shown only this once" in CODE_WARNING
    assert dialog.passphrase.text() == ""
    assert dialog.ok_button.text() == "I have written the code down"
    dialog.grab().save(str(tmp_path / "recovery-code.png"))  # looked at while writing this
    dialog.ok_button.click()
    assert dialog.code.text() == ""  # gone with the dialog
    session.close()

    # The file and the code replace a forgotten passphrase.
    info.key_file.recover(target, code, NEW_PASSPHRASE)
    with Workspace.open(data_dir, workspace="Clinic", passphrase=lambda _i: NEW_PASSPHRASE):
        pass
    with pytest.raises(LocalAIError):
        info.key_file.unlock(PASSPHRASE)


def test_forget_the_remembered_passphrase_removes_it_from_the_keychain(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    with memory_keyring() as saved:
        info = make_workspace(data_dir, "Clinic", PASSPHRASE)
        open_last(data_dir, info)
        session = start(data_dir)
        window = unlock(qtbot, session, PASSPHRASE)
        keychain.remember(data_dir, info.id, PASSPHRASE)
        assert keychain.remembered(data_dir, info.id) == PASSPHRASE
        switcher = window.workspace_switcher
        switcher.menu.aboutToShow.emit()

        switcher.forget_action.trigger()

        assert keychain.remembered(data_dir, info.id) is None
        assert saved.saved == {}
        said = window.statusBar().currentMessage()
        assert said.startswith("This computer no longer remembers the passphrase of “Clinic”")
        assert switcher.forget_remembered_passphrase() == (
            "This computer did not remember the passphrase of “Clinic”."
        )
