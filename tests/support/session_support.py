"""Helpers for tests of the whole app session: real windows, a real chat, logging put back."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import Message
from localai_desktop.core.common.logs import set_debug_logging
from localai_desktop.core.datafolder.config import AppConfigStore
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.shell.session import AppSession
from tests.support.gui_support import no_thread_left_running

ANSWER_TIMEOUT_MS = 120_000
OpenSession = Callable[..., AppSession]


@contextlib.contextmanager
def restored_logging() -> Iterator[None]:
    """Undo configure_logging(): tests must not leave handlers or debug logging behind."""
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()
        set_debug_logging(False)
        root.setLevel(level)


@contextlib.contextmanager
def session_opener(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, config_dir: Path
) -> Iterator[OpenSession]:
    """Opens AppSessions with their own app config folder; closes them all at the end."""
    monkeypatch.setenv("LOCALAI_CONFIG_DIR", str(config_dir))
    opened: list[AppSession] = []

    def open_session(data_dir: Path | None = None, **kwargs: object) -> AppSession:
        session = AppSession(
            str(data_dir) if data_dir is not None else None,
            config=AppConfigStore(config_dir / "app.json"),
            **kwargs,  # type: ignore[arg-type]
        )
        opened.append(session)
        session.open()
        assert session.window is not None
        qtbot.waitExposed(session.window)
        return session

    with restored_logging(), no_thread_left_running(monkeypatch):
        try:
            yield open_session
        finally:
            for session in opened:
                session.close()


def import_model(data_dir: Path, path: Path, name: str, *, copy: bool = False) -> int:
    db = Database(init_data_paths(data_dir).database)
    try:
        registry = ModelRegistry(db, data_dir / "models")
        return registry.import_model(path, name=name, copy=copy, probe=False).id
    finally:
        db.close()


def chat(qtbot: QtBot, window: MainWindow, text: str, *, max_tokens: int = 40) -> Message:
    """Type a message into the real input, press Enter and wait for the saved answer."""
    tab = window.chat_tab
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=max_tokens, seed=4))
    box = tab.composer.input
    box.setFocus()
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        qtbot.keyClicks(box, text)
        qtbot.keyClick(box, Qt.Key.Key_Return)
    message = finished.args[0]
    assert isinstance(message, Message)
    return message
