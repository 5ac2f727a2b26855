"""The first open of a workspace at start runs off the GUI thread: the app keeps answering,
says "Opening …" when it takes a while, and a failure is said plainly."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from localai_desktop.core.common.errors import StorageError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.storage.db import Database
from localai_desktop.ui.app import main
from localai_desktop.ui.shell.session import AppSession
from tests.support.session_support import OpenSession, session_opener

SLOW_S = 1.5


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def _slow_migrations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrations that take SLOW_S (a large workspace after an update of the app)."""
    migrate = Database._migrate

    def slow(self: Database, target_version: int) -> None:
        time.sleep(SLOW_S)
        migrate(self, target_version)

    monkeypatch.setattr(Database, "_migrate", slow)


def test_a_slow_open_at_start_keeps_the_app_responsive_and_says_what_it_does(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    Workspace.open(data_dir).close()
    _slow_migrations(monkeypatch)
    beats: list[float] = []
    busy_texts: list[str] = []

    def beat() -> None:
        beats.append(time.perf_counter())
        for session in sessions:
            if session.busy_dialog is not None and session.busy_dialog.isVisible():
                busy_texts.append(session.busy_dialog.text.text())

    sessions: list[AppSession] = []
    original_init = AppSession.__init__

    def remembered_init(self: AppSession, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]
        sessions.append(self)

    monkeypatch.setattr(AppSession, "__init__", remembered_init)
    heartbeat = QTimer()
    heartbeat.timeout.connect(beat)
    heartbeat.start(10)
    started = time.perf_counter()
    session = open_session(data_dir)  # returns once the window is open, as before
    took = time.perf_counter() - started
    heartbeat.stop()
    assert session.window is not None and session.window.isVisible()
    assert took >= SLOW_S
    opening = [b for b in beats if b >= started]
    longest = max(later - earlier for earlier, later in itertools.pairwise(opening))
    print(f"opening took {took:.2f} s; longest GUI stall {longest:.3f} s")
    assert longest < 0.5  # the GUI thread kept processing events all along
    assert "Opening “Default”…" in busy_texts
    assert session.busy_dialog is None  # gone with the window shown


def test_an_open_that_fails_at_start_says_what_happened_and_what_to_do(
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    Workspace.open(data_dir).close()
    monkeypatch.setenv("LOCALAI_CONFIG_DIR", str(tmp_path / "config"))

    def broken(self: Database, target_version: int) -> None:
        raise StorageError(
            "The database could not be updated to this version of the app.",
            "Make room on the disk and start the app again.",
        )

    monkeypatch.setattr(Database, "_migrate", broken)
    from tests.support.session_support import restored_logging

    with restored_logging():
        code = main(["--data-dir", str(data_dir)])
    assert code != 0
    err = capsys.readouterr().err
    assert "could not be updated" in err and "start the app again" in err
    # The folder is free again: nothing was left open.
    monkeypatch.undo()
    monkeypatch.setenv("LOCALAI_CONFIG_DIR", str(tmp_path / "config"))
    Workspace.open(data_dir).close()
