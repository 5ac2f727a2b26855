"""ThreadWorker: a real small worker on its own QThread, numbered requests, an orderly stop."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject, QThread, Signal, Slot
from pytestqt.qtbot import QtBot

from localai_desktop.ui.workers.base import ThreadWorker
from localai_desktop.ui.workers.request_ids import CurrentRequest, RequestIds
from tests.support.gui_support import no_thread_left_running


class _Squarer(ThreadWorker):
    """Squares numbers, taking `seconds` for each; with `stops_when_cancelled`, it checks its
    stop flag while it works, as the chat and indexing workers do."""

    squared = Signal(int, int)
    """A number was squared: (request_id, square)."""
    stopped = Signal(int)
    """A request was cancelled while it ran and ended early: (request_id)."""

    thread_name = "squarer"
    shutdown_wait_ms = 5_000

    def __init__(self, seconds: float = 0.0, *, stops_when_cancelled: bool = True) -> None:
        super().__init__()
        self._seconds = seconds
        self._stops_when_cancelled = stops_when_cancelled
        self.began: list[int] = []
        self.finished: list[int] = []
        self.threads: list[QThread] = []
        self.releases = 0

    def cancel(self, request_id: int) -> None:
        self._requests.cancel(request_id)

    def note_newest(self, request_id: int) -> None:
        """Only `request_id` counts now: older ones still queued are skipped."""
        self._requests.supersede(request_id)

    @Slot(int, int)
    def square(self, request_id: int, number: int) -> None:
        with self._requests.running(request_id) as cancel:
            if cancel.is_set():
                return
            self.began.append(request_id)
            self.threads.append(QThread.currentThread())
            deadline = time.monotonic() + self._seconds
            while time.monotonic() < deadline:
                if self._stops_when_cancelled and cancel.is_set():
                    self.stopped.emit(request_id)
                    return
                time.sleep(0.005)
            self.finished.append(request_id)
            self.squared.emit(request_id, number * number)

    def _release(self) -> None:
        self.releases += 1


class _Asker(QObject):
    """The asking side, on the GUI thread as a tab is: shows only the newest request's answer."""

    square_requested = Signal(int, int)
    """To the worker: (request_id, number)."""
    answer_shown = Signal(int)
    """The answer to the newest request reached the screen: (square)."""
    stop_shown = Signal()
    """The newest request was stopped."""

    def __init__(self, worker: _Squarer) -> None:
        super().__init__()
        self._current = CurrentRequest(RequestIds())
        self.shown: list[int] = []
        self.square_requested.connect(worker.square)
        worker.squared.connect(self._on_worker_squared)
        worker.stopped.connect(self._on_worker_stopped)

    def ask(self, number: int) -> int:
        request_id = self._current.new()
        self.square_requested.emit(request_id, number)
        return request_id

    @Slot(int, int)
    def _on_worker_squared(self, request_id: int, square: int) -> None:
        if self._current.is_answered_by(request_id):
            self._current.forget()
            self.shown.append(square)
            self.answer_shown.emit(square)

    @Slot(int)
    def _on_worker_stopped(self, request_id: int) -> None:
        if self._current.is_answered_by(request_id):
            self._current.forget()
            self.stop_shown.emit()


def _busy_worker(
    qtbot: QtBot, seconds: float, *, stops_when_cancelled: bool = True
) -> tuple[_Squarer, _Asker]:
    """A worker already at work on request 1 (squaring 2)."""
    worker = _Squarer.start(seconds, stops_when_cancelled=stops_when_cancelled)
    asker = _Asker(worker)
    asker.ask(2)
    qtbot.waitUntil(lambda: worker.began == [1], timeout=5_000)
    return worker, asker


@pytest.fixture
def no_thread_left(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with no_thread_left_running(monkeypatch):
        yield


def test_a_request_is_answered_from_the_workers_own_thread(
    qtbot: QtBot, no_thread_left: None
) -> None:
    worker = _Squarer.start()
    asker = _Asker(worker)
    thread = worker.thread()
    assert thread.isRunning() and thread.objectName() == "squarer"
    with qtbot.waitSignal(asker.answer_shown, timeout=5_000) as shown:
        asker.ask(7)
    assert shown.args == [49]
    assert worker.threads == [thread] and thread is not QThread.currentThread()
    worker.shutdown()
    assert thread.isFinished()


def test_a_late_answer_to_a_superseded_request_is_dropped(
    qtbot: QtBot, no_thread_left: None
) -> None:
    worker = _Squarer.start(0.2, stops_when_cancelled=False)
    asker = _Asker(worker)
    asker.ask(2)
    with qtbot.waitSignal(asker.answer_shown, timeout=5_000) as shown:
        asker.ask(3)  # asked before the answer to the first could arrive
    assert shown.args == [9]
    qtbot.wait(100)
    # The worker answered both; only the newest reached the screen.
    assert worker.finished == [1, 2] and asker.shown == [9]
    worker.shutdown()


def test_a_request_superseded_before_its_turn_is_skipped(
    qtbot: QtBot, no_thread_left: None
) -> None:
    worker, asker = _busy_worker(qtbot, 0.3, stops_when_cancelled=False)
    with qtbot.waitSignal(asker.answer_shown, timeout=5_000) as shown:
        asker.ask(3)
        worker.note_newest(asker.ask(4))
    assert shown.args == [16]
    assert worker.began == [1, 3]  # the second request never ran
    worker.shutdown()


def test_cancel_stops_a_running_request(qtbot: QtBot, no_thread_left: None) -> None:
    worker, asker = _busy_worker(qtbot, 30.0)
    started = time.monotonic()
    with qtbot.waitSignal(asker.stop_shown, timeout=5_000):
        worker.cancel(1)
    assert time.monotonic() - started < 1.0
    assert worker.finished == [] and asker.shown == []
    worker.shutdown()


def test_shutdown_waits_for_a_busy_worker_and_leaves_no_thread_running(
    qtbot: QtBot, no_thread_left: None
) -> None:
    worker, _ = _busy_worker(qtbot, 0.5, stops_when_cancelled=False)
    thread = worker.thread()
    worker.shutdown()
    # The work that could not be interrupted ended before shutdown returned, and only then
    # did the worker free what it owns.
    assert worker.finished == [1] and worker.releases == 1
    assert thread.isFinished()


def test_shutdown_stops_running_work_and_refuses_what_is_queued(
    qtbot: QtBot, no_thread_left: None
) -> None:
    worker = _Squarer.start(30.0)
    asker = _Asker(worker)
    # Asked together, so Qt is likely to hand all three to the thread at once: those it has in
    # hand it delivers even after quit(), which is why the worker has to refuse them itself.
    asker.ask(2)
    asker.ask(3)
    asker.ask(4)
    qtbot.waitUntil(lambda: worker.began == [1], timeout=5_000)
    thread = worker.thread()
    started = time.monotonic()
    worker.shutdown()
    assert time.monotonic() - started < 2.0
    assert worker.began == [1] and worker.finished == []
    assert thread.isFinished()


def test_shutdown_twice_is_harmless(qtbot: QtBot, no_thread_left: None) -> None:
    worker = _Squarer.start()
    asker = _Asker(worker)
    with qtbot.waitSignal(asker.answer_shown, timeout=5_000):
        asker.ask(1)
    worker.shutdown()
    worker.shutdown()
    assert worker.releases == 1
