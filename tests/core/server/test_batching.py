"""Several API requests answered at once, in one llama.cpp batch, as each would be alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.core.server.conftest import Served, start_server, stop_server

PROMPTS = (
    "Tell me about a cat.",
    "Tell me about a dog who likes to run.",
    "Once upon a time there was a big red ball.",
    "Lily and Tom went to the park.",
)


def stream_chat(served: Served, prompt: str, **options: Any) -> tuple[str, str | None]:
    """One streamed chat at temperature 0: its text and finish reason."""
    client = served.client(timeout=60.0)
    stream = client.chat.completions.create(
        model="stories",
        messages=[{"role": "user", "content": prompt}],
        temperature=0,
        stream=True,
        **{"max_tokens": 64, **options},
    )
    parts: list[str] = []
    reason = None
    for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            reason = chunk.choices[0].finish_reason or reason
    return "".join(parts), reason


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls on threads released together; their results, in order."""
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:  # reported as the result: the test shows which failed
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a request hangs"
    return results


@pytest.fixture
def stories_only(models_dir: Path) -> dict[str, Path]:
    return {"stories": models_dir / "stories260K.gguf"}


def test_four_concurrent_streams_match_the_same_requests_alone(
    tmp_path: Path, stories_only: dict[str, Path]
) -> None:
    # Alone: the one-at-a-time path the server had before batching (LlamaEngine.generate).
    (tmp_path / "alone").mkdir()
    single = start_server(tmp_path / "alone", stories_only, parallel=1)
    try:
        alone = [stream_chat(single, prompt) for prompt in PROMPTS]
    finally:
        stop_server(single)
    (tmp_path / "batched").mkdir()
    batched = start_server(tmp_path / "batched", stories_only, parallel=4)
    try:
        together = at_once([lambda p=prompt: stream_chat(batched, p) for prompt in PROMPTS])
        alone_in_batcher = [stream_chat(batched, prompt) for prompt in PROMPTS]
    finally:
        stop_server(batched)
    for result in together:
        assert not isinstance(result, Exception), result
    assert all(text and reason in ("stop", "length") for text, reason in together)
    matches = sum(t == a for t, a in zip(together, alone, strict=True))
    print(f"\nconcurrent vs alone: {matches}/{len(PROMPTS)} texts identical")
    # stories260K is all F32: a batch of four computes each row exactly as a batch of one.
    assert together == alone
    assert alone_in_batcher == alone
    assert len({text for text, _ in together}) == len(PROMPTS)  # four different answers


def test_a_cancelled_stream_stops_at_once_while_the_others_finish(
    tmp_path: Path, models_dir: Path, tiny_chat_model: Path
) -> None:
    served = start_server(
        tmp_path,
        {"stories": models_dir / "stories260K.gguf", "tiny-chat": tiny_chat_model},
        parallel=4,
    )
    closed_at: list[float] = []

    def leaver() -> int:
        # tiny-chat never stops by itself: only the cancel can end this answer early.
        client = served.client(timeout=60.0)
        stream = client.chat.completions.create(
            model="tiny-chat",
            messages=[{"role": "user", "content": "Talk."}],
            max_tokens=1500,
            stream=True,
        )
        received = 0
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received += 1
                if received == 5:
                    break
        closed_at.append(time.monotonic())
        stream.close()
        return received

    def stayer() -> tuple[str, str | None]:
        client = served.client(timeout=60.0)
        stream = client.chat.completions.create(
            model="tiny-chat",
            messages=[{"role": "user", "content": "Talk on."}],
            max_tokens=400,
            temperature=0,
            stream=True,
        )
        parts: list[str] = []
        reason = None
        for chunk in stream:
            if chunk.choices:
                parts.append(chunk.choices[0].delta.content or "")
                reason = chunk.choices[0].finish_reason or reason
        return "".join(parts), reason

    try:
        results = at_once([leaver, stayer, stayer, stayer])
        deadline = time.monotonic() + 10
        while len(served.records) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        cancelled = [r for r in served.records if r.outcome == "cancelled"]
        finished = [r for r in served.records if r.outcome == "length"]
        assert results[0] == 5
        assert len(cancelled) == 1 and cancelled[0].completion_tokens < 3000
        # The others were not disturbed: each wrote its whole answer, the same one.
        assert len(finished) == 3
        assert all(r.completion_tokens == 400 for r in finished)
        texts = {text for text, reason in results[1:]}
        assert len(texts) == 1 and all(reason == "length" for _, reason in results[1:])
    finally:
        stop_server(served)


def test_a_cancelled_sequence_leaves_the_batch_within_a_step(
    tmp_path: Path, models_dir: Path, tiny_chat_model: Path
) -> None:
    served = start_server(tmp_path, {"tiny-chat": tiny_chat_model}, parallel=4)
    try:
        client = served.client(timeout=60.0)
        streams = [
            client.chat.completions.create(
                model="tiny-chat",
                messages=[{"role": "user", "content": f"Talk {n}."}],
                max_tokens=1500,
                stream=True,
            )
            for n in range(2)
        ]
        for stream in streams:
            next(iter(stream))
        streams[0].close()
        closed_at = time.monotonic()
        deadline = closed_at + 5
        while not served.records and time.monotonic() < deadline:
            time.sleep(0.005)
        assert served.records and served.records[0].outcome == "cancelled"
        assert time.monotonic() - closed_at < 1.0
        # The other is still answering.
        more = sum(1 for _ in zip(range(20), streams[1], strict=False))
        assert more == 20
        streams[1].close()
    finally:
        stop_server(served)


def test_stop_strings_and_max_tokens_apply_to_each_request_in_a_batch(
    tmp_path: Path, stories_only: dict[str, Path]
) -> None:
    served = start_server(tmp_path, stories_only, parallel=4)
    try:
        prompt = PROMPTS[0]
        full, _ = stream_chat(served, prompt, max_tokens=80)
        stop_word = full.split()[6]  # a word the answer is sure to reach
        short = served.client().chat.completions.create(
            model="stories",
            messages=[{"role": "user", "content": prompt}],
            temperature=0,
            max_tokens=5,
        )
        results = at_once(
            [
                lambda: stream_chat(served, prompt, max_tokens=5),
                lambda: stream_chat(served, prompt, max_tokens=80, stop=[stop_word]),
                lambda: stream_chat(served, prompt, max_tokens=80),
                lambda: served.client().chat.completions.create(
                    model="stories",
                    messages=[{"role": "user", "content": prompt}],
                    temperature=0,
                    max_tokens=5,
                ),
            ]
        )
    finally:
        stop_server(served)
    limited, stopped, unlimited, whole = results
    assert limited == (short.choices[0].message.content, "length")
    assert whole.usage.completion_tokens == 5
    assert whole.choices[0].finish_reason == "length"
    assert stopped[1] == "stop"
    assert stop_word not in stopped[0]
    assert full.startswith(stopped[0])
    assert unlimited == (full, "length") or unlimited[1] == "stop"
    assert unlimited[0] == full


def test_a_request_sharing_a_system_prompt_with_a_running_one_reads_only_its_own_part(
    tmp_path: Path, stories_only: dict[str, Path]
) -> None:
    system = (
        "You are a kind storyteller for small children. Tell short, happy stories about "
        "animals, parks and friends, with simple words and no sad endings."
    )

    def ask(question: str) -> Any:
        return served.client().chat.completions.create(
            model="stories",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
            temperature=0,
            max_tokens=12,
        )

    served = start_server(tmp_path, stories_only, parallel=2)
    try:
        running = served.client(timeout=60.0).chat.completions.create(
            model="stories",
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": "Tell me about a cat."},
            ],
            temperature=0,
            max_tokens=1500,
            stream=True,
        )
        assert sum(1 for _ in zip(range(3), running, strict=False)) == 3  # it is answering
        beside = ask("Tell me about a dog.")  # in the other slot, while the first answers
        running.close()
        again = ask("Tell me about a dog.")
    finally:
        stop_server(served)
    cached = beside.usage.prompt_tokens_details.cached_tokens
    # The system prompt came from the running answer's cache; only the question (about 20 of
    # stories260K's short tokens, with the chat format's end) was read.
    assert cached > 60
    assert beside.usage.prompt_tokens - cached <= 20
    assert beside.choices[0].message.content == again.choices[0].message.content
