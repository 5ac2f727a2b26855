"""One answer from a remote model, streamed (POST /v1/chat/completions with SSE)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.inference.generation import (
    DEFAULT_CONTEXT_LENGTH,
    ChatTurn,
    FinishReason,
    GenerationSettings,
    GenerationStats,
)
from localai_desktop.core.remotes.client import RemoteClient, RemoteError
from localai_desktop.core.remotes.store import Remote

TextCallback = Callable[[str], None]
# Bytes per token, roughly, for fitting passages when the remote's tokenizer is not at hand:
# English text is about 4 bytes a token; 3 leaves room for other languages and numbers.
_BYTES_PER_TOKEN = 3


def approximate_tokens(text: str) -> list[int]:
    """A stand-in for a tokenizer: a list as long as the text's tokens, about (see above)."""
    return [0] * (len(text.encode("utf-8")) // _BYTES_PER_TOKEN + 1)


@dataclass(frozen=True)
class RemoteModel:
    """A model of a remote engine, named `NAME/MODEL_ID` wherever a model name is taken."""

    remote: Remote
    model_id: str
    local_only: bool = False  # offline mode: connect only if the host is a local address

    def client(self) -> RemoteClient:
        return RemoteClient(self.remote, local_only=self.local_only)

    @property
    def reference(self) -> str:
        return f"{self.remote.name}/{self.model_id}"

    def context_length(self, settings: GenerationSettings) -> int:
        """The context assumed when fitting passages: the user's setting, else a common one
        (the remote does not say; a prompt too long for it gets its own plain error)."""
        return settings.context_length if settings.context_length > 0 else DEFAULT_CONTEXT_LENGTH

    def provenance_facts(self) -> dict[str, Any]:
        """What an answer's record says of where it was made (and that text went there)."""
        return {
            "backend": "remote",
            "remote": {
                "name": self.remote.name,
                "address": self.remote.base_url,
                "host": self.remote.host,
                "model_id": self.model_id,
                "text_sent": True,
            },
        }


def check_model_known(client: RemoteClient, model_id: str) -> None:
    """Refuse, in plain words, a model the remote does not list (this also checks that the
    remote is reachable and takes the key, before anything is sent)."""
    models = client.models()
    if models and model_id not in models:
        shown = ", ".join(models[:8]) + (" ..." if len(models) > 8 else "")
        raise RemoteError(
            f"The remote engine '{client.remote.name}' has no model '{model_id}'.",
            f"Its models: {shown}. Use one as {client.remote.name}/MODEL_ID.",
        )


def stream_chat(
    model: RemoteModel,
    turns: Sequence[ChatTurn],
    settings: GenerationSettings,
    on_text: TextCallback,
    *,
    cancel: Cancellation | None = None,
    stop: Sequence[str] = (),
    n_ctx: int | None = None,
) -> GenerationStats:
    """Stream one answer from the remote model; the stats say how it went.

    A cancel closes the stream at once and the stats say CANCELLED. The seed is sent (a
    random one when none is set, as locally) so the answer can be asked for again.
    """
    cancel = cancel or Cancellation()
    seed = settings.seed if settings.seed is not None else random.randint(0, 2**31 - 1)
    body: dict[str, Any] = {
        "model": model.model_id,
        "messages": [{"role": t.role, "content": t.content} for t in turns],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "max_tokens": settings.max_tokens,
        "seed": seed,
    }
    if stop:
        body["stop"] = list(stop)[:4]  # the OpenAI API takes at most four
    client = model.client()
    started = time.perf_counter()
    first: float | None = None
    pieces = 0
    finish = FinishReason.STOP
    usage: dict[str, Any] = {}
    for event in client.stream("/chat/completions", body, cancel):
        if isinstance(event.get("usage"), dict):
            usage = event["usage"]
        for choice in event.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                if first is None:
                    first = time.perf_counter()
                pieces += 1
                on_text(text)
            reason = choice.get("finish_reason")
            if reason == "length":
                finish = FinishReason.LENGTH
    if cancel.is_set():
        finish = FinishReason.CANCELLED
    ended = time.perf_counter()
    completion = _count(usage.get("completion_tokens"), pieces)
    prompt = _count(usage.get("prompt_tokens"), 0)
    decoding = ended - first if first is not None else 0.0
    return GenerationStats(
        prompt_tokens=prompt,
        completion_tokens=completion,
        time_to_first_token_s=(first - started) if first is not None else None,
        generation_time_s=ended - started,
        tokens_per_second=(completion / decoding) if decoding > 0 and completion > 1 else None,
        finish_reason=finish,
        seed=seed,
        trimmed_messages=0,
        n_ctx=n_ctx if n_ctx is not None else model.context_length(settings),
    )


def _count(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback
