"""The prompt library in the window: "/" in the message box, the fields form, the library."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import Message
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import OpenWindow, window_opener
from tests.support.session_support import ANSWER_TIMEOUT_MS, import_model

SCREENSHOTS = Path("/tmp/localai-screenshots")


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def chat_window(data_dir: Path, open_window: OpenWindow) -> MainWindow:
    window = open_window(data_dir)
    window.tabs.setCurrentWidget(window.chat_tab)
    window.chat_tab.composer.input.setFocus()
    return window


def test_slash_lists_prompts_filtered_as_you_type_and_enter_inserts_one(
    qtbot: QtBot, data_dir: Path, open_window: OpenWindow
) -> None:
    window = chat_window(data_dir, open_window)
    composer = window.chat_tab.composer
    box, picker = composer.input, composer.picker
    qtbot.keyClicks(box, "/")
    assert picker.isVisible()
    rows = [picker.list.item(i).text() for i in range(picker.list.count())]
    assert len(rows) >= 13 and rows[-1] == "Manage prompts…"
    qtbot.keyClicks(box, "disch")
    rows = [picker.list.item(i).text() for i in range(picker.list.count())]
    assert rows[0].startswith("/discharge-plain") and len(rows) == 2  # and "Manage prompts…"
    SCREENSHOTS.mkdir(exist_ok=True)
    qtbot.keyClick(box, Qt.Key.Key_Backspace)  # "/disc" : a shorter query, still one match
    for width, height in ((800, 600), (1920, 1080)):
        window.resize(width, height)
        qtbot.wait(50)
        window.grab().save(str(SCREENSHOTS / f"prompt-picker-{width}x{height}.png"))
        assert picker.geometry().width() <= composer.width()
        assert picker.list.height() >= picker.list.sizeHintForRow(0) * 2
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert not picker.isVisible()
    assert box.text().startswith("Summarise the discharge letter below for the patient")
    assert composer.inserted_prompt is not None
    assert composer.inserted_prompt.name == "discharge-plain"

    box.clear()
    qtbot.keyClicks(box, "/zzz-nothing")
    assert picker.list.item(0).text() == "No prompt matches “zzz-nothing”."
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert not picker.isVisible() and box.text() == "/zzz-nothing"


def test_an_unfilled_field_is_asked_for_before_the_message_is_sent(
    qtbot: QtBot, data_dir: Path, open_window: OpenWindow, stories260k: Path
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = chat_window(data_dir, open_window)
    tab = window.chat_tab
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=16, seed=4))
    composer, box = tab.composer, tab.composer.input
    qtbot.keyClicks(box, "/discharge")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.keyClicks(box, "Take one tablet daily.")
    qtbot.keyClick(box, Qt.Key.Key_Return)  # send: the form asks first
    dialog = composer.fields_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.fields == ["reading level"]
    send = dialog.buttons.buttons()[0]
    assert not send.isEnabled()  # an empty field would reach the model as "{reading level}"
    qtbot.keyClicks(dialog.edits["reading level"], "age 11")
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send.click()
    answer = finished.args[0]
    assert isinstance(answer, Message)
    question = window.store.get(answer.conversation_id).messages[0].content
    assert "in plain language at a age 11 reading level" in question
    assert question.endswith("Letter:\nTake one tablet daily.")
    assert composer.inserted_prompt is None and box.text() == ""


def test_the_library_adds_edits_duplicates_deletes_and_shares_prompts(
    qtbot: QtBot, data_dir: Path, open_window: OpenWindow, tmp_path: Path
) -> None:
    window = chat_window(data_dir, open_window)
    window.prompt_library_action.trigger()
    dialog = window.prompt_library
    assert dialog is not None and dialog.isVisible()
    count = dialog.list.count()
    dialog.buttons["New"].click()
    assert dialog.list.count() == count + 1
    dialog.name.setText("tenancy-deposit")
    dialog.text.setPlainText("Explain the deposit rules for {region}.")
    assert "{region}" in dialog.fields.text()
    with qtbot.waitSignal(dialog.prompts_changed):
        dialog.save_button.click()
    assert window.workspace.prompts.get("tenancy-deposit").fields == ["region"]
    dialog.buttons["Duplicate"].click()
    assert dialog.name.text() == "tenancy-deposit (copy)"
    dialog.buttons["Delete"].click()
    box = dialog.delete_box
    assert isinstance(box, QMessageBox)
    next(b for b in box.buttons() if b.text() == "Delete").click()
    qtbot.waitUntil(lambda: dialog.list.count() == count + 1)

    exported = tmp_path / "mine.json"
    dialog.choose_file = lambda _parent, purpose, _suggested: exported
    dialog.buttons["Export…"].click()
    assert "Saved" in dialog.banner.text() and exported.is_file()
    window.workspace.prompts.delete("tenancy-deposit")
    dialog.buttons["Import…"].click()
    assert "Imported 1 prompt(s)" in dialog.banner.text()

    # The message box's "/" list knows the new prompt at once.
    composer = window.chat_tab.composer
    qtbot.keyClicks(composer.input, "/tenancy")
    assert composer.picker.list.item(0).text().startswith("/tenancy-deposit")
