"""Pin, folder and tags from the bar over the list; filter and sort; titles from the model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import OpenWindow, window_opener
from tests.ui.chat.test_gui_chat_tab import ANSWER_TIMEOUT_MS, import_model, send, use_settings
from tests.ui.chat.test_gui_search import save_screens


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def titles(window: MainWindow) -> list[str]:
    listed = window.chat_tab.conversations.list
    return [listed.item(row).text() for row in range(listed.count())]


def answer_dialog(qtbot: QtBot, window: MainWindow, text: str) -> None:
    dialog = window.chat_tab.organise.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.setTextValue(text)
    dialog.accept()


def test_pin_folder_and_tags_filter_and_sort_the_list(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.chat_tab
    window.tabs.setCurrentWidget(tab)
    ids = [window.store.create(title).id for title in ("Banana", "apple", "Cherry")]
    tab.refresh_conversations()
    assert titles(window) == ["Cherry", "apple", "Banana"]
    bar = tab.organise

    tab.select_conversation(ids[0])  # Banana
    qtbot.mouseClick(bar.pin_button, Qt.MouseButton.LeftButton)
    assert titles(window)[0] == "Banana" and bar.pin_button.text() == "Unpin"
    assert tab.conversations.list.item(0).font().bold()
    qtbot.mouseClick(bar.folder_button, Qt.MouseButton.LeftButton)
    answer_dialog(qtbot, window, "Client Smith")
    qtbot.mouseClick(bar.tags_button, Qt.MouseButton.LeftButton)
    answer_dialog(qtbot, window, "urgent, lease")
    banana = window.store.get(ids[0])
    assert (banana.pinned, banana.folder, banana.tags) == (
        True,
        "Client Smith",
        ("urgent", "lease"),
    )

    bar.order_box.setCurrentIndex(bar.order_box.findText("Title A–Z"))
    assert titles(window) == ["Banana", "apple", "Cherry"]  # pinned first, then A-Z
    bar.show_only("Tag: urgent")
    assert titles(window) == ["Banana"]
    bar.show_only("All")
    tab.select_conversation(ids[2])
    qtbot.mouseClick(bar.folder_button, Qt.MouseButton.LeftButton)
    answer_dialog(qtbot, window, "Client Smith")
    bar.show_only("Folder: Client Smith")
    assert titles(window) == ["Banana", "Cherry"]
    bar.show_only("Pinned")
    assert titles(window) == ["Banana"]
    bar.show_only("All")
    save_screens(qtbot, window, "organise")


def test_the_model_suggests_a_title_after_the_first_answer(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    use_settings(window, max_tokens=20, seed=4, context_length=2048)
    with qtbot.waitSignal(tab.requests.title_suggested, timeout=ANSWER_TIMEOUT_MS) as titled:
        send(qtbot, window, "Once upon a time")
    conversation_id, title = titled.args
    assert title and title != "Once upon a time"
    assert window.store.get(conversation_id).title == title
    assert titles(window) == [title]
