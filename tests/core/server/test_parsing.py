"""Requests checked into typed requests, and answers shaped as OpenAI's, without sockets."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.server.access import bearer_token, is_loopback, token_matches
from localai_desktop.core.server.errors import ApiError
from localai_desktop.core.server.grammar import grammar_for
from localai_desktop.core.server.parsing import (
    ResponseFormat,
    Sampling,
    parse_chat_request,
    parse_completion_request,
    parse_embedding_request,
    read_json_object,
)
from localai_desktop.core.server.responses import Answer, Usage, chat_chunk, embedding_list

USER = [{"role": "user", "content": "Hello"}]


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "stories", "messages": USER, **fields}


def refused(parse: Any, data: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse(data)
    assert caught.value.status == 400
    return caught.value


def test_a_chat_request_becomes_turns_and_sampling() -> None:
    request = parse_chat_request(
        chat(
            messages=[
                {"role": "developer", "content": "Be brief."},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}],
                },
                {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "Again"},
            ],
            temperature=0,
            top_p=0.5,
            max_completion_tokens=12,
            seed=3,
            stop="END",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert request.messages == (
        ChatTurn("system", "Be brief."),
        ChatTurn("user", "Hi there"),
        ChatTurn("assistant", "Hello."),
        ChatTurn("user", "Again"),
    )
    assert request.sampling == Sampling(
        temperature=0.0, top_p=0.5, max_tokens=12, seed=3, stop=("END",)
    )
    assert request.stream and request.include_usage
    assert request.response_format is None


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"top_p": "high"}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"seed": "1"}, "seed"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stream": "yes"}, "stream"),
        ({"n": 3}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"frequency_penalty": 0.5}, "frequency_penalty"),
        ({"messages": []}, "messages"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages[0].content",
        ),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"model": ""}, "model"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "response_format"),
    ],
)
def test_bad_chat_fields_are_refused_naming_the_field(fields: dict[str, Any], param: str) -> None:
    error = refused(parse_chat_request, chat(**fields))
    assert error.param == param
    assert error.message.endswith(".")
    assert error.body()["error"]["param"] == param


def test_neutral_values_of_unsupported_options_are_accepted() -> None:
    request = parse_chat_request(chat(presence_penalty=0, frequency_penalty=0.0, n=1, tools=[]))
    assert request.model == "stories"


def test_malformed_json_says_so() -> None:
    with pytest.raises(ApiError, match="not valid JSON"):
        read_json_object(b'{"model": ')
    with pytest.raises(ApiError, match="JSON object"):
        read_json_object(b'"just a string"')
    with pytest.raises(ApiError, match="not valid JSON"):
        read_json_object(b"\xff\xfe")


def test_a_completion_takes_one_prompt() -> None:
    assert parse_completion_request({"model": "m", "prompt": ["Once"]}).prompt == "Once"
    assert refused(parse_completion_request, {"model": "m", "prompt": [1, 2]}).param == "prompt"
    assert (
        refused(parse_completion_request, {"model": "m", "prompt": "x", "echo": True}).param
        == "echo"
    )


def test_embedding_inputs_are_strings() -> None:
    assert parse_embedding_request({"model": "m", "input": "one"}).inputs == ("one",)
    assert parse_embedding_request({"model": "m", "input": ["a", "b"]}).inputs == ("a", "b")
    assert refused(parse_embedding_request, {"model": "m", "input": [[1, 2]]}).param == "input"
    assert refused(parse_embedding_request, {"model": "m", "input": [""]}).param == "input"
    assert (
        refused(parse_embedding_request, {"model": "m", "input": "a", "dimensions": 8}).param
        == "dimensions"
    )


def test_response_formats_become_grammars() -> None:
    assert grammar_for(None) is None
    assert "root" in (grammar_for(ResponseFormat("json_object")) or "")
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    grammar = grammar_for(ResponseFormat("json_schema", schema)) or ""
    assert '"\\"name\\""' in grammar
    # Strings may not hold raw control characters: strict JSON parsers refuse them.
    assert r"\x00-\x1F" in grammar
    with pytest.raises(ApiError, match="JSON schema"):
        grammar_for(ResponseFormat("json_schema", {"$ref": "https://example.com/elsewhere"}))


def test_stream_chunks_carry_the_role_first_then_text_then_the_reason() -> None:
    answer = Answer("chatcmpl-1", "stories", 100)
    assert chat_chunk(answer, content="", role=True)["choices"][0]["delta"] == {
        "role": "assistant",
        "content": "",
    }
    assert chat_chunk(answer, content="Hi")["choices"][0]["delta"] == {"content": "Hi"}
    last = chat_chunk(answer, finish_reason="stop")["choices"][0]
    assert last["delta"] == {} and last["finish_reason"] == "stop"
    assert Usage(3, 4).to_dict() == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def test_embeddings_may_be_sent_as_base64_float32() -> None:
    body = embedding_list("m", [[0.5, -1.0]], prompt_tokens=2, encoding="base64")
    encoded = body["data"][0]["embedding"]
    assert struct.unpack("<2f", base64.b64decode(encoded)) == (0.5, -1.0)


def test_tokens_are_compared_whole_and_never_empty() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert token_matches("abc", "abc")
    assert not token_matches("abd", "abc")
    assert not token_matches("ab", "abc")
    assert not token_matches("", "")
    assert not token_matches("abc", "")


def test_only_loopback_addresses_keep_the_server_private() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
