"""EvaluationWorker: runs test sets against models on its own QThread, one model at a time.

It owns its own engine (never the ChatWorker's, which a chat may be using) through
core.evaluation's Evaluator, which loads each target's model in turn and unloads it before the
next. A run blocks this thread until it ends, so cancelling goes through `cancel_run`, a plain
method any thread may call. Every result is committed by the core as it is scored: a cancelled,
failed or killed run resumes where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal, Slot

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.evaluation.runner import EvalProgress, Evaluator
from localai_desktop.core.evaluation.store import EvalStore
from localai_desktop.core.evaluation.testset import TestQuestion
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.storage.db import Database
from localai_desktop.ui.workers.base import ThreadWorker

log = logging.getLogger(__name__)


class EvaluationWorker(ThreadWorker):
    """Owns an Evaluator (and its engine) on its own thread; plain data in and out."""

    run_started = Signal(int, object)
    """A run begins (new or resumed): (request_id, evaluation.store.EvalRun)."""
    run_progress = Signal(int, object)
    """A run moved on: (run_id, evaluation.runner.EvalProgress)."""
    run_ended = Signal(int, object)
    """A run finished or was cancelled (results kept): (run_id, evaluation.store.EvalRun)."""
    run_failed = Signal(int, int, str)
    """A run could not start or stopped with an error: (request_id, run_id or -1, message)."""

    thread_name = "evaluation-worker"

    def __init__(
        self,
        db: Database,
        conversations: ConversationStore,
        registry: ModelRegistry,
        adapters: AdapterRegistry,
        documents: DocumentLibrary,
        remotes: Remotes | None = None,
    ) -> None:
        super().__init__()
        chat = ChatService(
            conversations, registry, LlamaEngine(), adapters, documents=documents, remotes=remotes
        )
        self._evaluator = Evaluator(EvalStore(db), registry, adapters, documents, chat)

    # -- called from the GUI thread -----------------------------------------------------------

    def cancel_run(self) -> None:
        """Stop the running run after its current answer; the answers so far are kept."""
        self._requests.cancel_all()

    # -- slots, run on the worker's thread ------------------------------------------------------

    @Slot(int, str, object, object, object, object)
    def start_run(
        self,
        request_id: int,
        name: str,
        questions: Sequence[TestQuestion],
        models: Sequence[str],
        adapters: Sequence[str],
        settings: dict[str, Any],
    ) -> None:
        """Check and store a new run of `questions` against the models (names) and the
        "MODEL:ADAPTER" pairs, then answer it."""
        try:
            evaluator = self._evaluator
            targets = evaluator.targets_for(models, adapters)
            run = evaluator.prepare(
                name, questions, targets, GenerationSettings.from_dict(settings)
            )
        except LocalAIError as error:
            self.run_failed.emit(request_id, -1, error.message)
            return
        except Exception:
            log.exception("Preparing an evaluation run failed unexpectedly")
            self.run_failed.emit(request_id, -1, _UNEXPECTED)
            return
        self._run(request_id, run.id)

    @Slot(int, int)
    def resume_run(self, request_id: int, run_id: int) -> None:
        """Answer what a cancelled, interrupted or failed run has left."""
        self._run(request_id, run_id)

    def _run(self, request_id: int, run_id: int) -> None:
        evaluator = self._evaluator
        with self._requests.running(request_id) as cancel:
            if cancel.is_set():  # the app is closing
                return
            try:
                self.run_started.emit(request_id, evaluator.store.get(run_id))
                run = evaluator.run(
                    run_id,
                    on_progress=lambda progress: self._on_progress(run_id, progress),
                    cancel=cancel,
                )
                self.run_ended.emit(run_id, run)
            except LocalAIError as error:
                self.run_failed.emit(request_id, run_id, error.message)
            except Exception:
                log.exception("An evaluation run failed unexpectedly")
                self.run_failed.emit(request_id, run_id, _UNEXPECTED)
            finally:
                # The next run, or a chat, starts with the memory free.
                evaluator.engine.unload()

    def _on_progress(self, run_id: int, progress: EvalProgress) -> None:
        self.run_progress.emit(run_id, progress)

    def _release(self) -> None:
        self._evaluator.engine.unload()


_UNEXPECTED = (
    "Something went wrong inside the app while evaluating. The answers so far are kept: "
    "try Resume; if it keeps happening, restart the app."
)
