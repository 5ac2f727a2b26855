"""Opening a protected workspace (finishing a protection stopped mid-way) never freezes the app."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.storage.connections import is_plaintext_database
from localai_desktop.ui.shell.main_window import MainWindow
from tests.ui.workspaces.workspace_support import (
    OPEN_TIMEOUT_MS,
    QUICK_COST,
    StartSession,
    make_workspace,
    open_last,
    session_starter,
    unlock_dialog,
)

PASSPHRASE = "correct horse battery"
MESSAGES = 1_000


@pytest.fixture
def start(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StartSession]:
    with session_starter(qtbot, monkeypatch, tmp_path / "config") as starter:
        yield starter


def _plaintext_workspace_with_a_key(data_dir: Path) -> Path:
    """A workspace whose protection was stopped after its key was written (the app killed):
    the next unlock encrypts its database, which takes a while with many messages."""
    info = make_workspace(data_dir, "Smith v Jones")
    with Workspace.open(data_dir, workspace=info.id) as ws:
        conversation = ws.conversations.create("Letters")
        raw = ws.db.connect_plain()
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO messages (conversation_id, role, content, status, provenance, "
            "created_at, updated_at) VALUES (?, 'user', ?, 'complete', '{}', "
            "'2026-01-01', '2026-01-01')",
            [(conversation.id, f"Letter {i} " + "words " * 40) for i in range(MESSAGES)],
        )
        raw.execute("COMMIT")
        raw.close()
    info.key_file.create(PASSPHRASE, cost=QUICK_COST)
    open_last(data_dir, info)
    return DataPaths(data_dir).for_workspace(info.folder).database


def test_unlocking_finishes_the_protection_without_freezing_the_window(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    database = _plaintext_workspace_with_a_key(data_dir)
    assert is_plaintext_database(database)
    session = start(data_dir)
    dialog = unlock_dialog(qtbot, session)

    beats: list[float] = [time.perf_counter()]
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    heartbeat.start(10)
    opened_at: list[float] = []
    session.window_opened.connect(lambda _window: opened_at.append(time.perf_counter()))
    started = time.perf_counter()
    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS * 3) as opened:
        qtbot.keyClicks(dialog.passphrase, PASSPHRASE)
        dialog.unlock_button.click()
        qtbot.waitUntil(lambda: session.busy_dialog is not None, timeout=OPEN_TIMEOUT_MS)
        assert session.busy_dialog.status.is_busy()  # says what happens meanwhile
    heartbeat.stop()
    window = opened.args[0]
    assert isinstance(window, MainWindow)
    # Until the window is built (which is GUI work by nature): the opening itself ran aside.
    until_window = [b for b in beats if b <= opened_at[0]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(until_window)]
    longest = max(gaps)
    took = opened_at[0] - started
    print(f"opening took {took:.2f} s; longest GUI stall {longest:.3f} s")
    assert not is_plaintext_database(database)
    assert session.workspace.protected
    assert session.busy_dialog is None
    assert len(window.store.get(window.store.list()[0].id).messages) == MESSAGES
    assert longest < took / 2
