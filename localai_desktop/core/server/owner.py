"""Who runs the API's jobs: the `ModelOwner` seam, and the command line's owner threads.

A `ModelOwner` takes jobs and runs each on the thread that owns its model, in order, refusing
new ones with `ServerBusy` once too many wait. `ThreadedModelOwner` is the command line's: its
own thread and `LlamaEngine` for chat models (answering several requests at once in one batch,
core.server.batching) and another thread for embedding models. The desktop app's chat and
embedding workers can be owners too (see the package's docstring), so the GUI and the API
share a loaded model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.documents.embedder import Embedder
from localai_desktop.core.inference.engine import LoadedModel
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.core.server.batching import GenerationBatcher

# Re-exported: the desktop app's owner (ui.workers.api_owner) refuses with them too.
from localai_desktop.core.server.errors import MAX_RETRY_AFTER_S as MAX_RETRY_AFTER_S
from localai_desktop.core.server.errors import ServerBusy as ServerBusy
from localai_desktop.core.server.jobs import (
    EmbeddingJob,
    GenerationJob,
    load_for_api,
    run_embedding,
    run_generation,
)
from localai_desktop.core.server.queueing import OwnerThread

log = logging.getLogger(__name__)

# Requests waiting per model before new ones get "429, retry after N s": enough for a few
# clients taking turns, few enough that nobody waits minutes without being told.
DEFAULT_MAX_WAITING = 8
# Requests answered at once per chat model (decoded in one batch), memory allowing: a batch of
# 4 makes about 3x the tokens per second of one request on a CPU, and each slot costs one more
# context's worth of KV cache (see core.inference.batched.affordable_slots).
DEFAULT_PARALLEL = 4


class ModelOwner(Protocol):
    """Runs API jobs where the models live: each job on its model's owner thread, in order."""

    def submit_generation(self, job: GenerationJob) -> None:
        """Queue `run_generation(chat_service, job)` on the chat model's thread; returns at
        once, or raises ServerBusy when the queue is full."""

    def submit_embedding(self, job: EmbeddingJob) -> None:
        """Queue `run_embedding(embedder, job)` on the embedding model's thread; returns at
        once, or raises ServerBusy when the queue is full."""


Task = Callable[[], None]


class WorkQueue(OwnerThread[tuple[Task, Cancellation]]):
    """One thread that runs tasks in order; at most `max_waiting` wait, the rest are refused."""

    def __init__(
        self, name: str, *, max_waiting: int, on_exit: Callable[[], None] | None = None
    ) -> None:
        super().__init__(name, max_waiting=max_waiting)
        self._on_exit = on_exit
        self._running: Cancellation | None = None
        self._start_thread()

    def submit(self, task: Task, cancel: Cancellation, *, force: bool = False) -> None:
        """Queue a task; `cancel` is set if the queue closes first. `force` skips the limit."""
        self._enqueue((task, cancel), force=force)

    def _cancels(self) -> Iterable[Cancellation]:
        yield from (cancel for _task, cancel in self._waiting)
        if self._running is not None:
            yield self._running

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    self._lock.wait_for(lambda: self._waiting or self._closed)
                    if not self._waiting:
                        return
                    task, cancel = self._waiting.popleft()
                    self._running = cancel
                started = time.monotonic()
                try:
                    task()
                except Exception:  # tasks report their own errors; this is a bug
                    log.exception("An API task failed on %s", self._thread.name)
                finally:
                    with self._lock:
                        self._running = None
                        self._took(time.monotonic() - started)
        finally:
            if self._on_exit is not None:
                self._on_exit()


class ThreadedModelOwner:
    """The command line's owner: one thread with one engine for chat models (it switches
    between them as requests ask, like the Chat tab), one thread for embedding models.

    With `parallel` above 1 the chat thread answers up to that many requests at once, decoded
    together in one batch (core.server.batching); with 1, one after the other.
    """

    def __init__(
        self,
        service: ChatService,
        *,
        max_waiting: int = DEFAULT_MAX_WAITING,
        parallel: int = DEFAULT_PARALLEL,
    ) -> None:
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.service = service
        self.parallel = parallel
        self._embedders: dict[Path, Embedder] = {}
        self._chat: WorkQueue | None = None
        self._batcher: GenerationBatcher | None = None
        if parallel > 1:
            self._batcher = GenerationBatcher(service, slots=parallel, max_waiting=max_waiting)
        else:
            self._chat = WorkQueue(
                "api-chat-model", max_waiting=max_waiting, on_exit=service.engine.unload
            )
        self._embed = WorkQueue(
            "api-embedding-model", max_waiting=max_waiting, on_exit=self._close_embedders
        )

    def submit_generation(self, job: GenerationJob) -> None:
        if self._batcher is not None:
            self._batcher.submit(job)
        else:
            assert self._chat is not None
            self._chat.submit(lambda: run_generation(self.service, job), job.cancel)

    def submit_embedding(self, job: EmbeddingJob) -> None:
        self._embed.submit(lambda: run_embedding(self._embedder(job.model), job), job.cancel)

    def load(self, model: LocalModel, context_length: int) -> LoadedModel | None:
        """Load a model now, on its thread, so the first request does not wait for it; raises
        the LocalAIError that loading raised. None for an embedding model."""
        done: Future[LoadedModel | None] = Future()

        def load_chat_model() -> None:
            try:
                done.set_result(load_for_api(self.service, model, context_length, None))
            except Exception as error:
                done.set_exception(error)

        def load_embedding_model() -> None:
            try:
                self._embedder(model).load()
                done.set_result(None)
            except Exception as error:
                done.set_exception(error)

        if model.is_embedding_model:
            self._embed.submit(load_embedding_model, Cancellation(), force=True)
        elif self._batcher is not None:
            self._batcher.submit_task(load_chat_model, Cancellation())
        else:
            assert self._chat is not None
            self._chat.submit(load_chat_model, Cancellation(), force=True)
        return done.result()

    def close(self) -> None:
        """Cancel every waiting and running job, then free the models (on their threads)."""
        if self._batcher is not None:
            self._batcher.close()
        if self._chat is not None:
            self._chat.close()
        self._embed.close()

    def _embedder(self, model: LocalModel) -> Embedder:
        embedder = self._embedders.get(model.path)
        if embedder is None:
            embedder = self._embedders[model.path] = Embedder(model.path)
        return embedder

    def _close_embedders(self) -> None:
        for embedder in self._embedders.values():
            embedder.close()
        self._embedders.clear()
