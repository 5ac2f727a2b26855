"""Helpers for the desktop app's server tests: a real window serving on a free port."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import openai
from PySide6.QtCore import QObject, Qt, QTimer, Slot
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


def cpu_wait_ms() -> float:
    """How long the calling thread has waited for a CPU (runnable, not running), in ms: 0
    where the system does not tell (Linux does, in /proc)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as stats:
            return int(stats.read().split()[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass(frozen=True)
class Stall:
    gap_ms: float
    """Time between two ticks of the heartbeat."""
    cpu_wait_ms: float
    """Of that, time the thread was ready but the system ran other work (other programs on a
    busy machine): a freeze the app did not cause."""

    @property
    def app_ms(self) -> float:
        """The part of the gap the app itself caused (work or waiting on the GUI thread)."""
        return self.gap_ms - self.cpu_wait_ms


class Heartbeat(QObject):
    """A precise 5 ms timer on the GUI thread: the longest gap between its ticks is the
    longest time the window could not react (a freeze a person would notice). Each gap also
    says how much of it the thread waited for a CPU that other programs held."""

    def __init__(self, interval_ms: int = 5) -> None:
        super().__init__()
        self._ticks: list[tuple[float, float]] = []
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        self._ticks = [(time.perf_counter() * 1000, cpu_wait_ms())]
        self._timer.start()

    def stop(self) -> list[Stall]:
        """The gaps between ticks."""
        self._timer.stop()
        self._on_timer_timeout()
        return [Stall(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(self._ticks)]

    @Slot()
    def _on_timer_timeout(self) -> None:
        self._ticks.append((time.perf_counter() * 1000, cpu_wait_ms()))
