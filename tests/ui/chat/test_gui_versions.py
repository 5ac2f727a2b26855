"""Editing a question and regenerating an answer keep every version; "< 2/3 >" moves between."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import OpenWindow, last_view, window_opener
from tests.ui.chat.test_gui_chat_tab import ANSWER_TIMEOUT_MS, import_model, send, use_settings
from tests.ui.chat.test_gui_search import save_screens


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def shown(window: MainWindow) -> list[str]:
    return [v.message.content for v in window.chat_tab.transcript.views()]


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]


def test_an_edited_question_is_answered_again_and_the_earlier_version_comes_back(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    use_settings(window, max_tokens=20, seed=4, context_length=2048)
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as first:
        send(qtbot, window, "Once upon a time")
    question = tab.transcript.views()[0]
    qtbot.waitUntil(question.edit_button().isEnabled, timeout=ANSWER_TIMEOUT_MS)

    click(qtbot, question.edit_button())
    assert tab.is_editing() and tab.edit_notice.isVisible()
    assert tab.composer.text() == "Once upon a time"
    tab.composer.input.selectAll()
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as second:
        qtbot.keyClicks(tab.composer.input, "A little dog")
        qtbot.keyClick(tab.composer.input, Qt.Key.Key_Return)
    assert not tab.edit_notice.isVisible()
    assert shown(window) == ["A little dog", second.args[0].content]
    edited = tab.transcript.views()[0]
    qtbot.waitUntil(lambda: edited.version_text() == "2/2")
    qtbot.waitUntil(edited.previous_button().isEnabled, timeout=ANSWER_TIMEOUT_MS)
    assert not edited.next_button().isEnabled()
    save_screens(qtbot, window, "version-switcher")

    # "<": the earlier question with its own answer, and the conversation goes on from there.
    click(qtbot, edited.previous_button())
    qtbot.waitUntil(lambda: shown(window) == ["Once upon a time", first.args[0].content])
    assert tab.transcript.views()[0].version_text() == "1/2"
    conversation = window.store.get(tab.current_conversation_id())
    assert [m.content for m in conversation.messages] == shown(window)


def test_regenerate_keeps_the_earlier_answer_as_a_version(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    use_settings(window, max_tokens=20, seed=4, context_length=2048)
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as first:
        send(qtbot, window, "Once upon a time")
    button = last_view(tab).regenerate_button()
    qtbot.waitUntil(button.isVisible, timeout=ANSWER_TIMEOUT_MS)
    use_settings(window, max_tokens=20, seed=9, context_length=2048)
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as second:
        click(qtbot, button)
    answer = last_view(tab)
    assert answer.message.id == second.args[0].id and answer.version_text() == "2/2"
    qtbot.waitUntil(answer.previous_button().isEnabled, timeout=ANSWER_TIMEOUT_MS)
    click(qtbot, answer.previous_button())
    qtbot.waitUntil(lambda: last_view(tab).message.id == first.args[0].id)
    assert last_view(tab).version_text() == "1/2"
    click(qtbot, last_view(tab).next_button())
    qtbot.waitUntil(lambda: last_view(tab).message.id == second.args[0].id)


def test_up_in_the_empty_box_edits_the_last_question_and_esc_cancels(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.chat_tab
    conversation = window.store.create()
    window.store.add_message(conversation.id, "user", "First question")
    window.store.add_message(conversation.id, "assistant", "An answer")
    window.store.add_message(conversation.id, "user", "Second question")
    tab.refresh_conversations()
    tab.select_conversation(conversation.id)
    box = tab.composer.input
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Up)
    assert tab.is_editing() and tab.composer.text() == "Second question"
    qtbot.keyClick(box, Qt.Key.Key_Up)  # the box is not empty: Up moves the cursor as usual
    assert tab.composer.text() == "Second question"
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert not tab.is_editing() and tab.composer.text() == "" and tab.edit_notice.isHidden()
