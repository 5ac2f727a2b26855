"""The owner's queue: one task at a time, in order, a bounded wait, and a clean close."""

from __future__ import annotations

import threading

import pytest

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.server.owner import ServerBusy, WorkQueue


def test_tasks_run_one_at_a_time_in_order_and_a_full_queue_refuses() -> None:
    release = threading.Event()
    ran: list[int] = []
    threads: set[str] = set()
    queue = WorkQueue("test-owner", max_waiting=2)

    def task(number: int) -> None:
        threads.add(threading.current_thread().name)
        if number == 0:
            release.wait(10)
        ran.append(number)

    queue.submit(lambda: task(0), Cancellation())
    while queue.waiting:  # the first one is running, blocked
        threading.Event().wait(0.01)
    queue.submit(lambda: task(1), Cancellation())
    queue.submit(lambda: task(2), Cancellation())
    with pytest.raises(ServerBusy) as busy:
        queue.submit(lambda: task(3), Cancellation())
    assert busy.value.retry_after_s >= 1
    release.set()
    queue.close()
    assert ran == [0, 1, 2]
    assert threads == {"test-owner"}


def test_closing_cancels_what_waits_and_what_runs() -> None:
    queue = WorkQueue("test-owner", max_waiting=4)
    running = Cancellation()
    waiting = Cancellation()
    started = threading.Event()
    seen: list[bool] = []

    def long_task() -> None:
        started.set()
        while not running.is_set():
            threading.Event().wait(0.01)

    queue.submit(long_task, running)
    started.wait(5)
    queue.submit(lambda: seen.append(waiting.is_set()), waiting)
    queue.close()
    assert running.is_set() and waiting.is_set()
    assert seen == [True]  # it still ran, to report its cancellation
    with pytest.raises(ServerBusy):
        queue.submit(lambda: None, Cancellation())


def test_a_failing_task_does_not_stop_the_queue() -> None:
    queue = WorkQueue("test-owner", max_waiting=2)
    done = threading.Event()

    def broken() -> None:
        raise RuntimeError("a bug")

    queue.submit(broken, Cancellation())
    queue.submit(done.set, Cancellation())
    assert done.wait(5)
    queue.close()
