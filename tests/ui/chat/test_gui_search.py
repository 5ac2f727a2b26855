"""The search box: Ctrl+K over every conversation, Ctrl+F in the open one, results that open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.shell.shortcuts_dialog import shortcut_sections
from tests.support.gui_support import OpenWindow, window_opener

SCREENSHOTS = Path("/tmp/records-screens")


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def seeded_window(open_window: OpenWindow, data_dir: Path) -> tuple[MainWindow, list[int]]:
    window = open_window(data_dir)
    store = window.store
    ids = []
    for texts in (
        ["Review the indemnity clause in the lease.", "The indemnity is unlimited: a risk."],
        ["Summarise the discharge letter.", "Rest, fluids, and no indemnity talk here."],
        ["Something else entirely.", "Nothing to find."],
    ):
        conversation = store.create()
        for i, text in enumerate(texts):
            store.add_message(conversation.id, "user" if i % 2 == 0 else "assistant", text)
        ids.append(conversation.id)
    window.chat_tab.refresh_conversations()
    window.chat_tab.select_conversation(ids[2])
    return window, ids


def search_for(qtbot: QtBot, window: MainWindow, text: str, *, key: Qt.Key) -> None:
    # Window shortcuts fire in the active window, as they would for a person at the keyboard.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    qtbot.keyClick(QApplication.focusWidget() or window, key, Qt.KeyboardModifier.ControlModifier)
    box = window.chat_tab.search.box
    qtbot.waitUntil(box.hasFocus)
    qtbot.keyClicks(box, text)


def test_ctrl_k_finds_every_conversation_and_a_result_opens_at_its_message(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window, (lease, letter, _other) = seeded_window(open_window, data_dir)
    tab = window.chat_tab
    panel = tab.search
    search_for(qtbot, window, "indemnity", key=Qt.Key.Key_K)
    qtbot.waitUntil(lambda: len(panel.hits()) == 3)
    assert not panel.only_this_conversation()
    assert [h.conversation_id for h in panel.hits()] == [letter, lease, lease]  # newest first
    assert tab.conversations.isHidden() and panel.results.isVisible()
    label = panel.results.itemWidget(panel.results.item(0))
    assert isinstance(label, QLabel)
    assert 'font-weight:600">indemnity</span>' in label.text()
    assert panel.summary.text() == "3 messages."

    # The second result: the lease conversation opens, scrolled to its answer, words marked.
    item = panel.results.item(1)
    rect = panel.results.visualItemRect(item)
    qtbot.mouseClick(panel.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert tab.current_conversation_id() == lease
    hit = panel.hits()[1]
    view = tab.transcript.view_for(hit.message_id)
    assert view is not None and view.marked_words_count() == 1
    save_screens(qtbot, window, "search-results")

    # Esc puts the search away and the list comes back.
    panel.box.setFocus()
    qtbot.keyClick(panel.box, Qt.Key.Key_Escape)
    assert panel.box.text() == "" and tab.conversations.isVisible()


def test_ctrl_f_searches_only_the_open_conversation(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window, (lease, _letter, _other) = seeded_window(open_window, data_dir)
    window.chat_tab.select_conversation(lease)
    search_for(qtbot, window, "indemnity", key=Qt.Key.Key_F)
    panel = window.chat_tab.search
    assert panel.only_this_conversation()
    qtbot.waitUntil(lambda: len(panel.hits()) == 2)
    assert {h.conversation_id for h in panel.hits()} == {lease}


def test_typed_syntax_is_searched_as_words_and_nothing_found_says_so(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window, _ids = seeded_window(open_window, data_dir)
    search_for(qtbot, window, 'zebra" AND (', key=Qt.Key.Key_K)
    panel = window.chat_tab.search
    qtbot.waitUntil(lambda: panel.summary.text().startswith("Nothing found"))
    assert window.chat_tab.banner.text() == ""


def test_a_result_in_an_earlier_version_shows_that_version(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window, (lease, _letter, _other) = seeded_window(open_window, data_dir)
    store = window.store
    question = store.get(lease).messages[0]
    store.save_edit(lease, question.id, "Review the rent review clause.")
    search_for(qtbot, window, "lease", key=Qt.Key.Key_K)
    panel = window.chat_tab.search
    qtbot.waitUntil(lambda: len(panel.hits()) == 1)
    panel.results.setCurrentRow(0)
    qtbot.keyClick(panel.results, Qt.Key.Key_Return)
    tab = window.chat_tab
    assert tab.current_conversation_id() == lease
    assert tab.transcript.views()[0].message.content == "Review the indemnity clause in the lease."
    assert tab.transcript.views()[0].message.version == 1


def save_screens(qtbot: QtBot, window: MainWindow, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for width, height in ((800, 600), (1920, 1080)):
        window.resize(width, height)
        qtbot.wait(200)  # laid out and painted as a person would see it
        window.grab().save(str(SCREENSHOTS / f"{name}-{width}x{height}.png"))


def test_ctrl_f_and_ctrl_k_are_listed_in_the_keyboard_shortcuts(
    open_window: OpenWindow, data_dir: Path
) -> None:
    window = open_window(data_dir)
    rows = {(keys, what) for _title, section in shortcut_sections(window) for keys, what in section}
    assert ("Ctrl+F", "Find in this conversation") in rows
    assert ("Ctrl+K", "Search all conversations") in rows
    assert ("Up (in an empty box)", "Edit your last question") in rows
