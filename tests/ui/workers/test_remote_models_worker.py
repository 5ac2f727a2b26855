"""RemoteModelsWorker: the remotes' models off the GUI thread; a shutdown does not wait for
every slow remote in turn."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.remotes.store import Remote
from localai_desktop.core.storage import Database
from localai_desktop.ui.workers.remotes import RemoteModelsWorker, list_remote_models


@pytest.fixture
def db(data_dir: Path) -> Iterator[Database]:
    database = Database(data_dir / "localai.db")
    yield database
    database.close()


def mute_servers(stack: ExitStack, count: int) -> list[int]:
    """Ports that take connections but never answer them."""
    ports = []
    for _ in range(count):
        sock = stack.enter_context(socket.socket())
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        ports.append(sock.getsockname()[1])
    return ports


def test_offline_mode_blocks_a_remote_without_asking_it_and_keeps_one_allowed_offline(
    db: Database,
) -> None:
    offline = True
    remotes = Remotes(db, is_offline=lambda: offline)
    remotes.add("far", "https://gpu.example.org")
    remotes.add("near", "http://127.0.0.1:9", allow_offline=True)  # nothing listens there
    far, near = list_remote_models(remotes)
    assert far.blocked and not far.available and "Offline mode is on" in (far.problem or "")
    assert not near.blocked and not near.available and "cannot be reached" in (near.problem or "")
    assert near.where == "runs on 127.0.0.1: your text is sent there"


def test_shutdown_stops_between_remotes_that_never_answer(db: Database, qtbot: QtBot) -> None:
    remotes = Remotes(db)
    with ExitStack() as stack:
        for i, port in enumerate(mute_servers(stack, 5)):
            remotes.add(f"mute{i}", f"http://127.0.0.1:{port}")
        worker = RemoteModelsWorker.start(remotes)
        thread = worker.thread()
        worker.refresh()
        time.sleep(0.3)  # the first remote is being asked
        started = time.monotonic()
        worker.shutdown()
        elapsed = time.monotonic() - started
    assert thread.isFinished()
    assert elapsed < 4.5  # one remote's 3 s timeout at most, not five of them


class UnreadableRemotes(Remotes):
    def list(self) -> list[Remote]:
        raise LocalAIError("The list of remote engines could not be read.", "Try again.")


def test_a_listing_that_fails_as_a_whole_is_reported(db: Database, qtbot: QtBot) -> None:
    worker = RemoteModelsWorker.start(UnreadableRemotes(db))
    messages: list[str] = []
    worker.listing_failed.connect(messages.append)  # runs on the worker's thread
    try:
        worker.refresh()
        qtbot.waitUntil(lambda: bool(messages), timeout=10_000)
    finally:
        worker.shutdown()
    assert messages == ["The list of remote engines could not be read. Try again."]
