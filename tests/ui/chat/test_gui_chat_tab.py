"""The Chat tab with a real model: streaming, stopping, keys, Markdown, restart, conversations."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextFormat
from PySide6.QtWidgets import QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.chat.message_view import INTERRUPTED_TEXT
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import (
    BatchRecorder,
    OpenWindow,
    last_view,
    streaming_view,
    window_opener,
)


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


# Generous: these machines are small and sometimes busy with other work.
ANSWER_TIMEOUT_MS = 120_000
# A seed for which stories260K writes at least 400 tokens (no early end of the story).
STORY_SEED = 4


def import_model(data_dir: Path, path: Path, name: str) -> int:
    db = Database(init_data_paths(data_dir).database)
    try:
        return ModelRegistry(db, data_dir / "models").import_model(path, name=name).id
    finally:
        db.close()


def send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    """Type a message into the real input and press Enter, as a person would."""
    box = window.chat_tab.composer.input
    box.setFocus()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def use_settings(window: MainWindow, **settings: object) -> None:
    window.chat_tab.settings_panel.set_settings(GenerationSettings(**settings))  # type: ignore[arg-type]


def test_streaming_fills_the_answer_batch_by_batch(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    # Batches are flushed every 40 ms and the first token is flushed at once, so even at full
    # speed 150 tokens arrive in more than one batch.
    use_settings(window, max_tokens=150, seed=STORY_SEED, context_length=2048)
    recorder = BatchRecorder(window)

    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, "Once upon a time")
    message = finished.args[0]

    assert message.status == "complete"
    assert message.provenance["completion_tokens"] == 150
    # The answer grew on screen over several batches, never shrinking, never re-rendered.
    assert len(recorder.lengths) >= 2
    assert recorder.lengths == sorted(recorder.lengths)
    assert recorder.lengths[0] < recorder.lengths[-1]
    view = last_view(tab)
    assert not view.streaming and view.text() == message.content
    assert view.body.toPlainText().strip()
    assert "tokens/s" in view.stats_text() and "s to first token" in view.stats_text()
    # Where it ran (no GPU in this build); a busy machine adds a note after it.
    assert " · on the CPU" in view.stats_text()
    assert "150 tokens" in view.stats_text()
    # The story went on past 150 tokens: the answer says why it ends there.
    assert view.status_text().startswith("Cut off at the longest-answer limit (150 tokens).")
    assert not tab.is_generating() and tab.composer.send_button.isEnabled()
    stored = window.store.get(message.conversation_id).messages
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[0].content == "Once upon a time"


def test_stop_keeps_the_partial_answer(
    open_window: OpenWindow, data_dir: Path, tiny_chat_model: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, tiny_chat_model, "Tiny")
    window = open_window(data_dir)
    tab = window.chat_tab
    use_settings(window, max_tokens=20000, context_length=32768, seed=1)
    recorder = BatchRecorder(window)
    with qtbot.waitSignal(recorder.batch_shown, timeout=ANSWER_TIMEOUT_MS):
        send(qtbot, window, "Tell me everything")
    assert streaming_view(tab) is not None
    assert tab.composer.stop_button.isEnabled()

    started = time.monotonic()
    with qtbot.waitSignal(tab.answer_finished, timeout=10_000) as finished:
        qtbot.mouseClick(tab.composer.stop_button, Qt.MouseButton.LeftButton)
    elapsed = time.monotonic() - started

    message = finished.args[0]
    assert elapsed < 2.0
    assert message.status == "stopped"
    assert message.content and message.provenance["completion_tokens"] < 20000
    assert last_view(tab).status_text() == "Stopped"
    assert last_view(tab).text() == message.content
    assert window.store.get(message.conversation_id).messages[-1].content == message.content


def test_enter_sends_shift_enter_adds_a_line_and_esc_stops(
    open_window: OpenWindow, data_dir: Path, tiny_chat_model: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, tiny_chat_model, "Tiny")
    window = open_window(data_dir)
    tab = window.chat_tab
    box = tab.composer.input
    use_settings(window, max_tokens=20000, context_length=32768)
    recorder = BatchRecorder(window)

    box.setFocus()
    qtbot.keyClicks(box, "first line")
    qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(box, "second line")
    assert box.toPlainText() == "first line\nsecond line"
    assert tab.current_conversation_id() is None  # nothing sent yet

    with qtbot.waitSignal(recorder.batch_shown, timeout=ANSWER_TIMEOUT_MS):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.toPlainText() == ""
    conversation = window.store.get(tab.current_conversation_id())
    assert conversation.messages[0].content == "first line\nsecond line"

    with qtbot.waitSignal(tab.answer_finished, timeout=10_000) as finished:
        qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert finished.args[0].status == "stopped"


def test_quit_while_generating_saves_the_partial_answer_as_stopped(
    open_window: OpenWindow, data_dir: Path, tiny_chat_model: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, tiny_chat_model, "Tiny")
    window = open_window(data_dir)
    use_settings(window, max_tokens=20000, context_length=32768)
    recorder = BatchRecorder(window)
    with qtbot.waitSignal(recorder.batch_shown, timeout=ANSWER_TIMEOUT_MS):
        send(qtbot, window, "Write a long letter")
    conversation_id = window.chat_tab.current_conversation_id()
    worker_thread = window.worker.thread()

    window.close()

    assert worker_thread.isFinished()
    answer = window.store.get(conversation_id).messages[-1]
    assert answer.role == "assistant"
    assert answer.status == "stopped"
    assert answer.content


def test_restart_shows_the_last_conversation_and_model(
    open_window: OpenWindow,
    data_dir: Path,
    stories260k: Path,
    tiny_chat_model: Path,
    qtbot: QtBot,
) -> None:
    import_model(data_dir, tiny_chat_model, "Tiny")
    stories_id = import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    tab.select_model(stories_id)
    use_settings(window, max_tokens=60, seed=STORY_SEED, context_length=2048)
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, "Once upon a time")
    answer = finished.args[0]
    story_chat = tab.current_conversation_id()
    # A newer, empty chat; then back to the story, which is what the user last looked at.
    qtbot.mouseClick(tab.conversations.new_button, Qt.MouseButton.LeftButton)
    assert tab.current_conversation_id() != story_chat
    tab.select_conversation(story_chat)
    window.resize(790, 520)  # the offscreen screen is 800x600
    size = window.size()
    window.close()

    again = open_window(data_dir)
    tab = again.chat_tab
    assert tab.current_conversation_id() == story_chat
    assert tab.conversations.current_id() == story_chat
    assert len(tab.conversations.ids()) == 2
    assert tab.current_model_id() == stories_id
    views = tab.transcript.views()
    assert [v.message.role for v in views] == ["user", "assistant"]
    assert views[0].text() == "Once upon a time"
    assert views[1].text() == answer.content
    assert "tokens/s" in views[1].stats_text()
    assert tab.settings_panel.settings().max_tokens == 60
    assert again.size() == size


def test_regenerate_writes_the_last_answer_again(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    use_settings(window, max_tokens=30, seed=STORY_SEED, context_length=2048)
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as first:
        send(qtbot, window, "Once upon a time")
    # Offered once the worker is free again, which may come a moment after the answer is saved.
    button = last_view(tab).regenerate_button()
    qtbot.waitUntil(button.isVisible, timeout=ANSWER_TIMEOUT_MS)

    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as second:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    assert second.args[0].created_at > first.args[0].created_at
    assert second.args[0].content == first.args[0].content  # same seed, same story
    messages = window.store.get(tab.current_conversation_id()).messages
    assert [m.role for m in messages] == ["user", "assistant"]
    assert [v.message.id for v in tab.transcript.views()] == [m.id for m in messages]


def test_answers_render_markdown_and_can_be_copied(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    conversation = window.store.create()
    window.store.add_message(conversation.id, "user", "How do I reverse a list?")
    markdown = (
        "# Reversing\n\n- `reversed(items)`\n- `items[::-1]`\n\n```python\nitems.reverse()\n```\n"
    )
    window.store.add_message(
        conversation.id,
        "assistant",
        markdown,
        provenance={
            "tokens_per_second": 42.1,
            "time_to_first_token_s": 0.12,
            "completion_tokens": 230,
            # The rest of an answer's stats, which are always stored together.
            "prompt_tokens": 12,
            "generation_time_s": 5.5,
            "finish_reason": "stop",
            "seed": 1,
            "trimmed_messages": 0,
            "n_ctx": 4096,
        },
    )
    window.chat_tab.refresh_conversations()
    window.chat_tab.select_conversation(conversation.id)

    view = last_view(window.chat_tab)
    document = view.body.document()
    blocks = [document.findBlockByNumber(i) for i in range(document.blockCount())]
    assert any(b.blockFormat().headingLevel() == 1 and b.text() == "Reversing" for b in blocks)
    assert sum(1 for b in blocks if b.textList() is not None) == 2
    code = [
        b for b in blocks if b.blockFormat().hasProperty(QTextFormat.Property.BlockCodeLanguage)
    ]
    assert [b.text() for b in code] == ["items.reverse()"]
    assert view.stats_text() == "42.1 tokens/s · 0.12 s to first token · 230 tokens"

    qtbot.mouseClick(view.copy_button(), Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == markdown


def test_an_interrupted_answer_says_so(open_window: OpenWindow, data_dir: Path) -> None:
    window = open_window(data_dir)
    conversation = window.store.create()
    window.store.add_message(conversation.id, "user", "Hello")
    window.store.add_message(conversation.id, "assistant", "Hel", status="interrupted")
    window.chat_tab.select_conversation(conversation.id)
    assert last_view(window.chat_tab).status_text() == INTERRUPTED_TEXT


def test_a_missing_model_file_is_reported_plainly(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    moved = tmp_path / "moved.gguf"
    moved.write_bytes(stories260k.read_bytes())
    import_model(data_dir, moved, "Moved")
    moved.unlink()
    window = open_window(data_dir)
    tab = window.chat_tab

    send(qtbot, window, "Hello?")
    qtbot.waitUntil(lambda: bool(tab.banner.text()), timeout=ANSWER_TIMEOUT_MS)
    assert not tab.is_generating()
    assert "missing" in tab.banner.text() and "import it again" in tab.banner.text()
    assert tab.banner.kind() == "error"
    assert tab.composer.send_button.isEnabled()


def test_conversations_can_be_started_renamed_and_deleted(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.chat_tab
    older = window.store.create(title="Older chat")
    tab.refresh_conversations()

    qtbot.mouseClick(tab.conversations.new_button, Qt.MouseButton.LeftButton)
    new_id = tab.current_conversation_id()
    assert tab.conversations.ids() == [new_id, older.id]  # newest first

    qtbot.mouseClick(tab.conversations.rename_button, Qt.MouseButton.LeftButton)
    editor = tab.conversations.findChild(QLineEdit)
    assert editor is not None
    editor.selectAll()
    qtbot.keyClicks(editor, "Lease questions")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # The list commits an edit on its next turn of the event loop.
    qtbot.waitUntil(lambda: window.store.get(new_id).title == "Lease questions")

    qtbot.mouseClick(tab.conversations.delete_button, Qt.MouseButton.LeftButton)
    box = tab.conversations.findChild(QMessageBox)
    assert box is not None and "Lease questions" in box.text()
    delete = next(b for b in box.buttons() if b.text() == "Delete")
    with qtbot.waitSignal(tab.conversations.delete_requested):
        qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)
    assert [c.id for c in window.store.list()] == [older.id]
    assert tab.conversations.ids() == [older.id]
    assert tab.current_conversation_id() == older.id


def test_without_a_model_the_chat_tab_points_to_the_models_tab(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.chat_tab
    window.tabs.setCurrentWidget(tab)
    assert tab.no_models.isVisible()
    assert "Import a model file" in tab.no_models.text()
    assert not tab.composer.send_button.isEnabled()

    button = next(b for b in tab.no_models.findChildren(type(tab.composer.send_button)))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.models_tab


def test_a_conversation_keeps_its_system_prompt_and_settings(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.chat_tab
    first = window.store.create(title="First")
    second = window.store.create(title="Second")
    tab.refresh_conversations()
    tab.select_conversation(first.id)
    qtbot.keyClicks(tab.settings_panel.system_prompt_edit, "Answer like a lawyer.")
    tab.select_conversation(second.id)  # leaving saves what was typed
    assert tab.settings_panel.system_prompt() == ""
    tab.select_conversation(first.id)
    assert tab.settings_panel.system_prompt() == "Answer like a lawyer."
    assert window.store.get(first.id).system_prompt == "Answer like a lawyer."


def test_choosing_a_model_loads_it_with_a_busy_indicator(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    combo = tab.model_picker.combo

    busy_while_loading: list[tuple[bool, str]] = []
    tab.requests.model_loading.connect(
        lambda _name: busy_while_loading.append((tab.status.is_busy(), tab.status.text()))
    )

    with qtbot.waitSignal(tab.requests.model_loaded, timeout=ANSWER_TIMEOUT_MS):
        combo.activated.emit(0)  # what picking an entry from the list sends

    assert busy_while_loading == [(True, "Loading Stories… large models can take a minute.")]
    assert tab.status.text().startswith("Stories is ready (loaded in ")
    assert not tab.status.is_busy()


def test_a_busy_database_does_not_freeze_the_window_when_sending(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    use_settings(window, max_tokens=30, seed=STORY_SEED, context_length=2048)
    # Another program holds the database's write lock, as a slow or busy disk would.
    blocker = sqlite3.connect(init_data_paths(data_dir).database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        send(qtbot, window, "Once upon a time")
        # Enter returned at once: the question is on screen, the box is empty, Stop works.
        assert [v.message.role for v in tab.transcript.views()] == ["user"]
        assert tab.transcript.views()[0].text() == "Once upon a time"
        assert tab.composer.text() == "" and tab.composer.stop_button.isEnabled()
        assert blocker.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        pass
    message = finished.args[0]
    assert message.status == "complete"
    stored = window.store.get(message.conversation_id)
    assert [(m.role, m.status) for m in stored.messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert stored.title == "Once upon a time"
    assert tab.current_conversation_id() == stored.id
    assert tab.conversations.ids()[0] == stored.id
    assert tab.conversations.current_id() == stored.id


def test_a_question_that_cannot_be_saved_goes_back_into_the_message_box(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    conversation = window.store.create(title="Gone soon")
    tab.refresh_conversations()
    tab.select_conversation(conversation.id)
    window.store.delete(conversation.id)  # e.g. by another copy of the app
    with qtbot.waitSignal(tab.requests.question_not_saved, timeout=10_000):
        send(qtbot, window, "Is this kept?")
    assert tab.composer.text() == "Is this kept?"
    assert tab.transcript.views() == []
    assert "does not exist" in tab.banner.text()
    assert not tab.is_generating() and tab.composer.send_button.isEnabled()


def test_the_memory_setting_says_what_the_model_can_use(
    open_window: OpenWindow, data_dir: Path, stories260k: Path
) -> None:
    import_model(data_dir, stories260k, "Stories")  # trained with a 2,048-token context
    window = open_window(data_dir)
    panel = window.chat_tab.settings_panel
    use_settings(window, context_length=4096)
    assert panel.context_hint() == "This model remembers at most 2,048 tokens, so it uses 2,048."
    use_settings(window, context_length=1024)
    assert panel.context_hint() == "This model can remember up to 2,048 tokens."
