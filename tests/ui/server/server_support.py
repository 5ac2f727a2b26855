"""Helpers for the desktop app's server tests: a real window serving on a free port."""

from __future__ import annotations

import socket
from pathlib import Path

import openai
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import OpenWindow
from tests.support.session_support import import_model

START_TIMEOUT_MS = 15_000


def free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def switch_server_on(data_dir: Path, **settings: object) -> int:
    """Save "server on" (as the settings page does) on a free port; returns the port."""
    port = free_port()
    AppSettingsStore.in_data_dir(data_dir).update(server_enabled=True, server_port=port, **settings)
    return port


def serving_window(
    open_window: OpenWindow,
    qtbot: QtBot,
    data_dir: Path,
    models: dict[str, Path],
    **settings: object,
) -> MainWindow:
    """A real window on a data folder with `models`, its server switched on and listening."""
    for name, path in models.items():
        import_model(data_dir, path, name)
    switch_server_on(data_dir, **settings)
    window = open_window(data_dir)
    qtbot.waitUntil(lambda: window.server.state.running, timeout=START_TIMEOUT_MS)
    return window


def client_of(
    window: MainWindow, *, token: str | None = None, timeout: float = 60.0
) -> openai.OpenAI:
    """The official OpenAI client pointed at the window's server, with its access token."""
    address = window.server.state.address
    assert address is not None, "the server does not run"
    return openai.OpenAI(
        base_url=address.base_url,
        api_key=token if token is not None else window.server.access_token(),
        max_retries=0,
        timeout=timeout,
    )
