"""The desktop app's server, driven by the official `openai` client: one worker, GUI and API."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from localai_desktop.core.audit.entries import API_REQUEST
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.server.api_conversations import API_TITLE_PREFIX
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import BatchRecorder, OpenWindow, window_opener
from tests.support.session_support import ANSWER_TIMEOUT_MS
from tests.ui.chat.test_gui_chat_tab import send
from tests.ui.server.server_support import client_of, serving_window

STORY = [{"role": "user", "content": "Tell me a story about a cat."}]


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


@pytest.fixture
def stories_window(
    open_window: OpenWindow, qtbot: QtBot, data_dir: Path, stories260k: Path
) -> MainWindow:
    return serving_window(open_window, qtbot, data_dir, {"stories": stories260k})


def api_entries(window: MainWindow) -> list[dict[str, object]]:
    return [e.facts for e in window.workspace.audit.entries() if e.kind == API_REQUEST]


def test_models_are_listed_and_a_chat_streams_while_the_window_is_idle(
    stories_window: MainWindow, qtbot: QtBot
) -> None:
    client = client_of(stories_window)
    assert [model.id for model in client.models.list()] == ["stories"]

    stream = client.chat.completions.create(
        model="stories", messages=STORY, max_tokens=40, seed=3, stream=True
    )
    pieces: list[str] = []
    reasons: list[str] = []
    for chunk in stream:
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            if choice.finish_reason:
                reasons.append(choice.finish_reason)
    assert "".join(pieces).strip()
    assert reasons in (["stop"], ["length"])
    # The same request in one piece is the same answer: the Chat tab's engine, same seed.
    whole = client.chat.completions.create(model="stories", messages=STORY, max_tokens=40, seed=3)
    assert whole.choices[0].message.content == "".join(pieces)

    # Recorded in the workspace's audit trail as hashes and counts, never the text.
    qtbot.waitUntil(lambda: len(api_entries(stories_window)) == 2, timeout=10_000)
    facts = api_entries(stories_window)[0]
    assert facts["endpoint"] == "/v1/chat/completions" and facts["model_name"] == "stories"
    assert len(str(facts["request_sha256"])) == 64 and len(str(facts["answer_sha256"])) == 64
    assert "cat" not in repr(api_entries(stories_window))
    assert stories_window.workspace.audit.verify().ok
    # Not kept as conversations unless the person asks for it.
    assert stories_window.store.list() == []


def test_a_missing_or_wrong_token_is_refused_with_401(stories_window: MainWindow) -> None:
    with pytest.raises(openai.AuthenticationError) as wrong:
        client_of(stories_window, token="not-the-token").models.list()
    assert wrong.value.status_code == 401
    assert wrong.value.body["code"] == "invalid_api_key"  # type: ignore[index]
    # No token at all (the client library insists on one, so a plain request).
    address = stories_window.server.state.address
    assert address is not None
    request = urllib.request.Request(
        address.base_url + "/chat/completions",
        data=json.dumps({"model": "stories", "messages": STORY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(request, timeout=10)
    assert missing.value.code == 401
    assert json.loads(missing.value.read())["error"]["code"] == "missing_api_key"
    # A regenerated token applies at once; the old one is refused from then on.
    old = stories_window.server.access_token()
    new = stories_window.server.regenerate_token()
    assert new != old
    with pytest.raises(openai.AuthenticationError):
        client_of(stories_window, token=old).models.list()
    assert [m.id for m in client_of(stories_window, token=new).models.list()] == ["stories"]


def test_an_unknown_model_gets_an_openai_error_and_the_server_keeps_serving(
    stories_window: MainWindow,
) -> None:
    client = client_of(stories_window)
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=STORY, max_tokens=4)
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]
    answer = client.chat.completions.create(model="stories", messages=STORY, max_tokens=8)
    assert answer.choices[0].message.content


def test_a_gui_chat_and_an_api_request_both_answer_on_the_one_chat_worker(
    stories_window: MainWindow, qtbot: QtBot
) -> None:
    window = stories_window
    tab = window.chat_tab
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=300, seed=4, context_length=2048))
    api_answers: list[str] = []
    api_errors: list[BaseException] = []

    def ask_the_api() -> None:
        try:
            answer = client_of(window).chat.completions.create(
                model="stories", messages=STORY, max_tokens=60, seed=1
            )
            api_answers.append(answer.choices[0].message.content or "")
        except BaseException as error:  # reported below, on the test's thread
            api_errors.append(error)

    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, "Once upon a time")
        engine = window.worker._service.engine
        qtbot.waitUntil(lambda: engine.loaded is not None, timeout=ANSWER_TIMEOUT_MS)
        loaded_for_the_chat = engine.loaded
        api = threading.Thread(target=ask_the_api)
        api.start()
    api.join(60)
    assert not api.is_alive() and not api_errors, api_errors
    assert api_answers and api_answers[0].strip()
    message = finished.args[0]
    assert message.status == "complete" and message.content.strip()
    # One model, loaded once for the chat and used by the API as it was: the same worker.
    assert engine.loaded is loaded_for_the_chat
    # And the chat goes on after the API's turn, with the same model.
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as again:
        send(qtbot, window, "And then?")
    assert again.args[0].status == "complete"
    assert engine.loaded is loaded_for_the_chat


def test_a_client_that_disconnects_cancels_its_generation_at_once(
    open_window: OpenWindow, qtbot: QtBot, data_dir: Path, tiny_chat_model: Path
) -> None:
    # A model that never stops talking: only the disconnect can end this answer early.
    window = serving_window(open_window, qtbot, data_dir, {"tiny": tiny_chat_model})
    client = client_of(window)
    stream = client.chat.completions.create(
        model="tiny", messages=STORY, max_tokens=3000, stream=True
    )
    received = 0
    for chunk in stream:
        received += sum(1 for c in chunk.choices if c.delta.content)
        if received >= 3:
            break
    assert window.server.owner.in_flight == 1
    left = time.monotonic()
    stream.close()
    qtbot.waitUntil(lambda: window.server.owner.in_flight == 0, timeout=5_000)
    assert time.monotonic() - left < 1.0
    qtbot.waitUntil(lambda: len(api_entries(window)) == 1, timeout=10_000)
    facts = api_entries(window)[0]
    assert facts["outcome"] == "cancelled"
    assert 0 < int(str(facts["completion_tokens"])) < 3000
    # The worker is free at once for the next request.
    answer = client.chat.completions.create(model="tiny", messages=STORY, max_tokens=5)
    assert answer.usage is not None and answer.usage.completion_tokens == 5


def test_api_chats_are_kept_as_conversations_only_when_switched_on(
    open_window: OpenWindow, qtbot: QtBot, data_dir: Path, stories260k: Path
) -> None:
    window = serving_window(
        open_window, qtbot, data_dir, {"stories": stories260k}, server_save_conversations=True
    )
    client = client_of(window)
    answer = client.chat.completions.create(
        model="stories",
        messages=[{"role": "system", "content": "You tell stories."}, *STORY],
        max_tokens=20,
        seed=2,
    )
    qtbot.waitUntil(lambda: len(window.store.list()) == 1, timeout=10_000)
    kept = window.store.get(window.store.list()[0].id)
    assert kept.title == API_TITLE_PREFIX + "Tell me a story about a cat."
    assert kept.system_prompt == "You tell stories."
    assert [(m.role, m.content) for m in kept.messages] == [
        ("user", STORY[0]["content"]),
        ("assistant", answer.choices[0].message.content),
    ]
    assert kept.messages[1].provenance["model_name"] == "stories"
    # The Chat tab's list shows it without a restart.
    qtbot.waitUntil(lambda: window.chat_tab.conversations.ids() == [kept.id], timeout=5_000)

    window.server.set_save_conversations(False)
    client.chat.completions.create(model="stories", messages=STORY, max_tokens=5)
    qtbot.waitUntil(lambda: len(api_entries(window)) == 2, timeout=10_000)
    assert len(window.store.list()) == 1


def test_embeddings_run_on_the_embedding_worker(
    open_window: OpenWindow, qtbot: QtBot, data_dir: Path, models_dir: Path
) -> None:
    window = serving_window(
        open_window,
        qtbot,
        data_dir,
        {"minilm": models_dir / "all-MiniLM-L6-v2-Q8_0.gguf"},
    )
    client = client_of(window)
    # The embedder the Documents tab's searches use, not loaded yet.
    embedder = window.documents.embedder_for_model(window.registry.get("minilm"))
    assert embedder.embedded_tokens == 0
    result = client.embeddings.create(model="minilm", input=["a cat", "a dog", "tax law"])
    vectors = [item.embedding for item in result.data]
    assert len(vectors) == 3 and all(len(v) == 384 for v in vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    # Made by that same embedder (one loaded model, on the embedding worker).
    assert embedder.embedded_tokens == result.usage.prompt_tokens > 0


def test_switching_the_server_off_mid_answer_stops_it_without_holding_up_the_window(
    open_window: OpenWindow, qtbot: QtBot, data_dir: Path, tiny_chat_model: Path
) -> None:
    window = serving_window(open_window, qtbot, data_dir, {"tiny": tiny_chat_model})
    stream = client_of(window).chat.completions.create(
        model="tiny", messages=STORY, max_tokens=3000, stream=True
    )
    chunks = iter(stream)
    next(chunks)
    assert window.server.owner.in_flight == 1

    started = time.perf_counter()
    window.server.set_enabled(False)  # closing the server waits for connections: not here
    assert time.perf_counter() - started < 0.05
    qtbot.waitUntil(lambda: not window.server.state.changing, timeout=10_000)
    assert not window.server.state.running and window.server.owner.in_flight == 0
    # The client's stream ends at once (cut off: no [DONE]) instead of hanging.
    reading = time.perf_counter()
    with contextlib.suppress(Exception):  # the connection closed mid-stream
        for _ in chunks:
            pass
    assert time.perf_counter() - reading < 5.0
    # The chat worker is free: the window's own chat answers at once.
    tab = window.chat_tab
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=5, context_length=2048))
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, "Hello")
    assert finished.args[0].status == "complete"


def test_a_client_that_leaves_while_waiting_behind_a_chat_frees_its_place_at_once(
    open_window: OpenWindow, qtbot: QtBot, data_dir: Path, tiny_chat_model: Path
) -> None:
    window = serving_window(open_window, qtbot, data_dir, {"tiny": tiny_chat_model})
    tab = window.chat_tab
    tab.settings_panel.set_settings(
        GenerationSettings(max_tokens=20000, context_length=32768, seed=1)
    )
    recorder = BatchRecorder(window)
    with qtbot.waitSignal(recorder.batch_shown, timeout=ANSWER_TIMEOUT_MS):
        send(qtbot, window, "Tell me everything")  # a long answer: the worker is busy
    address = window.server.state.address
    assert address is not None
    body = json.dumps({"model": "tiny", "messages": STORY, "stream": True}).encode()
    client = socket.create_connection((address.host, address.port))
    client.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
        + f"Authorization: Bearer {window.server.access_token()}\r\n".encode()
        + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    qtbot.waitUntil(lambda: window.server.owner.in_flight == 1, timeout=10_000)

    client.close()  # gives up while its request waits behind the chat's answer
    left = time.monotonic()
    qtbot.waitUntil(lambda: window.server.owner.in_flight == 0, timeout=5_000)
    assert time.monotonic() - left < 1.0
    assert tab.is_generating()  # freed without waiting for its turn
    qtbot.waitUntil(lambda: len(api_entries(window)) == 1, timeout=5_000)
    assert api_entries(window)[0]["outcome"] == "cancelled"
    with qtbot.waitSignal(tab.answer_finished, timeout=30_000):
        qtbot.mouseClick(tab.composer.stop_button, Qt.MouseButton.LeftButton)
