"""ChatWorker: one owner thread for the model, batched tokens, cancel by request id."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from PySide6.QtCore import QObject, QThread, Signal, Slot
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatRequest
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.workers.chat import ChatWorker

DEFAULTS = GenerationSettings()


class _View(QObject):
    """Stands in for the Chat tab: its signals make requests, its slots receive results.

    Slots of an object living on the GUI thread receive the worker's signals queued, as the
    real tab does (a lambda would run on the worker's thread instead).
    """

    answer_requested = Signal(int, object)
    load_requested = Signal(int, int, int)
    batch = Signal(int, str)
    finished = Signal(int, object)
    failed = Signal(int, str)
    loaded = Signal(int, str, float)

    def __init__(self, worker: ChatWorker) -> None:
        super().__init__()
        self.batches: list[tuple[float, str]] = []
        self.finished_ids: list[int] = []
        self.answer_requested.connect(worker.answer)
        self.load_requested.connect(worker.load_model)
        worker.token_batch_ready.connect(self._on_worker_token_batch_ready)
        worker.reply_finished.connect(self._on_worker_reply_finished)
        worker.reply_failed.connect(self._on_worker_reply_failed)
        worker.model_loaded.connect(self._on_worker_model_loaded)

    @Slot(int, str)
    def _on_worker_token_batch_ready(self, request_id: int, text: str) -> None:
        assert QThread.currentThread() is self.thread()
        self.batches.append((time.monotonic(), text))
        self.batch.emit(request_id, text)

    @Slot(int, object)
    def _on_worker_reply_finished(self, request_id: int, message: object) -> None:
        self.finished_ids.append(request_id)
        self.finished.emit(request_id, message)

    @Slot(int, str)
    def _on_worker_reply_failed(self, request_id: int, text: str) -> None:
        self.failed.emit(request_id, text)

    @Slot(int, str, float)
    def _on_worker_model_loaded(self, request_id: int, name: str, seconds: float) -> None:
        self.loaded.emit(request_id, name, seconds)


class Env(NamedTuple):
    worker: ChatWorker
    store: ConversationStore
    registry: ModelRegistry
    view: _View


@pytest.fixture
def env(data_dir: Path, qtbot: QtBot) -> Iterator[Env]:
    db = Database(data_dir / "localai.db")
    store, registry = ConversationStore(db), ModelRegistry(db, data_dir / "models")
    worker = ChatWorker.start(store, registry)
    yield Env(worker, store, registry, _View(worker))
    thread = worker.thread()
    worker.shutdown()
    assert thread.isFinished()
    db.close()


def test_tokens_arrive_in_batches_on_the_gui_thread(
    env: Env, qtbot: QtBot, tiny_chat_model: Path
) -> None:
    _, store, registry, requests = env
    model = registry.import_model(tiny_chat_model, name="tiny")
    conversation = store.create()
    store.add_message(conversation.id, "user", "Hello")
    with qtbot.waitSignal(requests.finished, timeout=60_000) as finished:
        settings = GenerationSettings(max_tokens=2000, context_length=4096, seed=1)
        requests.answer_requested.emit(1, ChatRequest(conversation.id, model.id, settings))
    request_id, message = finished.args
    assert request_id == 1
    assert message.status == "complete"
    assert message.provenance["completion_tokens"] == 2000
    batches = requests.batches
    assert "".join(text for _, text in batches) == message.content
    # Thousands of tokens a second reach the view as a few dozen batches, not one per token.
    assert 2 <= len(batches) < 2000 / 5
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(batches)]
    assert sorted(gaps)[len(gaps) // 2] >= 0.025


def test_cancel_stops_the_current_request_and_keeps_the_text(
    env: Env, qtbot: QtBot, tiny_chat_model: Path
) -> None:
    worker, store, registry, requests = env
    model = registry.import_model(tiny_chat_model, name="tiny")
    conversation = store.create()
    store.add_message(conversation.id, "user", "Hello")
    with qtbot.waitSignal(requests.batch, timeout=60_000):
        settings = GenerationSettings(max_tokens=30000, context_length=32768)
        requests.answer_requested.emit(7, ChatRequest(conversation.id, model.id, settings))
    started = time.monotonic()
    with qtbot.waitSignal(requests.finished, timeout=10_000) as finished:
        worker.cancel(7)
    assert time.monotonic() - started < 0.5
    message = finished.args[1]
    assert message.status == "stopped" and message.content
    assert store.get(conversation.id).messages[-1].content == message.content


def test_a_request_cancelled_before_it_starts_never_runs(
    env: Env, qtbot: QtBot, stories260k: Path
) -> None:
    worker, store, registry, requests = env
    model = registry.import_model(stories260k, name="stories")
    conversation = store.create()
    store.add_message(conversation.id, "user", "Once upon a time")
    worker.cancel(3)
    with qtbot.waitSignal(requests.loaded, timeout=30_000):
        requests.answer_requested.emit(3, ChatRequest(conversation.id, model.id, DEFAULTS))
        requests.load_requested.emit(4, model.id, 512)
    assert requests.finished_ids == []
    assert [m.role for m in store.get(conversation.id).messages] == ["user"]


def test_a_missing_model_file_is_reported_plainly(
    env: Env, qtbot: QtBot, stories260k: Path, tmp_path: Path
) -> None:
    _, store, registry, requests = env
    moved = tmp_path / "stories-moved.gguf"
    moved.write_bytes(stories260k.read_bytes())
    model = registry.import_model(moved, name="moved")
    moved.unlink()
    conversation = store.create()
    store.add_message(conversation.id, "user", "Hi")
    with qtbot.waitSignal(requests.failed, timeout=30_000) as failed:
        requests.answer_requested.emit(1, ChatRequest(conversation.id, model.id, DEFAULTS))
    assert "missing" in failed.args[1] and "import it again" in failed.args[1]
