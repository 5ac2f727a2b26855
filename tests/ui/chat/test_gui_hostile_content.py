"""A model file or an answer must never lock a person out of the window (issue 22)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTextEdit
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.chat.message_view import MessageView
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.widgets.safe_text import SafeTextBrowser, inert_tooltip
from tests.support.gui_support import BatchRecorder, OpenWindow, last_view, window_opener
from tests.support.hostile_content import (
    HOSTILE_TEMPLATES,
    UNSAFE_NOTICE,
    counting_server,
    hostile_answers,
    write_hostile_model,
)

ANSWER_TIMEOUT_MS = 120_000


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def import_model(data_dir: Path, path: Path, name: str, *, probe: bool = True) -> None:
    db = Database(init_data_paths(data_dir).database)
    try:
        ModelRegistry(db, data_dir / "models").import_model(path, name=name, probe=probe)
    finally:
        db.close()


def send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    box = window.chat_tab.composer.input
    box.setFocus()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def answer_then_stop(qtbot: QtBot, window: MainWindow):  # type: ignore[no-untyped-def]
    """Ask, wait for the answer to stream, press Stop: the finished answer."""
    tab = window.chat_tab
    tab.settings_panel.set_settings(
        GenerationSettings(max_tokens=20000, context_length=2048, seed=1)
    )
    recorder = BatchRecorder(window)
    with qtbot.waitSignal(recorder.batch_shown, timeout=ANSWER_TIMEOUT_MS):
        send(qtbot, window, "Tell me everything")
    started = time.monotonic()
    with qtbot.waitSignal(tab.answer_finished, timeout=10_000) as finished:
        qtbot.mouseClick(tab.composer.stop_button, Qt.MouseButton.LeftButton)
    assert time.monotonic() - started < 2.0
    return finished.args[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE_TEMPLATES))
def test_a_model_with_a_hostile_template_chats_in_the_standard_format_and_stops(
    name: str,
    open_window: OpenWindow,
    data_dir: Path,
    models_dir: Path,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    import_model(data_dir, write_hostile_model(tmp_path, name, models_dir), "Hostile")
    window = open_window(data_dir)
    # Told once, in plain words, in the Chat tab and in the Models tab.
    assert window.chat_tab.banner.text() == f"“Hostile”: {UNSAFE_NOTICE}."
    table = window.models_tab.table_model
    assert table.data(table.index(0, 7)) == "Not used"
    assert UNSAFE_NOTICE in table.data(table.index(0, 7), Qt.ItemDataRole.ToolTipRole)

    message = answer_then_stop(qtbot, window)
    assert message.status == "stopped" and message.content
    assert message.provenance["chat_format"] == "standard"
    assert message.provenance["chat_format_note"] == UNSAFE_NOTICE
    assert not window.chat_tab.is_generating()


@pytest.mark.slow
def test_a_model_imported_before_the_check_is_checked_at_first_load(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    path = write_hostile_model(tmp_path, "silent_loops", models_dir)
    import_model(data_dir, path, "Old import", probe=False)
    window = open_window(data_dir)
    assert window.chat_tab.banner.text() == ""  # not checked yet: nothing known to tell

    message = answer_then_stop(qtbot, window)
    assert message.provenance["chat_format"] == "standard"
    assert window.chat_tab.banner.text() == f"“Old import”: {UNSAFE_NOTICE}."
    assert window.registry.get("Old import").chat_template_notice == UNSAFE_NOTICE


def _conversation_with_answers(data_dir: Path, answers: list[str]) -> int:
    db = Database(init_data_paths(data_dir).database)
    try:
        store = ConversationStore(db)
        conversation = store.create("Pictures")
        for answer in answers:
            store.add_message(conversation.id, "user", "Show me")
            store.add_message(conversation.id, "assistant", answer)
        return conversation.id
    finally:
        db.close()


def test_answers_naming_files_devices_and_addresses_paint_without_loading_them(
    data_dir: Path, tmp_path: Path
) -> None:
    with counting_server() as (port, requests):
        _conversation_with_answers(data_dir, hostile_answers(port, tmp_path))

        def cap_memory() -> None:
            import resource

            # A regression reads /dev/zero until memory runs out: not past 4 GiB here.
            resource.setrlimit(resource.RLIMIT_AS, (4 * 1024**3, 4 * 1024**3))

        done = subprocess.run(
            [sys.executable, "-m", "tests.support.paint_window", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=cap_memory if sys.platform.startswith("linux") else None,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert requests == []
    assert report["seconds"] < 5
    assert report["peak_rss_bytes"] < 500 * 1024**2
    shown = "\n".join(report["transcript"])
    assert "[image: /dev/zero]" in shown
    assert "[image: file:///dev/urandom]" in shown
    assert f"[image: http://127.0.0.1:{port}/pixel.png]" in shown
    assert f"a link (http://127.0.0.1:{port}/page)" in shown
    assert "<img src=" in shown  # raw HTML in an answer is text, not markup


def test_a_conversation_that_cannot_be_shown_does_not_stop_the_window(
    open_window: OpenWindow, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(init_data_paths(data_dir).database)
    store = ConversationStore(db)
    fine = store.create("Fine")
    store.add_message(fine.id, "user", "Hello")
    broken = store.create("Broken one")  # the newest: shown on start
    store.add_message(broken.id, "user", "boom")
    db.close()
    original = MessageView.set_message

    def set_message(view: MessageView, message):  # type: ignore[no-untyped-def]
        if message.content == "boom":
            raise RuntimeError("cannot show this")
        original(view, message)

    monkeypatch.setattr(MessageView, "set_message", set_message)
    window = open_window(data_dir)
    tab = window.chat_tab
    assert "“Broken one” could not be shown" in tab.banner.text()
    assert tab.transcript.views() == []
    tab.select_conversation(fine.id)
    assert [v.message.content for v in tab.transcript.views()] == ["Hello"]


def test_every_text_view_in_the_window_is_inert(
    open_window: OpenWindow, data_dir: Path, stories260k: Path
) -> None:
    import_model(data_dir, stories260k, "Stories <img src='/dev/zero'>")
    db = Database(init_data_paths(data_dir).database)
    store = ConversationStore(db)
    conversation = store.create("<img src='/dev/zero'> title")
    store.add_message(conversation.id, "user", "<img src='/dev/zero'>")
    store.add_message(conversation.id, "assistant", "![x](/dev/zero)")
    db.close()
    window = open_window(data_dir)
    # Every rich text view is the one safe widget; labels showing such text show it as text.
    for view in window.findChildren(QTextEdit):
        assert isinstance(view, SafeTextBrowser), view
    for label in window.findChildren(QLabel):
        if "<img" in label.text():
            assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
    assert "[image: /dev/zero]" in last_view(window.chat_tab).body.toPlainText()
    assert inert_tooltip("a <img src='/dev/zero'>").startswith("<p style")
    assert "&lt;img" in inert_tooltip("a <img src='/dev/zero'>")
