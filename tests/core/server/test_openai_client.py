"""The server driven by the official `openai` client, on real models, over 127.0.0.1."""

from __future__ import annotations

import json
import math
import time

import openai
import pytest

from tests.core.server.conftest import Served

STORY = [{"role": "user", "content": "Tell me a story about a cat."}]


def wait_for_records(served: Served, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(served.records) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(served.records) >= count, f"only {len(served.records)} requests recorded"


def test_models_are_listed_by_their_names_in_the_models_tab(served: Served) -> None:
    client = served.client()
    names = sorted(model.id for model in client.models.list())
    assert names == ["minilm", "stories", "tiny-chat"]
    assert client.models.retrieve("stories").id == "stories"


def test_a_chat_completion_answers_in_one_piece(served: Served) -> None:
    answer = served.client().chat.completions.create(
        model="stories", messages=STORY, max_tokens=24, seed=7, temperature=0.8, top_p=0.9
    )
    choice = answer.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert answer.model == "stories"
    assert 0 < answer.usage.completion_tokens <= 24
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens


def test_a_streamed_chat_is_the_same_answer_as_the_whole_one(served: Served) -> None:
    client = served.client()
    whole = client.chat.completions.create(model="stories", messages=STORY, max_tokens=30, seed=3)
    stream = client.chat.completions.create(
        model="stories",
        messages=STORY,
        max_tokens=30,
        seed=3,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces: list[str] = []
    reasons: list[str] = []
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                reasons.append(choice.finish_reason)
    assert "".join(pieces) == whole.choices[0].message.content
    assert reasons == [whole.choices[0].finish_reason]
    assert usage is not None and usage.completion_tokens == whole.usage.completion_tokens


def test_stop_strings_end_the_answer_before_them(served: Served) -> None:
    client = served.client()
    free = client.chat.completions.create(model="stories", messages=STORY, max_tokens=60, seed=5)
    text = free.choices[0].message.content
    word = text.split()[3]
    stopped = client.chat.completions.create(
        model="stories", messages=STORY, max_tokens=60, seed=5, stop=[word]
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert word not in stopped.choices[0].message.content
    assert text.startswith(stopped.choices[0].message.content)


def test_a_plain_completion_continues_the_prompt(served: Served) -> None:
    client = served.client()
    answer = client.completions.create(
        model="stories", prompt="Once upon a time", max_tokens=16, seed=1
    )
    assert answer.object == "text_completion"
    assert answer.choices[0].text
    assert answer.usage.completion_tokens <= 16
    streamed = client.completions.create(
        model="stories", prompt="Once upon a time", max_tokens=16, seed=1, stream=True
    )
    assert "".join(chunk.choices[0].text for chunk in streamed) == answer.choices[0].text


def test_embeddings_are_unit_vectors_one_per_input(served: Served) -> None:
    answer = served.client().embeddings.create(
        model="minilm", input=["A cat sleeps.", "A kitten naps.", "Tax law is complex."]
    )
    vectors = [item.embedding for item in answer.data]
    assert [item.index for item in answer.data] == [0, 1, 2]
    assert all(len(vector) == 384 for vector in vectors)
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-4) for v in vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return math.fsum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    assert answer.usage.prompt_tokens > 0
    # The client asks for base64 by default when numpy is there; both decode the same.
    as_float = served.client().embeddings.create(
        model="minilm", input="A cat sleeps.", encoding_format="float"
    )
    assert as_float.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)


def test_a_json_schema_answer_parses_and_matches_the_schema(served: Served) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 12},
            "age": {"type": "integer"},
            "pets": {"type": "array", "items": {"enum": ["cat", "dog"]}, "maxItems": 3},
        },
        "required": ["name", "age", "pets"],
        "additionalProperties": False,
    }
    client = served.client()
    for seed in (1, 2, 3):
        answer = client.chat.completions.create(
            model="stories",
            messages=[{"role": "user", "content": "Describe a person as JSON."}],
            max_tokens=300,
            seed=seed,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "person", "schema": schema},
            },
        )
        assert answer.choices[0].finish_reason == "stop"
        data = json.loads(answer.choices[0].message.content)
        assert set(data) == {"name", "age", "pets"}
        assert isinstance(data["name"], str) and len(data["name"]) <= 12
        assert isinstance(data["age"], int)
        assert all(pet in ("cat", "dog") for pet in data["pets"]) and len(data["pets"]) <= 3


def test_json_object_mode_answers_with_a_json_object(served: Served) -> None:
    # Without a schema JSON has no length bound, and stories260K keeps writing until
    # max_tokens: the answer is the beginning of a JSON object.
    answer = served.client().chat.completions.create(
        model="stories",
        messages=[{"role": "user", "content": "JSON please."}],
        max_tokens=40,
        seed=1,
        response_format={"type": "json_object"},
    )
    assert answer.choices[0].message.content.startswith("{")


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_request_without_the_right_token_gets_401(served: Served, token: str | None) -> None:
    client = openai.OpenAI(base_url=served.base_url, api_key=token or "unused", max_retries=0)
    if token is None:
        client = client.with_options(default_headers={"Authorization": ""})
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="stories", messages=STORY, max_tokens=4)
    assert "token" in caught.value.message
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    assert served.records == []  # nothing reached a model


def test_a_regenerated_token_applies_at_once(served: Served) -> None:
    old = served.client()
    assert old.models.list().data
    new_token = served.workspace.settings.server_token(regenerate=True)
    with pytest.raises(openai.AuthenticationError):
        old.models.list()
    fresh = openai.OpenAI(base_url=served.base_url, api_key=new_token, max_retries=0)
    assert fresh.models.list().data


def test_a_client_that_disconnects_mid_stream_cancels_its_generation(served: Served) -> None:
    # tiny-chat never stops by itself: only the cancel can end this answer early.
    client = served.client()
    stream = client.chat.completions.create(
        model="tiny-chat", messages=STORY, max_tokens=3000, seed=1, stream=True
    )
    received = 0
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received += 1
            if received == 3:
                break
    closed_at = time.monotonic()
    stream.close()
    wait_for_records(served, 1)
    record = served.records[0]
    assert time.monotonic() - closed_at < 2.0
    assert record.outcome == "cancelled"
    assert record.completion_tokens < 3000
    # The model is free again at once.
    answer = client.chat.completions.create(model="stories", messages=STORY, max_tokens=8)
    assert answer.choices[0].message.content


def test_api_traffic_is_recorded_as_hashes_and_not_as_conversations(served: Served) -> None:
    answer = served.client().chat.completions.create(
        model="stories", messages=STORY, max_tokens=12, seed=2
    )
    wait_for_records(served, 1)
    record = served.records[0]
    assert record.endpoint == "/v1/chat/completions"
    assert record.model == "stories"
    assert record.outcome == answer.choices[0].finish_reason
    assert len(record.request_sha256) == 64 and len(record.answer_sha256) == 64
    text = answer.choices[0].message.content
    entries = [e for e in served.workspace.audit.entries() if e.kind == "api_request"]
    assert [e.facts for e in entries] == [record.facts()]
    assert text not in repr(entries[0].facts)
    assert "stories" in entries[0].describe()
    assert served.workspace.audit.verify().ok
    assert served.workspace.conversations.list() == []
