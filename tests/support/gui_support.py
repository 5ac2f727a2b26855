"""Helpers for the GUI tests: real windows on temp data folders, and no thread left behind."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.ui.chat.message_view import MessageView
from localai_desktop.ui.chat.tab import ChatTab
from localai_desktop.ui.shell.main_window import MainWindow

OpenWindow = Callable[[Path], MainWindow]


@contextlib.contextmanager
def no_thread_left_running(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[QThread]]:
    """Notes every QThread started inside; fails if one still runs at the end (as napari does)."""
    started: list[QThread] = []
    original_start = QThread.start

    def start(thread: QThread, *args: object) -> None:
        started.append(thread)
        original_start(thread, *args)

    monkeypatch.setattr(QThread, "start", start)
    yield started
    running = [t for t in started if shiboken6.isValid(t) and t.isRunning()]
    if running:
        pytest.fail(f"threads still running after the test: {running}")


@contextlib.contextmanager
def window_opener(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    """Opens real main windows on data folders; closes them and their databases at the end."""
    opened: list[tuple[MainWindow, Workspace]] = []

    def open_window(data_dir: Path) -> MainWindow:
        workspace = Workspace.open(data_dir)
        window = MainWindow(workspace)
        opened.append((window, workspace))
        window.show()
        qtbot.waitExposed(window)
        return window

    with no_thread_left_running(monkeypatch):
        try:
            yield open_window
        finally:
            for window, workspace in opened:
                window.close()
                window.deleteLater()
                workspace.close()


class BatchRecorder(QObject):
    """Notes the streamed answer's length each time a token batch has reached the Chat tab.

    Connected after the tab and living on the GUI thread, its slot is queued like the tab's and
    runs right after it: what it reads is what the user saw. Tests wait on `batch_shown`, a
    GUI-thread signal (waiting on the worker's own signal would run pytest-qt's wait on the
    worker's thread).
    """

    batch_shown = Signal(int)
    """A token batch reached the screen: (length of the answer's text now)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self._tab = window.chat_tab
        self.lengths: list[int] = []
        window.worker.token_batch_ready.connect(self._on_worker_token_batch_ready)

    @Slot(int, str)
    def _on_worker_token_batch_ready(self, _request_id: int, _text: str) -> None:
        view = streaming_view(self._tab)
        if view is not None:
            self.lengths.append(len(view.body.toPlainText()))
            self.batch_shown.emit(self.lengths[-1])


def streaming_view(tab: ChatTab) -> MessageView | None:
    return next((v for v in tab.transcript.views() if v.streaming), None)


def last_view(tab: ChatTab) -> MessageView:
    return tab.transcript.views()[-1]
