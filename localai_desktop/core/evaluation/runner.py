"""Running a test set against several models, one loaded at a time, resumable at any point.

``Evaluator.prepare`` checks everything a run needs before it starts (the models and adapters
exist, the collections exist, an embedding model is there for "similar_to") and stores the
run; ``Evaluator.run`` answers every question not answered yet, target by target, committing
each result as it is scored. Memory: this process's resident memory
peak while a target's model is loaded and answering (see _PeakMemory); the peak above what the
process used before loading it is that model's peak memory. Answers are written with the same
prompt path as chat (grounded passages, the model's chat template), never saved as
conversations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psutil

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.embedder import Embedder
from localai_desktop.core.documents.grounding import ground_retrieved, retrieve
from localai_desktop.core.documents.sentence_support import check_answer
from localai_desktop.core.evaluation.scoring import cited_sources, score_answer
from localai_desktop.core.evaluation.store import (
    EvalResult,
    EvalRun,
    EvalStore,
    RunStatus,
    Target,
)
from localai_desktop.core.evaluation.testset import Rule, TestQuestion
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import (
    ChatTurn,
    FinishReason,
    GenerationSettings,
)
from localai_desktop.core.inference.prompt import plan_prompt
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.remotes.engine import RemoteModel, approximate_tokens, stream_chat

DEFAULT_SEED = 1  # the same answers every run and on resume, so models compare fairly
DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True)
class EvalProgress:
    """Where a run stands (plain data for a progress bar or line)."""

    run_id: int
    done: int
    total: int
    target_index: int
    target_label: str
    phase: str  # "loading" or "answering"
    seconds_left: float | None
    last: EvalResult | None = None


ProgressCallback = Callable[[EvalProgress], None]


def _no_progress(_progress: EvalProgress) -> None:
    pass


class _PeakMemory:
    """The highest resident memory of this process while one model loads and answers.

    On Linux the kernel keeps that peak itself (VmHWM, reset through clear_refs): exact, and
    free. Elsewhere it is sampled after loading and after each answer. No sampling thread: one
    waking up beside llama.cpp's threads made them spin-wait on a busy machine (measured, see
    bench/README.md), costing the evaluation up to half again the CPU time of the answers.
    """

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._kernel_peak = _reset_kernel_peak()
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline

    def sample(self) -> None:
        rss = self._process.memory_info().rss
        if self._kernel_peak:
            rss = max(rss, _kernel_peak_bytes() or 0)
        if rss > self.peak:
            self.peak = rss

    @property
    def growth_mb(self) -> float:
        return round(max(0, self.peak - self.baseline) / 1e6, 1)

    def stop(self) -> None:
        self.sample()


def _reset_kernel_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")  # resets VmHWM to the current resident size
        return _kernel_peak_bytes() is not None
    except OSError:
        return False


def _kernel_peak_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class Evaluator:
    """Runs test sets with the workspace's models; use it from one thread (it owns an engine)."""

    def __init__(
        self,
        store: EvalStore,
        registry: ModelRegistry,
        adapters: AdapterRegistry,
        documents: DocumentLibrary,
        chat: ChatService,
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapters = adapters
        self.documents = documents
        self.chat = chat

    @property
    def engine(self) -> LlamaEngine:
        return self.chat.engine

    # -- before a run -----------------------------------------------------------------------

    def targets_for(
        self, models: Sequence[str], adapters: Sequence[str] = (), scale: float = 1.0
    ) -> list[Target]:
        """Targets from model names and "MODEL:ADAPTER" pairs (each pair is its own target)."""
        targets: list[Target] = []
        for name in models:
            remote = self._remote_model(name)
            if remote is not None:
                # Named by its address rather than a file's fingerprint (see _load).
                targets.append(Target(remote.reference, _remote_fingerprint(remote)))
                continue
            model = self.registry.get(name)
            self._check_chat_model(model.name, model.is_embedding_model)
            targets.append(Target(model.name, model.sha256))
        for pair in adapters:
            model_name, sep, adapter_name = pair.partition(":")
            if not sep or not model_name or not adapter_name:
                raise LocalAIError(
                    f"'{pair}' does not name a model and an adapter.",
                    "Write it as MODEL:ADAPTER, for example --adapter st:my-style.",
                )
            model = self.registry.get(model_name)
            adapter = self.adapters.checked_for(adapter_name, model)
            targets.append(Target(model.name, model.sha256, adapter.name, adapter.sha256, scale))
        if not targets:
            raise LocalAIError("No model to evaluate.", "Name at least one with --model NAME.")
        return targets

    def prepare(
        self,
        name: str,
        questions: Sequence[TestQuestion],
        targets: Sequence[Target],
        settings: GenerationSettings,
    ) -> EvalRun:
        """Check that the run can go, then store it (not started yet)."""
        for collection in {q.collection for q in questions if q.collection}:
            self.documents.get(collection)
        if any(q.expect.rule is Rule.SIMILAR_TO for q in questions):
            self._embedder(questions)
        if settings.seed is None:
            settings = replace(settings, seed=DEFAULT_SEED)
        return self.store.create(name, questions, targets, settings)

    # -- the run ----------------------------------------------------------------------------

    def run(
        self,
        run_id: int,
        *,
        on_progress: ProgressCallback = _no_progress,
        cancel: Cancellation | None = None,
    ) -> EvalRun:
        """Answer what is left of the run; returns it as it ends (finished or cancelled)."""
        cancel = cancel or Cancellation()
        run = self.store.claim(run_id)
        try:
            status = self._run(run, on_progress, cancel)
        except LocalAIError as error:
            self.store.set_status(run_id, RunStatus.FAILED, error.message)
            raise
        except BaseException:
            self.store.set_status(run_id, RunStatus.INTERRUPTED)
            raise
        self.store.set_status(run_id, status)
        return self.store.get(run_id)

    def _run(self, run: EvalRun, on_progress: ProgressCallback, cancel: Cancellation) -> RunStatus:
        done = {(r.target_index, r.question_index) for r in self.store.results(run.id)}
        embedder = self._embedder(run.questions) if self._needs_embedder(run) else None
        total = run.total
        pace = [0, 0.0]  # answers written in this process, and the seconds they took
        for t_index, target in enumerate(run.targets):
            todo = [i for i in range(len(run.questions)) if (t_index, i) not in done]
            if not todo:
                continue
            if cancel.is_set():
                return RunStatus.CANCELLED

            def progress(
                phase: str, last: EvalResult | None = None, _t: Target = target, _i: int = t_index
            ) -> None:
                left = total - len(done)
                per = pace[1] / pace[0] if pace[0] else None
                on_progress(
                    EvalProgress(
                        run.id,
                        len(done),
                        total,
                        _i,
                        _t.label,
                        phase,
                        per * left if per is not None else None,
                        last,
                    )
                )

            progress("loading")
            self.engine.unload()  # each model's peak memory is its own
            memory = _PeakMemory()
            remote = self._remote_model(target.model_name)
            try:
                if remote is not None:
                    remote, n_ctx = self._ready_remote(remote, target, run.settings)
                else:
                    n_ctx = self._load(target, run.settings, cancel)
                memory.sample()
                if cancel.is_set():
                    return RunStatus.CANCELLED
                for q_index in todo:
                    started = time.perf_counter()
                    result = self._answer(
                        run, t_index, q_index, n_ctx, memory, embedder, cancel, remote
                    )
                    if result is None:
                        return RunStatus.CANCELLED
                    self.store.save_result(result)
                    done.add((t_index, q_index))
                    pace[0] += 1
                    pace[1] += time.perf_counter() - started
                    progress("answering", result)
            finally:
                memory.stop()
        return RunStatus.FINISHED

    def _load(self, target: Target, settings: GenerationSettings, cancel: Cancellation) -> int:
        model = self.registry.get(target.model_name)
        if model.sha256 != target.model_sha256:
            raise LocalAIError(
                f"The model '{target.model_name}' is not the file this run started with "
                "(its fingerprint changed).",
                "Start a new run to evaluate the model as it is now.",
            )
        n_ctx = self.chat.context_length_for(model, settings)
        self.chat.load_model(model, n_ctx, cancel=cancel)
        if target.adapter_name is None:
            self.engine.set_adapter(None)
        else:
            adapter = self.adapters.checked_for(target.adapter_name, model)
            if adapter.sha256 != target.adapter_sha256:
                raise LocalAIError(
                    f"The adapter '{target.adapter_name}' is not the file this run started "
                    "with (its fingerprint changed).",
                    "Start a new run to evaluate the adapter as it is now.",
                )
            self.engine.set_adapter(
                adapter.path, target.adapter_scale, expected_sha256=adapter.sha256
            )
        loaded = self.engine.loaded
        return loaded.n_ctx if loaded is not None else n_ctx

    def _remote_model(self, name: str) -> RemoteModel | None:
        """The remote model `NAME/MODEL_ID` names, when NAME is a remote engine."""
        remotes = self.chat.remotes
        return remotes.resolve(name) if remotes is not None else None

    def _ready_remote(
        self, remote: RemoteModel, target: Target, settings: GenerationSettings
    ) -> tuple[RemoteModel, int]:
        if _remote_fingerprint(remote) != target.model_sha256:
            raise LocalAIError(
                f"The remote engine of '{target.model_name}' has another address than when "
                "this run started.",
                "Start a new run to evaluate it as it is now.",
            )
        assert self.chat.remotes is not None
        remote = self.chat.remotes.ready(remote)
        return remote, remote.context_length(settings)

    def _answer(
        self,
        run: EvalRun,
        t_index: int,
        q_index: int,
        n_ctx: int,
        memory: _PeakMemory,
        embedder: Embedder | None,
        cancel: Cancellation,
        remote: RemoteModel | None = None,
    ) -> EvalResult | None:
        question = run.questions[q_index]
        settings = run.settings
        turns = [ChatTurn("user", question.question)]
        sources: list[dict[str, Any]] = []
        if question.collection:
            retrieval = retrieve(self.documents, question.question, [question.collection])
            turns, grounded = ground_retrieved(
                turns,
                retrieval,
                tokenize=self.engine.tokenize if remote is None else approximate_tokens,
                n_ctx=n_ctx,
                max_tokens=settings.max_tokens,
            )
            sources = list(grounded["sources"])
        pieces: list[str] = []
        if remote is not None:
            stats = stream_chat(remote, turns, settings, pieces.append, cancel=cancel, n_ctx=n_ctx)
        else:
            plan = plan_prompt(
                turns,
                self.engine.formatter,
                self.engine.tokenize,
                n_ctx=n_ctx,
                max_tokens=settings.max_tokens,
                bos_token_ids=self.engine.bos_token_ids,
            )
            stats = self.engine.generate(plan, settings, pieces.append, cancel=cancel)
        if stats.finish_reason == FinishReason.CANCELLED or cancel.is_set():
            return None  # not saved: the question is answered again on resume
        memory.sample()
        answer = "".join(pieces).strip()
        support = None
        if sources and answer:
            support = check_answer(answer, sources)  # by words, as in chat
        verdict = score_answer(
            question,
            answer,
            sources=sources,
            support=support,
            similarity=self._similarity(embedder) if embedder is not None else None,
        )
        ttft = stats.time_to_first_token_s
        facts: dict[str, Any] = {
            **verdict.to_dict(),
            "ttft_ms": round(ttft * 1000, 2) if ttft is not None else None,
            "tokens_per_second": (
                round(stats.tokens_per_second, 2) if stats.tokens_per_second else None
            ),
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.completion_tokens,
            "generation_seconds": round(stats.generation_time_s, 4),
            "finish_reason": str(stats.finish_reason),
            "seed": stats.seed,
            "peak_memory_mb": memory.growth_mb,
            "n_ctx": n_ctx,  # the memory (context) the model had, chosen or automatic
            "cited": [
                {"n": s["n"], "file_name": s.get("file_name"), "page": s.get("page")}
                for s in cited_sources(answer, sources)
            ],
            "passages": len(sources),
        }
        if remote is not None:
            facts["remote"] = remote.provenance_facts()["remote"]
        if support is not None:
            facts["sentence_support"] = support.to_dict()
        return EvalResult(
            run.id, t_index, q_index, question.id, verdict.passed, verdict.reason, answer, facts
        )

    # -- the embedding model ----------------------------------------------------------------

    def _needs_embedder(self, run: EvalRun) -> bool:
        return any(q.expect.rule is Rule.SIMILAR_TO for q in run.questions)

    def _embedder(self, questions: Sequence[TestQuestion]) -> Embedder:
        """The embedding model of the test set's collections, else the workspace's one."""
        for q in questions:
            if q.collection:
                return self.documents.embedder_for(self.documents.get(q.collection))
        models = self.documents.embedding_models()
        if not models:
            raise LocalAIError(
                "'similar_to' compares meanings with an embedding model, and you have none.",
                "Download one (for example all-MiniLM-L6-v2) or import a GGUF embedding model.",
            )
        present = [m for m in models if m.file_exists] or models
        collection_models = {c.embedding_model_sha256 for c in self.documents.list()}
        present.sort(key=lambda m: m.sha256 not in collection_models)
        return self.documents.embedder_for_model(present[0])

    @staticmethod
    def _similarity(embedder: Embedder) -> Callable[[str, str], float]:
        def similarity(a: str, b: str) -> float:
            vectors = embedder.embed_texts([a, b])
            return float(vectors[0] @ vectors[1])

        return similarity

    def _check_chat_model(self, name: str, is_embedding: bool) -> None:
        if is_embedding:
            raise LocalAIError(
                f"'{name}' is an embedding model, which cannot answer questions.",
                "Choose a chat model (see 'localai models list').",
            )


def _remote_fingerprint(remote: RemoteModel) -> str:
    """What a run keeps of a remote target in place of a file's sha256: where it runs."""
    return f"remote:{remote.remote.base_url}"
