"""The chat model's thread when the server answers several requests at once, in one batch.

`GenerationBatcher` is a `WorkQueue` for generation jobs whose thread, instead of running one
job to its end, admits waiting jobs into a `BatchedDecoder` (core.inference.batched) while it
has free slots and decodes them together, a step at a time, taking new jobs between steps.
Jobs for another model wait until the current batch has drained (then the model is switched,
as the Chat tab switches it); other tasks (loading a model at start-up) also run between
batches. A job's client that disconnects sets its cancel: its sequence ends after the current
step, and the others go on. At most `max_waiting` jobs wait beyond the running ones; the rest
are refused with `ServerBusy`, as before.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import GenerationError, LocalAIError
from localai_desktop.core.inference.batched import BatchedDecoder, Sequence, affordable_slots
from localai_desktop.core.inference.generation import GenerationStats
from localai_desktop.core.server.errors import (
    MAX_RETRY_AFTER_S,
    ServerBusy,
    from_local_error,
    unexpected_error,
)
from localai_desktop.core.server.jobs import (
    CANCELLED,
    Failed,
    Finished,
    GenerationJob,
    JobEvent,
    Piece,
    Started,
    prepare_generation,
    reporting_failures,
)
from localai_desktop.core.server.queueing import OwnerThread

log = logging.getLogger(__name__)

Task = Callable[[], None]


class GenerationBatcher(OwnerThread[GenerationJob]):
    """One thread that answers up to `slots` generation jobs at once for the loaded model."""

    def __init__(
        self,
        service: ChatService,
        *,
        slots: int,
        max_waiting: int,
        name: str = "api-chat-model",
    ) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        super().__init__(name, max_waiting=max_waiting, at_once=slots)
        self.service = service
        self.slots = slots
        self._tasks: deque[tuple[Task, Cancellation]] = deque()
        self._decoder: BatchedDecoder | None = None
        self._running: list[GenerationJob] = []  # admitted and not yet done
        self._start_thread()

    # -- any thread -------------------------------------------------------------------------

    def submit(self, job: GenerationJob) -> None:
        """Queue a job; raises ServerBusy when `max_waiting` jobs already wait."""
        self._enqueue(job)

    def submit_task(self, task: Task, cancel: Cancellation) -> None:
        """Run `task` on the thread between batches (never while answers are being made)."""
        with self._lock:
            if self._closed:
                raise ServerBusy(MAX_RETRY_AFTER_S)
            self._tasks.append((task, cancel))
            self._lock.notify()

    def _cancels(self) -> Iterable[Cancellation]:
        yield from (job.cancel for job in (*self._waiting, *self._running))
        yield from (cancel for _task, cancel in self._tasks)

    # -- the batcher's thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                decoder = self._decoder
                if (
                    decoder is not None
                    and decoder.active
                    and not (self._waiting or self._tasks or self._closed)
                ):
                    # Most steps: nothing new to admit, nothing to run between batches. Read
                    # without the lock (what another thread queues meanwhile is seen at the
                    # next step), as the one-at-a-time path does nothing between two tokens.
                    self._step(decoder)
                    continue
                with self._lock:
                    self._lock.wait_for(
                        lambda: self._answering() or self._waiting or self._tasks or self._closed
                    )
                    if self._closed:
                        return
                    answering = self._answering()
                    task = self._tasks.popleft() if self._tasks and not answering else None
                if task is not None:
                    self._run_task(*task)
                    continue
                self._admit()
                if self._decoder is not None and self._decoder.active:
                    self._step(self._decoder)
        finally:
            self._drain()
            self._close_decoder()
            self.service.engine.unload()

    def _step(self, decoder: BatchedDecoder) -> None:
        try:
            decoder.step()
        except Exception:  # a bug: fail what runs, keep serving
            log.exception("Batched decoding failed unexpectedly")
            self._fail_running()

    def _answering(self) -> bool:
        return self._decoder is not None and self._decoder.active > 0

    def _run_task(self, task: Task, _cancel: Cancellation) -> None:
        self._close_decoder()  # a task may load another model under it
        try:
            task()
        except Exception:  # tasks report their own errors; this is a bug
            log.exception("An API task failed on %s", self._thread.name)

    def _admit(self) -> None:
        """Start waiting jobs while there are free slots and they are for the batch's model."""
        while True:
            with self._lock:
                if not self._waiting or self._tasks or self._closed:
                    return
                job = self._waiting[0]
                decoder = self._decoder
                if (
                    decoder is not None
                    and decoder.active > 0
                    and (decoder.free == 0 or decoder.loaded.path != job.model.path)
                ):
                    return  # later: a slot frees, or the batch drains for the other model
                self._waiting.popleft()
                self._running.append(job)
            self._start(job)

    def _start(self, job: GenerationJob) -> None:
        admitted = time.monotonic()

        def emit(event: JobEvent) -> None:
            if job.done.is_set():
                return  # already ended (a failure was reported first)
            job.emit(event)
            if isinstance(event, Finished | Failed):
                self._ended(job, time.monotonic() - admitted)

        started: list[Sequence] = []  # the job's sequence, once the decoder has it

        def on_finished(stats: GenerationStats) -> None:
            cached = started[0].reused_prompt_tokens if started else None
            emit(
                Finished(stats.finish_reason, stats.prompt_tokens, stats.completion_tokens, cached)
            )

        def on_failed(error: GenerationError) -> None:
            emit(Failed(from_local_error(error)))

        with reporting_failures(job):
            if job.cancel.is_set():
                job.emit(Finished(CANCELLED, 0, 0))
            else:
                started.append(self._add(job, emit, on_finished, on_failed))
        if job.done.is_set():  # it ended before it started: cancelled, or failed
            self._ended(job, None)

    def _add(
        self,
        job: GenerationJob,
        emit: Callable[[JobEvent], None],
        on_finished: Callable[[GenerationStats], None],
        on_failed: Callable[[GenerationError], None],
    ) -> Sequence:
        engine = self.service.engine
        decoder = self._decoder
        if decoder is not None and not decoder.active:
            loaded = engine.loaded
            if loaded is None or loaded.path != job.model.path:
                self._close_decoder()  # its model is about to be unloaded
        plan, settings = prepare_generation(self.service, job)
        decoder = self._decoder
        if decoder is not None and decoder.loaded is not engine.loaded:
            self._close_decoder()  # (never while it runs: the model stays while it does)
        if self._decoder is None:
            self._decoder = self._new_decoder()
        sequence = self._decoder.add(
            plan,
            settings,
            lambda text: emit(Piece(text)),
            on_finished,
            on_failed,
            cancel=job.cancel,
            grammar=job.grammar,
        )
        job.emit(Started(len(plan.tokens)))
        return sequence

    def _new_decoder(self) -> BatchedDecoder:
        slots = affordable_slots(self.service.engine, self.slots)
        if slots < self.slots:
            log.warning("Memory allows %s of %s answers at once", slots, self.slots)
        while True:
            try:
                return BatchedDecoder(self.service.engine, slots=slots)
            except LocalAIError:
                if slots == 1:
                    raise
                slots = max(1, slots // 2)  # less memory for the cache: fewer at once
                log.warning("Not enough memory for batched answers; trying %s at once", slots)

    def _ended(self, job: GenerationJob, took: float | None) -> None:
        with self._lock:
            if job in self._running:
                self._running.remove(job)
            if took is not None:
                self._took(took)

    def _fail_running(self) -> None:
        with self._lock:
            running = list(self._running)
        for job in running:
            if not job.done.is_set():
                job.emit(Failed(unexpected_error()))
            self._ended(job, None)
        self._close_decoder()

    def _drain(self) -> None:
        """Closing: end waiting jobs as cancelled, and run waiting tasks (to report it)."""
        with self._lock:
            waiting, self._waiting = list(self._waiting), deque()
            tasks, self._tasks = list(self._tasks), deque()
        for job in waiting:
            job.cancel.set()
            job.emit(Finished(CANCELLED, 0, 0))
        for task, cancel in tasks:
            cancel.set()
            self._run_task(task, cancel)

    def _close_decoder(self) -> None:
        if self._decoder is not None:
            self._decoder.close()  # ends what still runs, as cancelled
            self._decoder = None
