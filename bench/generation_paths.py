"""The paths bench_generation.py compares: plain llama-cpp-python loops and the app's ChatWorker."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import median, quiet_stderr
from PySide6.QtCore import QEventLoop, QObject, QThread, QTimer, Signal, Slot

from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.inference.prompt import PromptPlan
from localai_desktop.ui.workers.chat import ChatWorker

SETTINGS = GenerationSettings()  # the app's defaults: temperature 0.7, top_p 0.95, top_k 40 ...
MIN_P = 0.05  # what LlamaEngine.generate passes


@dataclass
class Run:
    """One answer on one path."""

    tokens: int
    tok_s: float | None
    ttft_s: float | None
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def timed_run(count: int, started: float, first: float | None, end: float, text: str) -> Run:
    """A Run with the app's definitions: tokens after the first over the time after it."""
    tok_s = (count - 1) / (end - first) if first is not None and count > 1 else None
    return Run(count, tok_s, (first - started) if first is not None else None, text)


class TokenClock:
    """Timestamps every token llama.cpp samples in this process, whichever path asks for it.

    Wraps `llama_sampler_sample`, which the plain loops (through `Llama.generate`) and the
    app's engine (core/inference/token_stream.py) both call once per token, so its cost (one
    perf_counter per token) falls on all paths alike. `start()` before each measured run. The
    median gap between tokens resists the bursts of preemption a shared machine brings.
    """

    def __init__(self) -> None:
        import llama_cpp
        import llama_cpp.llama_cpp as low_level

        self.stamps: list[float] = []
        original = low_level.llama_sampler_sample
        stamps = self.stamps
        clock = time.perf_counter

        def llama_sampler_sample(*args: Any) -> int:
            token = original(*args)
            stamps.append(clock())
            return token

        # The package re-exports the function; the engine looks it up there, llama-cpp-python's
        # own sampler in the submodule.
        llama_cpp.llama_sampler_sample = llama_sampler_sample
        low_level.llama_sampler_sample = llama_sampler_sample

    def start(self) -> None:
        self.stamps.clear()

    def median_gap_tok_s(self, tokens: int) -> float | None:
        gaps = [b - a for a, b in zip(self.stamps[:tokens], self.stamps[1:tokens], strict=False)]
        gap = median(gaps)
        return 1 / gap if gap else None


# -- plain llama-cpp-python -------------------------------------------------------------------


def plain_llama(path: Path, n_ctx: int, n_threads: int) -> Any:
    """A Llama built with the arguments LlamaEngine.load passes."""
    import llama_cpp

    with quiet_stderr():
        llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_gpu_layers=-1,
            flash_attn=True,
            verbose=True,  # as the engine does: no fd redirection
        )
    llm.verbose = False
    return llm


def run_plain_generate(llm: Any, plan: PromptPlan, seed: int) -> Run:
    """The low-level loop any streaming client writes: generate, stop on EOG, detokenize."""
    import llama_cpp

    vocab = llm._model.vocab
    pieces: list[bytes] = []
    llm.set_seed(seed)
    started = time.perf_counter()
    first = None
    count = 0
    tokens = llm.generate(
        plan.tokens,
        top_k=SETTINGS.top_k,
        top_p=SETTINGS.top_p,
        min_p=MIN_P,
        temp=SETTINGS.temperature,
        repeat_penalty=SETTINGS.repeat_penalty,
    )
    for token in tokens:
        if first is None:
            first = time.perf_counter()
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        count += 1
        pieces.append(llm.detokenize([token]))
        if count >= plan.max_tokens:
            break
    tokens.close()
    end = time.perf_counter()
    return timed_run(count, started, first, end, b"".join(pieces).decode(errors="replace"))


# -- the app's pipeline -----------------------------------------------------------------------


class Receiver(QObject):
    """Stands in for the Chat tab on the GUI thread: requests go out, batches come back queued."""

    generate_requested = Signal(int, int, int, object)
    """Ask the worker for an answer: (request_id, conversation_id, model_id, settings dict)."""
    load_requested = Signal(int, int, int)
    """Ask the worker to load a model: (request_id, model_id, context_length)."""

    def __init__(self, worker: ChatWorker) -> None:
        super().__init__()
        self.generate_requested.connect(worker.generate)
        self.load_requested.connect(worker.load_model)
        worker.token_batch_ready.connect(self._on_worker_token_batch_ready)
        worker.reply_finished.connect(self._on_worker_reply_finished)
        worker.reply_failed.connect(self._on_worker_reply_failed)
        worker.model_loaded.connect(self._on_worker_model_loaded)
        self._loop: QEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        self.first_batch_at: float | None = None
        self.finished_at: float | None = None
        self.batches = 0
        self.parts: list[str] = []
        self.message: Any = None
        self.error: str | None = None

    def _wait(self, emit: Callable[[], None], timeout_s: float) -> float:
        self._reset()
        self._loop = QEventLoop()
        QTimer.singleShot(int(timeout_s * 1000), self._loop.quit)
        started = time.perf_counter()
        emit()
        self._loop.exec()
        self._loop = None
        return started

    def load(self, request_id: int, model_id: int, n_ctx: int) -> None:
        self._wait(lambda: self.load_requested.emit(request_id, model_id, n_ctx), 600)
        if self.error:
            raise RuntimeError(self.error)

    def answer(
        self, request_id: int, conversation_id: int, model_id: int, settings: GenerationSettings
    ) -> Run:
        """One answer as the Chat tab asks for it; timed by the message and by this clock."""
        as_dict = settings.to_dict()
        started = self._wait(
            lambda: self.generate_requested.emit(request_id, conversation_id, model_id, as_dict),
            900,
        )
        if self.message is None or self.error:
            raise RuntimeError(f"the app did not answer: {self.error}")
        p = self.message.provenance
        tokens = p["completion_tokens"]
        wall_tok_s = None
        if self.first_batch_at and self.finished_at and tokens > 1:
            wall_tok_s = (tokens - 1) / (self.finished_at - self.first_batch_at)
        return Run(
            tokens=tokens,
            tok_s=p["tokens_per_second"],
            ttft_s=p["time_to_first_token_s"],
            text=self.message.content,
            extra={
                "wall_tok_s": wall_tok_s,
                # request emitted here → first batch in this thread's slot: what a person sees
                "wall_ttft_s": self.first_batch_at - started if self.first_batch_at else None,
                "batches": self.batches,
                "prompt_tokens": p["prompt_tokens"],
                "streamed_equals_saved": "".join(self.parts) == self.message.content,
            },
        )

    @Slot(int, str)
    def _on_worker_token_batch_ready(self, _request_id: int, text: str) -> None:
        if self.first_batch_at is None:
            self.first_batch_at = time.perf_counter()
        self.batches += 1
        self.parts.append(text)

    @Slot(int, object)
    def _on_worker_reply_finished(self, _request_id: int, message: object) -> None:
        self.finished_at = time.perf_counter()
        self.message = message
        if self._loop is not None:
            self._loop.quit()

    @Slot(int, str)
    def _on_worker_reply_failed(self, _request_id: int, text: str) -> None:
        self.error = text
        if self._loop is not None:
            self._loop.quit()

    @Slot(int, str, float)
    def _on_worker_model_loaded(self, _request_id: int, _name: str, _seconds: float) -> None:
        if self._loop is not None:
            self._loop.quit()


class OnWorkerThread(QObject):
    """Runs a function on the ChatWorker's thread and waits for it on the GUI thread.

    The plain loops run there too: llama.cpp's CPU backend (OpenMP in this build) keeps a pool
    of spinning helper threads per thread that decodes, and once two threads of a process have
    decoded, libgomp sees more busy threads than cores and stops spinning, which halves a tiny
    model's speed for every path. One decoding thread keeps the comparison about our code.
    """

    run_requested = Signal(object)
    """Run this callable on the worker's thread: (function)."""

    def __init__(self, worker: ChatWorker) -> None:
        super().__init__()
        self._runner = _Runner()
        self._runner.moveToThread(worker.thread())
        self.run_requested.connect(self._runner.run)
        self._runner.finished.connect(self._on_runner_finished)
        self._loop: QEventLoop | None = None
        self._outcome: tuple[bool, Any] = (False, None)

    def call(self, function: Callable[[], Any]) -> Any:
        self._loop = QEventLoop()
        self.run_requested.emit(function)
        self._loop.exec()
        self._loop = None
        ok, value = self._outcome
        if not ok:
            raise value
        return value

    @Slot(object)
    def _on_runner_finished(self, outcome: tuple[bool, Any]) -> None:
        self._outcome = outcome
        if self._loop is not None:
            self._loop.quit()


class _Runner(QObject):
    finished = Signal(object)
    """A call ended: ((True, its result) or (False, its exception))."""

    @Slot(object)
    def run(self, function: Callable[[], Any]) -> None:
        assert QThread.currentThread() is self.thread()
        try:
            self.finished.emit((True, function()))
        except Exception as error:
            self.finished.emit((False, error))
