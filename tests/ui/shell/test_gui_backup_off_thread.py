"""Settings > Export / Import of a protected workspace: age's scrypt never freezes the window."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.backup import is_encrypted_export
from localai_desktop.ui.shell.settings_dialog import SettingsDialog
from tests.ui.workspaces.workspace_support import (
    StartSession,
    make_workspace,
    open_last,
    session_starter,
    unlock,
)

PASSPHRASE = "correct horse battery"
# scrypt in age's format takes about a second here; the window must keep painting meanwhile.
LONGEST_STALL_S = 0.3


@pytest.fixture
def start(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StartSession]:
    with session_starter(qtbot, monkeypatch, tmp_path / "config") as starter:
        yield starter


class Heartbeat:
    """A 10 ms timer on the GUI thread: the longest gap between its beats is the worst stall."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.longest = 0.0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._beat)
        self.timer.start()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def stop(self) -> float:
        self.timer.stop()
        return self.longest


def test_an_encrypted_export_and_its_import_run_off_the_gui_thread(
    start: StartSession, data_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    info = make_workspace(data_dir, "Smith v Jones", PASSPHRASE)
    open_last(data_dir, info)
    session = start(data_dir)
    window = unlock(qtbot, session, PASSPHRASE)
    window.store.create("Privileged notes")
    backup = tmp_path / "backup.json"
    dialog = SettingsDialog(session, window, choose_file=lambda _parent, _mode, _path: backup)
    qtbot.addWidget(dialog)
    dialog.show()

    heartbeat = Heartbeat()
    dialog.export_button.click()
    assert dialog.is_busy() and dialog.backup_status.is_busy()
    assert dialog.backup_status.text() == "Encrypting and saving the backup…"
    assert not dialog.export_button.isEnabled() and not dialog.import_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)
    export_stall = heartbeat.stop()
    assert dialog.banner.text().startswith("Saved 1 conversation (0 messages)")
    assert "encrypted with this workspace's passphrase" in dialog.banner.text()
    assert is_encrypted_export(backup)
    assert dialog.export_button.isEnabled() and dialog.backup_status.isHidden()

    heartbeat = Heartbeat()
    dialog.import_button.click()
    assert dialog.backup_status.text() == "Reading the backup…"
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)
    import_stall = heartbeat.stop()
    assert dialog.banner.kind() == "info", dialog.banner.text()
    print(f"longest GUI stall: export {export_stall:.3f} s, import {import_stall:.3f} s")
    assert export_stall < LONGEST_STALL_S
    assert import_stall < LONGEST_STALL_S
    dialog.close()


def test_a_failed_export_says_why_and_gives_the_buttons_back(
    start: StartSession, data_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    session = start(data_dir)
    window = session.window
    assert window is not None
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where a folder should be")
    dialog = SettingsDialog(
        session, window, choose_file=lambda _parent, _mode, _path: blocked / "backup.json"
    )
    qtbot.addWidget(dialog)
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)
    assert dialog.banner.kind() == "error"
    assert dialog.export_button.isEnabled() and dialog.import_button.isEnabled()
    dialog.close()
