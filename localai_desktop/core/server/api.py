"""`ApiService`: the models the API serves and its requests turned into jobs for the owner."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from localai_desktop.core.audit.entries import API_REQUEST
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.common.errors import NotFoundError
from localai_desktop.core.inference.generation import DEFAULT_CONTEXT_LENGTH
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.server.errors import NOT_FOUND, RATE_LIMIT, ApiError, bad_request
from localai_desktop.core.server.grammar import grammar_for
from localai_desktop.core.server.jobs import EmbeddingJob, GenerationJob
from localai_desktop.core.server.owner import ModelOwner, ServerBusy
from localai_desktop.core.server.parsing import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
)
from localai_desktop.core.server.responses import model_entry, model_list

log = logging.getLogger(__name__)

Job = TypeVar("Job", GenerationJob, EmbeddingJob)


@dataclass(frozen=True)
class ApiRecord:
    """One API request as the audit trail keeps it: hashes and counts, never content."""

    endpoint: str
    model: str
    model_sha256: str
    request_sha256: str  # of the request's body, as sent
    answer_sha256: str  # of the answer's text (a generation) or float32 vectors (embeddings)
    outcome: str  # "stop", "length", "cancelled" or "error"
    prompt_tokens: int
    completion_tokens: int

    def facts(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "model_name": self.model,
            "model_sha256": self.model_sha256,
            "request_sha256": self.request_sha256,
            "answer_sha256": self.answer_sha256,
            "outcome": self.outcome,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


ApiRecorder = Callable[[ApiRecord], None]


def audit_recorder(trail: AuditTrail) -> ApiRecorder:
    """Records each API request in the data folder's audit trail (one entry, hashes only)."""

    def record(entry: ApiRecord) -> None:
        trail.record(API_REQUEST, **entry.facts())

    return record


class ApiService:
    """Resolves model names, builds jobs and hands them to the owner; records what was done.

    `models` limits the API to those models (all of the registry's when empty). Chat models
    are loaded with `context_length` (capped at what each model was trained for) unless the
    owner already holds the model loaded some other way.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        owner: ModelOwner,
        *,
        models: Sequence[str] = (),
        context_length: int = DEFAULT_CONTEXT_LENGTH,
        recorder: ApiRecorder | None = None,
    ) -> None:
        self.registry = registry
        self.owner = owner
        self.context_length = context_length
        self._recorder = recorder
        # Checked now: a name that does not exist is the person's mistake, told at start.
        self.allowed = tuple(registry.get(name).name for name in models)

    # -- models -----------------------------------------------------------------------------

    def served_models(self) -> list[LocalModel]:
        """The models a client may name, as in the Models tab (files that are there)."""
        models = [model for model in self.registry.list() if model.file_exists]
        if self.allowed:
            models = [model for model in models if model.name in self.allowed]
        return models

    def model_list(self) -> dict[str, Any]:
        return model_list([model_entry(m.name, m.added_at) for m in self.served_models()])

    def model_info(self, name: str) -> dict[str, Any]:
        model = self._resolve(name)
        return model_entry(model.name, model.added_at)

    # -- requests ---------------------------------------------------------------------------

    def start_chat(self, request: ChatCompletionRequest) -> GenerationJob:
        """Queue a chat completion; raises ApiError (unknown model, bad format, busy)."""
        model = self._chat_model(request.model)
        job = GenerationJob(
            model,
            request.sampling,
            self.context_length,
            turns=request.messages,
            grammar=grammar_for(request.response_format),
        )
        return self._submit(self.owner.submit_generation, job)

    def start_completion(self, request: CompletionRequest) -> GenerationJob:
        model = self._chat_model(request.model)
        job = GenerationJob(model, request.sampling, self.context_length, prompt=request.prompt)
        return self._submit(self.owner.submit_generation, job)

    def start_embedding(self, request: EmbeddingRequest) -> EmbeddingJob:
        model = self._resolve(request.model)
        if not model.is_embedding_model:
            raise bad_request(
                f"'{model.name}' is a chat model and makes no embeddings. Name an embedding "
                "model (the Models tab marks them).",
                param="model",
            )
        return self._submit(self.owner.submit_embedding, EmbeddingJob(model, request.inputs))

    def record(
        self,
        endpoint: str,
        model: LocalModel,
        body: bytes,
        answer: bytes,
        *,
        outcome: str,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> None:
        """Hand a request's hashes to the recorder (the audit trail); never fails the request."""
        if self._recorder is None:
            return
        record = ApiRecord(
            endpoint=endpoint,
            model=model.name,
            model_sha256=model.sha256,
            request_sha256=hashlib.sha256(body).hexdigest(),
            answer_sha256=hashlib.sha256(answer).hexdigest(),
            outcome=outcome,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
        try:
            self._recorder(record)
        except Exception:
            log.exception("Recording an API request failed")

    # -- helpers ----------------------------------------------------------------------------

    def _resolve(self, name: str) -> LocalModel:
        try:
            model = self.registry.get(name)
        except NotFoundError:
            model = None
        if model is None or (self.allowed and model.name not in self.allowed):
            raise ApiError(
                404,
                f"There is no model called '{name}' here. GET /v1/models lists the names "
                "you can use (the names in the Models tab).",
                type=NOT_FOUND,
                code="model_not_found",
                param="model",
            )
        return model

    def _chat_model(self, name: str) -> LocalModel:
        model = self._resolve(name)
        if model.is_embedding_model:
            raise bad_request(
                f"'{model.name}' is an embedding model, which cannot write text. Use it with "
                "/v1/embeddings, or name a chat model.",
                param="model",
            )
        return model

    def _submit(self, submit: Callable[[Job], None], job: Job) -> Job:
        try:
            submit(job)
        except ServerBusy as busy:
            raise ApiError(
                429,
                f"The server is busy: too many requests are waiting for '{job.model.name}'. "
                f"Try again in {busy.retry_after_s} s.",
                type=RATE_LIMIT,
                code="rate_limit_exceeded",
                retry_after_s=busy.retry_after_s,
            ) from busy
        return job
