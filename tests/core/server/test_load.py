"""A bounded load test on loopback: many streaming clients at once, none left hanging."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.core.server.conftest import Served, start_server, stop_server

CLIENTS = 16
DEADLINE_S = 30.0


def run_clients(served: Served, clients: int, max_tokens: int) -> tuple[Counter[str], list[str]]:
    """Start `clients` streaming chats at once; how each ended, and any 429's Retry-After."""
    outcomes: Counter[str] = Counter()
    retry_after: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def one_client(seed: int) -> None:
        client = served.client(timeout=DEADLINE_S)
        start.wait()
        try:
            stream = client.chat.completions.create(
                model="stories",
                messages=[{"role": "user", "content": f"Story number {seed}."}],
                max_tokens=max_tokens,
                seed=seed,
                stream=True,
            )
            text = []
            reason = None
            for chunk in stream:
                if chunk.choices:
                    text.append(chunk.choices[0].delta.content or "")
                    reason = chunk.choices[0].finish_reason or reason
            outcome = "completed" if reason in ("stop", "length") and "".join(text) else "broken"
        except openai.RateLimitError as error:
            outcome = "429"
            with lock:
                retry_after.append(error.response.headers.get("retry-after", ""))
        except Exception as error:  # anything else is a failure of the test
            outcome = f"error: {type(error).__name__}: {error}"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=one_client, args=(seed,)) for seed in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + DEADLINE_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    hanging = sum(thread.is_alive() for thread in threads)
    if hanging:
        outcomes["hanging"] += hanging
    return outcomes, retry_after


@pytest.fixture
def stories_server(data_dir: Path, models_dir: Path) -> Iterator[Served]:
    running = start_server(data_dir, {"stories": models_dir / "stories260K.gguf"})
    yield running
    stop_server(running)


@pytest.mark.slow
def test_sixteen_streaming_clients_each_complete_or_get_a_clean_429(
    stories_server: Served,
) -> None:
    stories_server.client().models.list()  # warm: the first connection imports the client
    started = time.monotonic()
    outcomes, retry_after = run_clients(stories_server, CLIENTS, max_tokens=64)
    took = time.monotonic() - started
    print(f"\n{CLIENTS} clients in {took:.1f} s: {dict(outcomes)}")
    assert set(outcomes) <= {"completed", "429"}, outcomes
    assert sum(outcomes.values()) == CLIENTS
    assert outcomes["completed"] >= 1
    assert all(value.isdigit() and int(value) >= 1 for value in retry_after)
    answer = stories_server.client().chat.completions.create(
        model="stories", messages=[{"role": "user", "content": "And one more."}], max_tokens=8
    )
    assert answer.choices[0].message.content


def test_a_full_queue_answers_429_with_retry_after(data_dir: Path, models_dir: Path) -> None:
    served = start_server(data_dir, {"stories": models_dir / "stories260K.gguf"}, max_waiting=1)
    try:
        served.client().models.list()
        outcomes, retry_after = run_clients(served, 6, max_tokens=400)
    finally:
        stop_server(served)
    assert set(outcomes) <= {"completed", "429"}, outcomes
    assert outcomes["429"] >= 1 and outcomes["completed"] >= 1
    assert retry_after and all(value.isdigit() for value in retry_after)
