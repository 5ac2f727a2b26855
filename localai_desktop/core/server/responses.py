"""OpenAI-shaped answers: model lists, completions, stream chunks, embeddings, as plain dicts."""

from __future__ import annotations

import base64
import secrets
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int | None = None  # prompt tokens taken from a cache, where known

    def to_dict(self) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        if self.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage


@dataclass(frozen=True)
class Answer:
    """Who is answering, fixed when the answer starts: every chunk repeats it."""

    id: str
    model: str
    created: int

    @classmethod
    def new(cls, prefix: str, model: str) -> Answer:
        return cls(f"{prefix}-{secrets.token_hex(12)}", model, int(time.time()))


def model_entry(name: str, added_at: datetime) -> dict[str, Any]:
    return {
        "id": name,
        "object": "model",
        "created": int(added_at.timestamp()),
        "owned_by": "local",
    }


def model_list(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": list(entries)}


def chat_completion(answer: Answer, text: str, finish_reason: str, usage: Usage) -> dict[str, Any]:
    return {
        "id": answer.id,
        "object": "chat.completion",
        "created": answer.created,
        "model": answer.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage.to_dict(),
    }


def chat_chunk(
    answer: Answer,
    *,
    content: str | None = None,
    role: bool = False,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """One streamed piece: the role first, then text, then an empty delta with the reason."""
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    return {
        "id": answer.id,
        "object": "chat.completion.chunk",
        "created": answer.created,
        "model": answer.model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def text_completion(
    answer: Answer, text: str, finish_reason: str | None, usage: Usage | None
) -> dict[str, Any]:
    """A `/v1/completions` answer, or (usage None) one streamed piece of it."""
    body: dict[str, Any] = {
        "id": answer.id,
        "object": "text_completion",
        "created": answer.created,
        "model": answer.model,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage.to_dict()
    return body


def usage_chunk(answer: Answer, usage: Usage, *, object_name: str) -> dict[str, Any]:
    """The last chunk of a stream asked to include usage: no choices, just the counts."""
    return {
        "id": answer.id,
        "object": object_name,
        "created": answer.created,
        "model": answer.model,
        "choices": [],
        "usage": usage.to_dict(),
    }


def embedding_list(
    model: str, vectors: Sequence[Sequence[float]], *, prompt_tokens: int, encoding: str
) -> dict[str, Any]:
    data = [
        {"object": "embedding", "index": index, "embedding": _encode(vector, encoding)}
        for index, vector in enumerate(vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def _encode(vector: Sequence[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return [float(value) for value in vector]
