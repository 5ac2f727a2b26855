"""Bad requests get an OpenAI-style error saying what to do, and the server keeps serving."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.core.server.conftest import Served, start_server, stop_server

STORY = [{"role": "user", "content": "Tell me a story."}]
BODY_LIMIT = 64 * 1024


@pytest.fixture
def small_server(data_dir: Path, models_dir: Path) -> Iterator[Served]:
    running = start_server(
        data_dir,
        {
            "stories": models_dir / "stories260K.gguf",
            "minilm": models_dir / "all-MiniLM-L6-v2-Q8_0.gguf",
        },
        max_body_bytes=BODY_LIMIT,
    )
    yield running
    stop_server(running)


def post(served: Served, path: str, body: bytes, **headers: str) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection(served.server.host, served.server.port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Authorization": f"Bearer {served.token}",
                "Content-Type": "application/json",
                **headers,
            },
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def assert_error_shape(body: dict[str, Any]) -> dict[str, Any]:
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"].endswith(".")
    return error


def assert_still_serving(served: Served) -> None:
    answer = served.client().chat.completions.create(model="stories", messages=STORY, max_tokens=4)
    assert answer.choices[0].message.content


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"model": "stories"}', "'messages'"),
        (b'{"model": "stories", "messages": [{"role": "tool", "content": "x"}]}', "role"),
        (b'{"model": "stories", "messages": "hello", "temperature": 9}', "'messages'"),
        (b'{"model": "stories", "messages": [{"role": "user"}], "temperature": 9}', "content"),
        (b'{"model": "stories", "messages": [{"role": "user", "content": "x"}], "n": 2}', "'n'"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "'model'"),
    ],
)
def test_malformed_requests_get_a_400_saying_what_is_wrong(
    small_server: Served, body: bytes, words: str
) -> None:
    status, answer = post(small_server, "/v1/chat/completions", body)
    assert status == 400
    error = assert_error_shape(answer)
    assert error["type"] == "invalid_request_error"
    assert words in error["message"]
    assert_still_serving(small_server)


def test_an_unknown_model_gets_a_404_naming_it(small_server: Served) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        small_server.client().chat.completions.create(model="gpt-9", messages=STORY)
    assert "gpt-9" in caught.value.message and "/v1/models" in caught.value.message
    assert caught.value.code == "model_not_found"
    assert_still_serving(small_server)


def test_models_are_used_for_what_they_can_do(small_server: Served) -> None:
    client = small_server.client()
    with pytest.raises(openai.BadRequestError, match="embedding model"):
        client.chat.completions.create(model="minilm", messages=STORY)
    with pytest.raises(openai.BadRequestError, match="chat model"):
        client.embeddings.create(model="stories", input="hello")


def test_an_oversize_request_gets_a_413(small_server: Served) -> None:
    text = "word " * (BODY_LIMIT // 4)
    body = json.dumps({"model": "stories", "messages": [{"role": "user", "content": text}]})
    status, answer = post(small_server, "/v1/chat/completions", body.encode())
    assert status == 413
    error = assert_error_shape(answer)
    assert error["code"] == "request_too_large"
    assert_still_serving(small_server)


def test_a_prompt_longer_than_the_context_gets_a_400(small_server: Served) -> None:
    # stories260K was trained on 2048 tokens: the server loads it with no more.
    long_text = "The cat sat on the mat. " * 600
    client = small_server.client()
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="stories", messages=[{"role": "user", "content": long_text}]
        )
    assert caught.value.code == "context_length_exceeded"
    assert "2048" in caught.value.message
    with pytest.raises(openai.BadRequestError, match="context length"):
        client.chat.completions.create(
            model="stories", messages=STORY, max_tokens=5000, stream=True
        )
    with pytest.raises(openai.BadRequestError, match="reads at most 512 tokens"):
        client.embeddings.create(model="minilm", input=long_text[:9000])
    assert_still_serving(small_server)


def test_an_unknown_path_or_method_is_answered_in_the_same_shape(small_server: Served) -> None:
    status, answer = post(small_server, "/v1/images/generations", b"{}")
    assert status == 404
    assert "/v1/chat/completions" in assert_error_shape(answer)["message"]
    connection = http.client.HTTPConnection(small_server.server.host, small_server.server.port)
    connection.request(
        "GET", "/v1/chat/completions", headers={"Authorization": f"Bearer {small_server.token}"}
    )
    response = connection.getresponse()
    assert response.status == 405
    assert_error_shape(json.loads(response.read()))
    connection.close()
    assert_still_serving(small_server)


def test_unsupported_options_are_refused_not_ignored(small_server: Served) -> None:
    client = small_server.client()
    with pytest.raises(openai.BadRequestError, match="tool"):
        client.chat.completions.create(
            model="stories",
            messages=STORY,
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        )
    with pytest.raises(openai.BadRequestError, match="presence_penalty"):
        client.chat.completions.create(model="stories", messages=STORY, presence_penalty=1.0)
