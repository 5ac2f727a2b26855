"""The picker's ↻ says it is checking the remote engines until they answer, then what it found."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.storage import Database
from localai_desktop.ui.chat.model_picker import ModelPicker
from localai_desktop.ui.workers.remotes import RemoteListing
from tests.support.gui_support import OpenWindow, window_opener

BOX = RemoteListing("box", "gpu.lan", "runs on gpu.lan: your text is sent there", ("llama",))
GONE = RemoteListing(
    "gone", "old.lan", "runs on old.lan: your text is sent there", (), "It did not answer."
)


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def shown_picker(qtbot: QtBot) -> ModelPicker:
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.set_remote_models([BOX, GONE])
    picker.resize(600, 40)
    picker.show()
    qtbot.waitExposed(picker)
    return picker


def test_refresh_shows_checking_until_the_answer_then_what_answered(qtbot: QtBot) -> None:
    picker = shown_picker(qtbot)
    assert picker.refresh_button.text() == "↻" and picker.refresh_button.isEnabled()
    with qtbot.waitSignal(picker.remotes_refresh_requested, timeout=1000):
        qtbot.mouseClick(picker.refresh_button, Qt.MouseButton.LeftButton)
    # Busy: a second click cannot ask again, and the button says why.
    assert picker.is_checking()
    assert picker.refresh_button.text() == "checking…"
    assert not picker.refresh_button.isEnabled()
    assert not picker.check_result.isVisible()
    picker.set_remote_models([BOX, GONE])  # the worker's answer
    assert not picker.is_checking()
    assert picker.refresh_button.text() == "↻" and picker.refresh_button.isEnabled()
    assert picker.check_result.isVisible()
    assert picker.check_result.text() == "Remote engines checked: 1 of 2 answered."
    assert "gone (old.lan): It did not answer." in picker.check_result.toolTip()
    assert "box (gpu.lan): 1 model" in picker.check_result.toolTip()
    qtbot.mouseClick(picker.refresh_button, Qt.MouseButton.LeftButton)
    picker.set_remote_models([BOX])
    assert picker.check_result.text() == "Remote engines checked: it answered."
    # A listing nobody asked for with ↻ (a remote added in the Models tab) shows no result.
    picker.check_result.hide()
    picker.set_remote_models([BOX, GONE])
    assert not picker.check_result.isVisible()


def test_a_listing_that_failed_ends_the_check_with_its_message(qtbot: QtBot) -> None:
    picker = shown_picker(qtbot)
    qtbot.mouseClick(picker.refresh_button, Qt.MouseButton.LeftButton)
    picker.remote_listing_failed("The remote engines could not be listed.")
    assert picker.refresh_button.isEnabled() and picker.refresh_button.text() == "↻"
    assert picker.check_result.text() == "Remote engines checked: check failed."
    assert "could not be listed" in picker.check_result.toolTip()


def test_in_the_window_refresh_is_busy_while_a_slow_remote_is_asked(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    with socket.socket() as mute:  # takes connections but never answers: the 3 s timeout
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        db = Database(init_data_paths(data_dir).database)
        try:
            Remotes(db).add("mute", f"http://127.0.0.1:{mute.getsockname()[1]}")
        finally:
            db.close()
        window = open_window(data_dir)
        window.tabs.setCurrentWidget(window.chat_tab)
        picker = window.chat_tab.model_picker
        qtbot.waitUntil(lambda: bool(picker.remote_listings()), timeout=20_000)
        qtbot.mouseClick(picker.refresh_button, Qt.MouseButton.LeftButton)
        qtbot.wait(500)  # the remote is being asked (it takes its timeout to give up)
        assert picker.refresh_button.text() == "checking…"
        assert not picker.refresh_button.isEnabled()
        qtbot.waitUntil(picker.refresh_button.isEnabled, timeout=20_000)
    assert picker.refresh_button.text() == "↻"
    assert picker.check_result.isVisible()
    assert picker.check_result.text() == "Remote engines checked: it did not answer."
    assert "did not answer in time" in picker.check_result.toolTip()
