"""API work as jobs a model's owner runs on its own thread: a generation or an embedding.

The HTTP side builds a job and hands it to the owner (owner.py); the owner's thread calls
`run_generation` or `run_embedding`, which never raise: every outcome is an event on the job.
Whoever owns the model (the command line's owner thread, later the GUI's chat worker) runs the
same two functions, so API answers are made exactly as the Chat tab's are.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.inference.engine import LoadedModel
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.inference.prompt import PromptPlan, plan_prompt
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.core.server.errors import (
    ApiError,
    bad_request,
    from_local_error,
    unexpected_error,
)
from localai_desktop.core.server.parsing import Sampling

if TYPE_CHECKING:
    from localai_desktop.core.documents.embedder import Embedder

log = logging.getLogger(__name__)

# plan_prompt trims old turns to fit the context; an API request is refused instead, so the
# plan is made against a context no prompt reaches, then checked against the real one.
_NO_TRIM = 1 << 40
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Started:
    """The prompt fitted and generation begins: a stream may now answer 200."""

    prompt_tokens: int


@dataclass(frozen=True)
class Piece:
    text: str


@dataclass(frozen=True)
class Finished:
    finish_reason: str  # "stop", "length" or "cancelled"
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int | None = None  # prompt tokens not read again (a cache had them)


@dataclass(frozen=True)
class Failed:
    error: ApiError


JobEvent = Started | Piece | Finished | Failed


@dataclass
class GenerationJob:
    """One chat (turns, rendered with the model's template) or completion (prompt, as is)."""

    model: LocalModel
    sampling: Sampling
    context_length: int
    turns: tuple[ChatTurn, ...] = ()
    prompt: str | None = None
    grammar: str | None = None
    cancel: Cancellation = field(default_factory=Cancellation)
    events: queue.Queue[JobEvent] = field(default_factory=queue.Queue)
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Finished | Failed | None = None
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What the model wrote so far (complete once `done` is set)."""
        return "".join(self.parts)

    def emit(self, event: JobEvent) -> None:
        if isinstance(event, Piece):
            self.parts.append(event.text)
        if isinstance(event, Finished | Failed):
            self.outcome = event
        self.events.put(event)
        if isinstance(event, Finished | Failed):
            self.done.set()


@dataclass(frozen=True)
class Embeddings:
    vectors: list[list[float]]
    prompt_tokens: int


@dataclass
class EmbeddingJob:
    model: LocalModel
    inputs: tuple[str, ...]
    cancel: Cancellation = field(default_factory=Cancellation)
    result: Future[Embeddings | None] = field(default_factory=Future)  # None: cancelled


# -- generation -------------------------------------------------------------------------------


def run_generation(service: ChatService, job: GenerationJob) -> None:
    """Answer the job on the calling thread (the engine's owner); every outcome is an event."""
    with reporting_failures(job):
        if job.cancel.is_set():
            job.emit(Finished(CANCELLED, 0, 0))
            return
        plan, settings = prepare_generation(service, job)
        job.emit(Started(len(plan.tokens)))
        stats = service.engine.generate(
            plan,
            settings,
            lambda text: job.emit(Piece(text)),
            cancel=job.cancel,
            grammar=job.grammar,
        )
        job.emit(Finished(stats.finish_reason, stats.prompt_tokens, stats.completion_tokens))


def prepare_generation(
    service: ChatService, job: GenerationJob
) -> tuple[PromptPlan, GenerationSettings]:
    """Load the job's model (if another is loaded), and make its prompt and settings; raises
    ApiError when the prompt does not fit, LocalAIError when loading fails."""
    loaded = load_for_api(service, job.model, job.context_length, job.cancel)
    plan = _plan(service, job, loaded)
    return plan, _settings(job.sampling, plan.max_tokens, loaded.n_ctx)


@contextmanager
def reporting_failures(job: GenerationJob) -> Iterator[None]:
    """Turn what the block raises into the job's last event: Failed, or Finished(cancelled)
    when a cancelled load raised. Whoever runs jobs must outlive a bug in one of them."""
    try:
        yield
    except ApiError as error:
        job.emit(Failed(error))
    except LocalAIError as error:
        if job.cancel.is_set():  # loading was cancelled: nobody is waiting any more
            job.emit(Finished(CANCELLED, 0, 0))
        else:
            log.warning("API generation failed: %s", error.message)
            job.emit(Failed(from_local_error(error)))
    except Exception:
        # The owner's thread must outlive a bug in one request.
        log.exception("API generation failed unexpectedly")
        job.emit(Failed(unexpected_error()))


def load_for_api(
    service: ChatService, model: LocalModel, context_length: int, cancel: Cancellation | None
) -> LoadedModel:
    """The model, loaded: as it already is (the Chat tab's context length) or with ours."""
    loaded = service.engine.loaded
    if loaded is None or loaded.path != model.path:
        wanted = GenerationSettings(context_length=context_length)
        loaded = service.load_model(model, service.context_length_for(model, wanted), cancel=cancel)
    service.engine.set_adapter(None)  # the plain model; a chat turn applies its own again
    return loaded


def _plan(service: ChatService, job: GenerationJob, loaded: LoadedModel) -> PromptPlan:
    engine = service.engine
    if job.prompt is not None:
        tokens = [*engine.bos_token_ids, *engine.tokenize(job.prompt)]
        plan = PromptPlan(
            tokens=tokens,
            text=job.prompt,
            stop_strings=(),
            max_tokens=1,
            trimmed_messages=0,
            used_template=False,
        )
    else:
        plan = plan_prompt(
            job.turns,
            engine.formatter,
            engine.tokenize,
            n_ctx=_NO_TRIM,
            max_tokens=1,
            bos_token_ids=engine.bos_token_ids,
        )
    if not plan.tokens:
        raise bad_request("The prompt is empty: send some text.", param="prompt")
    max_tokens = _room_for_answer(job, len(plan.tokens), loaded.n_ctx)
    return replace(
        plan, max_tokens=max_tokens, stop_strings=(*plan.stop_strings, *job.sampling.stop)
    )


def _room_for_answer(job: GenerationJob, prompt_tokens: int, n_ctx: int) -> int:
    """The answer's token limit; a 400 when the prompt (and the answer asked for) do not fit."""
    asked = job.sampling.max_tokens
    if prompt_tokens < n_ctx and (asked is None or prompt_tokens + asked <= n_ctx):
        return asked if asked is not None else n_ctx - prompt_tokens
    wanted = f" plus up to {asked} tokens of answer" if asked is not None else ""
    raise ApiError(
        400,
        f"The prompt is {prompt_tokens} tokens long{wanted}, but '{job.model.name}' is loaded "
        f"to read at most {n_ctx} tokens at once (its context length). Shorten the messages"
        + (" or ask for fewer tokens" if asked is not None else "")
        + ", or load the model with a longer context length (`localai serve --context-length "
        "N`; in the app, Memory in the Chat tab's settings while the model is loaded there).",
        param="messages" if job.prompt is None else "prompt",
        code="context_length_exceeded",
    )


def _settings(sampling: Sampling, max_tokens: int, n_ctx: int) -> GenerationSettings:
    defaults = GenerationSettings()
    return GenerationSettings(
        temperature=defaults.temperature if sampling.temperature is None else sampling.temperature,
        top_p=defaults.top_p if sampling.top_p is None else sampling.top_p,
        max_tokens=max_tokens,
        context_length=n_ctx,
        # llama.cpp seeds are 32-bit; a bigger one from a client still picks a fixed seed.
        seed=None if sampling.seed is None else sampling.seed % 2**32,
    )


# -- embeddings -------------------------------------------------------------------------------


def run_embedding(embedder: Embedder, job: EmbeddingJob) -> None:
    """Embed the job's texts on the calling thread; the outcome is set on `job.result`."""
    from localai_desktop.core.documents.embedder import EmbeddingCancelled

    if not job.result.set_running_or_notify_cancel():
        return
    if job.cancel.is_set():
        job.result.set_result(None)
        return
    try:
        limit = min(embedder.context_length, embedder.batch_tokens)
        counts = [embedder.count_tokens(text) for text in job.inputs]
        for index, count in enumerate(counts):
            if count > limit:
                raise ApiError(
                    400,
                    f"Input {index} is {count} tokens long, but the embedding model "
                    f"'{job.model.name}' reads at most {limit} tokens at once. Split the text "
                    "into shorter pieces.",
                    param="input",
                    code="context_length_exceeded",
                )
        vectors = embedder.embed_texts(job.inputs, cancel=job.cancel)
        job.result.set_result(Embeddings(vectors.tolist(), sum(counts)))
    except EmbeddingCancelled:
        job.result.set_result(None)
    except ApiError as error:
        job.result.set_exception(error)
    except LocalAIError as error:
        log.warning("API embedding failed: %s", error.message)
        job.result.set_exception(from_local_error(error))
    except Exception:
        log.exception("API embedding failed unexpectedly")
        job.result.set_exception(unexpected_error())
