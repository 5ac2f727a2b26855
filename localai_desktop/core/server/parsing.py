"""Reading API requests: JSON bodies checked and turned into typed requests, or an ApiError."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.server.errors import bad_request

MAX_STOP_STRINGS = 4
MAX_EMBEDDING_INPUTS = 2048
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
# Accepted only at their neutral value: the engine has no such control.
_NEUTRAL_ONLY = {"presence_penalty": 0, "frequency_penalty": 0}


@dataclass(frozen=True)
class Sampling:
    """The sampling options a request may set; None leaves the app's default."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResponseFormat:
    """What shape the answer must have: "text", "json_object" or "json_schema" (with schema)."""

    kind: str
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChatCompletionRequest:
    model: str
    messages: tuple[ChatTurn, ...]
    sampling: Sampling
    stream: bool = False
    include_usage: bool = False
    response_format: ResponseFormat | None = None


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    prompt: str
    sampling: Sampling
    stream: bool = False
    include_usage: bool = False


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    inputs: tuple[str, ...]
    encoding_format: str = "float"  # or "base64": little-endian float32


def read_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying what is wrong with it."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise bad_request(
            f"The request body is not valid JSON ({error}). Send a JSON object, as the "
            "OpenAI API expects."
        ) from error
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object, not a list or a value.")
    return data


def parse_chat_request(data: dict[str, Any]) -> ChatCompletionRequest:
    """A `POST /v1/chat/completions` body, checked."""
    _refuse_unsupported(data)
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request(
            "'messages' must be a non-empty list of {role, content} objects.", param="messages"
        )
    turns = tuple(_chat_turn(message, index) for index, message in enumerate(messages))
    stream, include_usage = _stream_options(data)
    return ChatCompletionRequest(
        model=_model(data),
        messages=turns,
        sampling=_sampling(data),
        stream=stream,
        include_usage=include_usage,
        response_format=_response_format(data.get("response_format")),
    )


def parse_completion_request(data: dict[str, Any]) -> CompletionRequest:
    """A `POST /v1/completions` body, checked (one prompt string; no echo, suffix, best_of)."""
    _refuse_unsupported(data)
    prompt = data.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise bad_request(
            "'prompt' must be one string (lists of prompts and token ids are not supported).",
            param="prompt",
        )
    for key in ("echo", "suffix"):
        if data.get(key):
            raise bad_request(f"'{key}' is not supported by this server; leave it out.", param=key)
    if data.get("best_of", 1) != 1:
        raise bad_request("'best_of' must be 1 on this server.", param="best_of")
    stream, include_usage = _stream_options(data)
    return CompletionRequest(
        model=_model(data),
        prompt=prompt,
        sampling=_sampling(data),
        stream=stream,
        include_usage=include_usage,
    )


def parse_embedding_request(data: dict[str, Any]) -> EmbeddingRequest:
    """A `POST /v1/embeddings` body, checked (text inputs; no token ids, no `dimensions`)."""
    raw = data.get("input")
    inputs = [raw] if isinstance(raw, str) else raw
    if (
        not isinstance(inputs, list)
        or not inputs
        or not all(isinstance(text, str) for text in inputs)
    ):
        raise bad_request(
            "'input' must be a string or a non-empty list of strings (token ids are not "
            "supported).",
            param="input",
        )
    if len(inputs) > MAX_EMBEDDING_INPUTS:
        raise bad_request(
            f"'input' has {len(inputs)} texts; send at most {MAX_EMBEDDING_INPUTS} at once.",
            param="input",
        )
    if any(not text for text in inputs):
        raise bad_request("'input' must not contain empty strings.", param="input")
    encoding = data.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise bad_request("'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
    if data.get("dimensions") is not None:
        raise bad_request(
            "'dimensions' is not supported: the model's vectors have a fixed size; leave it out.",
            param="dimensions",
        )
    return EmbeddingRequest(model=_model(data), inputs=tuple(inputs), encoding_format=encoding)


# -- parts ------------------------------------------------------------------------------------


def _model(data: dict[str, Any]) -> str:
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request(
            "'model' is missing: name one of the models listed by GET /v1/models.",
            param="model",
        )
    return model


def _chat_turn(message: object, index: int) -> ChatTurn:
    param = f"messages[{index}]"
    if not isinstance(message, dict):
        raise bad_request(f"{param} must be an object with 'role' and 'content'.", param=param)
    role = _ROLES.get(str(message.get("role")))
    if role is None:
        raise bad_request(
            f"{param}.role must be 'system', 'developer', 'user' or 'assistant' (tool "
            "messages are not supported).",
            param=f"{param}.role",
        )
    if message.get("tool_calls") or message.get("function_call"):
        raise bad_request(
            f"{param} has tool calls, which this server does not support.", param=param
        )
    return ChatTurn(role, _content_text(message.get("content"), f"{param}.content"))


def _content_text(content: object, param: str) -> str:
    """Text content, given as a string or as a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise bad_request(
                    f"{param} may only hold text parts (images, audio and files are not "
                    "supported).",
                    param=param,
                )
            text = part.get("text")
            if not isinstance(text, str):
                raise bad_request(f"{param}: a text part needs a 'text' string.", param=param)
            texts.append(text)
        return "".join(texts)
    raise bad_request(f"{param} must be a string or a list of text parts.", param=param)


def _sampling(data: dict[str, Any]) -> Sampling:
    max_tokens = data.get("max_completion_tokens", data.get("max_tokens"))
    return Sampling(
        temperature=_number(data, "temperature", 0.0, 2.0),
        top_p=_number(data, "top_p", 0.0, 1.0),
        max_tokens=_integer(max_tokens, "max_tokens", low=1),
        seed=_integer(data.get("seed"), "seed", low=-(2**63), high=2**63 - 1),
        stop=_stop(data.get("stop")),
    )


def _stream_options(data: dict[str, Any]) -> tuple[bool, bool]:
    stream = data.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise bad_request("'stream' must be true or false.", param="stream")
    options = data.get("stream_options") or {}
    if not isinstance(options, dict):
        raise bad_request("'stream_options' must be an object.", param="stream_options")
    return stream, bool(stream and options.get("include_usage"))


def _refuse_unsupported(data: dict[str, Any]) -> None:
    n = data.get("n", 1)
    if n is not None and n != 1:
        raise bad_request("'n' must be 1: this server answers once per request.", param="n")
    for key in ("tools", "functions"):
        if data.get(key):
            raise bad_request(
                f"'{key}' is not supported by this server (no tool calling); leave it out.",
                param=key,
            )
    if data.get("logprobs"):
        raise bad_request("'logprobs' is not supported by this server.", param="logprobs")
    for key, neutral in _NEUTRAL_ONLY.items():
        value = data.get(key)
        if value is not None and value != neutral:
            raise bad_request(
                f"'{key}' is not supported by this server; leave it out or set it to {neutral}.",
                param=key,
            )


def _number(data: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad_request(f"'{key}' must be a number.", param=key)
    if not low <= value <= high:
        raise bad_request(f"'{key}' must be between {low:g} and {high:g}.", param=key)
    return float(value)


def _integer(value: object, key: str, *, low: int, high: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"'{key}' must be a whole number.", param=key)
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise bad_request(f"'{key}' must be {bound}.", param=key)
    return value


def _stop(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if (
        not isinstance(stops, list)
        or len(stops) > MAX_STOP_STRINGS
        or not all(isinstance(s, str) for s in stops)
    ):
        raise bad_request(
            f"'stop' must be a string or a list of at most {MAX_STOP_STRINGS} strings.",
            param="stop",
        )
    return tuple(s for s in stops if s)


def _response_format(value: object) -> ResponseFormat | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("'response_format' must be an object.", param="response_format")
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise bad_request(
                "'response_format.json_schema.schema' must be a JSON schema object.",
                param="response_format",
            )
        return ResponseFormat("json_schema", schema)
    raise bad_request(
        "'response_format.type' must be 'text', 'json_object' or 'json_schema'.",
        param="response_format",
    )
