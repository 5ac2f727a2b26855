"""Remote engines' models in the Chat tab's picker: badged with where they run, a chat through
one (llama-cpp-python's own server with stories260K) saved like any other, Stop, an unreachable
remote shown as unavailable, and offline mode blocking a remote."""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.storage import Database
from localai_desktop.ui.chat.model_picker import ModelPicker
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import BatchRecorder, OpenWindow, last_view, window_opener
from tests.support.layout_checks import cut_texts, sticking_out
from tests.support.remote_engine import MODEL_ALIAS, RunningServer, free_port, running_llama_server

ANSWER_TIMEOUT_MS = 120_000
LISTED_TIMEOUT_MS = 20_000
REFERENCE = f"box/{MODEL_ALIAS}"


@pytest.fixture(scope="module")
def llama_server(models_dir: Path) -> Iterator[RunningServer]:
    with running_llama_server(models_dir / "stories260K.gguf") as server:
        yield server


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def add_remotes(data_dir: Path, server: RunningServer) -> None:
    """The running server as "box", and "gone" where nothing listens."""
    db = Database(init_data_paths(data_dir).database)
    try:
        remotes = Remotes(db)
        remotes.add("box", server.url)
        remotes.add("gone", f"http://127.0.0.1:{free_port()}")
    finally:
        db.close()


def item_index(picker: ModelPicker, text: str) -> int:
    combo = picker.combo
    return next(i for i in range(combo.count()) if text in combo.itemText(i))


def is_enabled(picker: ModelPicker, index: int) -> bool:
    model = picker.combo.model()
    assert isinstance(model, QStandardItemModel)
    item = model.item(index)
    return item is not None and item.isEnabled()


def choose(picker: ModelPicker, index: int) -> None:
    picker.combo.setCurrentIndex(index)
    picker.combo.activated.emit(index)  # as when a person picks it from the list


def send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    box = window.chat_tab.composer.input
    box.setFocus()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def test_a_remote_model_is_listed_with_its_badge_and_answers_a_chat(
    open_window: OpenWindow, data_dir: Path, llama_server: RunningServer, qtbot: QtBot
) -> None:
    add_remotes(data_dir, llama_server)
    window = open_window(data_dir)
    tab = window.chat_tab
    picker = tab.model_picker
    qtbot.waitUntil(lambda: picker.has(REFERENCE), timeout=LISTED_TIMEOUT_MS)

    # Listed with where it runs; the unreachable remote is there, unavailable, not an error box.
    index = picker.combo.findData(REFERENCE)
    assert picker.combo.itemText(index) == f"{MODEL_ALIAS} · runs on 127.0.0.1"
    tip = picker.combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert "Runs on 127.0.0.1: your text is sent there" in tip
    gone = item_index(picker, "gone (127.0.0.1): unavailable")
    assert not is_enabled(picker, gone) and picker.combo.itemData(gone) is None
    assert "cannot be reached" in picker.combo.itemData(gone, Qt.ItemDataRole.ToolTipRole)
    assert not tab.banner.isVisible()
    assert not tab.no_models.isVisible()  # a remote model can chat: no "import a model" notice

    # No model of this computer: the remote one is chosen, and the note says where text goes.
    window.tabs.setCurrentWidget(tab)  # the window opened on the Models tab (no local model)
    choose(picker, index)
    assert picker.current_remote() == REFERENCE and tab.current_model_id() is None
    assert picker.note.isVisible()
    assert picker.note.text() == f"“{REFERENCE}” runs on 127.0.0.1: your text is sent there."
    assert tab.composer.send_button.isEnabled()
    for size in ((800, 600), (1920, 1080)):  # nothing cut off or sticking out, small or large
        window.resize(*size)
        QApplication.processEvents()
        assert sticking_out(window) == [], size
        assert cut_texts(window) == [], size
    save_screenshots(window)

    tab.settings_panel.set_settings(GenerationSettings(max_tokens=24, seed=3, context_length=1024))
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, "Once upon a time")
    message = finished.args[0]
    assert message.status == "complete", message.error
    assert message.content.strip()
    assert message.provenance["backend"] == "remote"
    assert message.provenance["remote"]["address"] == llama_server.url
    assert message.provenance["remote"]["model_id"] == MODEL_ALIAS
    assert message.provenance["model_name"] == REFERENCE
    view = last_view(tab)
    assert view.text() == message.content
    assert view.stats_text().endswith(" · on 127.0.0.1 (remote engine)")
    assert "tokens" in view.stats_text()
    assert "Ran on the remote engine “box”" in view._stats.toolTip()

    # Saved like any answer, and the conversation remembers its remote model.
    conversation = window.store.get(message.conversation_id)
    assert [m.role for m in conversation.messages] == ["user", "assistant"]
    assert conversation.messages[1].content == message.content
    assert conversation.settings["remote_model"] == REFERENCE
    assert conversation.model_id is None


def test_stop_ends_a_remote_answer_and_keeps_what_came(
    open_window: OpenWindow, data_dir: Path, llama_server: RunningServer, qtbot: QtBot
) -> None:
    add_remotes(data_dir, llama_server)
    window = open_window(data_dir)
    tab = window.chat_tab
    qtbot.waitUntil(lambda: tab.model_picker.has(REFERENCE), timeout=LISTED_TIMEOUT_MS)
    choose(tab.model_picker, tab.model_picker.combo.findData(REFERENCE))
    tab.settings_panel.set_settings(
        GenerationSettings(max_tokens=1900, seed=4, context_length=2048)
    )
    recorder = BatchRecorder(window)
    with qtbot.waitSignal(recorder.batch_shown, timeout=ANSWER_TIMEOUT_MS):
        send(qtbot, window, "Once upon a time")
    with qtbot.waitSignal(tab.answer_finished, timeout=10_000) as finished:
        qtbot.mouseClick(tab.composer.stop_button, Qt.MouseButton.LeftButton)
    message = finished.args[0]
    assert message.status == "stopped"
    assert message.content and message.provenance["completion_tokens"] < 1900
    assert last_view(tab).status_text() == "Stopped"
    stored = window.store.get(message.conversation_id).messages[-1]
    assert stored.status == "stopped" and stored.content == message.content


def test_offline_mode_blocks_a_remote_in_the_picker(
    open_window: OpenWindow, data_dir: Path, llama_server: RunningServer, qtbot: QtBot
) -> None:
    add_remotes(data_dir, llama_server)
    db = Database(init_data_paths(data_dir).database)
    try:  # the same server, marked "on this computer or our own network"
        Remotes(db).add("near", llama_server.url, allow_offline=True)
    finally:
        db.close()
    window = open_window(data_dir)
    picker = window.chat_tab.model_picker
    qtbot.waitUntil(lambda: picker.has(REFERENCE), timeout=LISTED_TIMEOUT_MS)
    choose(picker, picker.combo.findData(REFERENCE))
    window.workspace.set_offline(True)
    qtbot.waitUntil(lambda: not picker.has(REFERENCE), timeout=LISTED_TIMEOUT_MS)
    blocked = item_index(picker, "box (127.0.0.1): blocked in offline mode")
    assert not is_enabled(picker, blocked)
    assert "Offline mode is on" in picker.combo.itemData(blocked, Qt.ItemDataRole.ToolTipRole)
    # The blocked model can no longer be the one chosen; the one allowed offline still can.
    assert picker.current_remote() != REFERENCE
    assert picker.has(f"near/{MODEL_ALIAS}")
    window.workspace.set_offline(False)
    qtbot.waitUntil(lambda: picker.has(REFERENCE), timeout=LISTED_TIMEOUT_MS)


def save_screenshots(window: MainWindow) -> None:
    """With LOCALAI_SCREENSHOTS=FOLDER, the window with a remote model chosen, to look at."""
    folder = os.environ.get("LOCALAI_SCREENSHOTS")
    if not folder:
        return
    for width, height in ((800, 600), (1920, 1080)):
        window.resize(width, height)
        QApplication.processEvents()
        window.grab().save(str(Path(folder) / f"remote-model-{width}x{height}.png"))


def test_a_conversation_answered_remotely_opens_with_its_remote_model_again(
    open_window: OpenWindow,
    data_dir: Path,
    llama_server: RunningServer,
    stories260k: Path,
    qtbot: QtBot,
) -> None:
    add_remotes(data_dir, llama_server)
    db = Database(init_data_paths(data_dir).database)
    try:  # a model of this computer too, listed (and chosen) first
        local_id = ModelRegistry(db, data_dir / "models").import_model(stories260k, name="Here").id
    finally:
        db.close()
    window = open_window(data_dir)
    tab = window.chat_tab
    qtbot.waitUntil(lambda: tab.model_picker.has(REFERENCE), timeout=LISTED_TIMEOUT_MS)
    assert tab.current_model_id() == local_id
    assert tab.model_picker.combo.itemText(0).startswith("Here")
    choose(tab.model_picker, tab.model_picker.combo.findData(REFERENCE))
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=8, seed=3, context_length=1024))
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, "Once upon a time")
    conversation_id = finished.args[0].conversation_id
    window.close()
    # Next start: the remotes are asked again in the background; the conversation shown gets
    # its remote model back once they answer.
    again = open_window(data_dir)
    assert again.chat_tab.current_conversation_id() == conversation_id
    qtbot.waitUntil(
        lambda: again.chat_tab.model_picker.current_remote() == REFERENCE,
        timeout=LISTED_TIMEOUT_MS,
    )


def test_the_refresh_button_and_the_remotes_panel_list_the_remotes_again(
    open_window: OpenWindow, data_dir: Path, llama_server: RunningServer, qtbot: QtBot
) -> None:
    add_remotes(data_dir, llama_server)
    window = open_window(data_dir)
    picker = window.chat_tab.model_picker
    qtbot.waitUntil(lambda: picker.has(REFERENCE), timeout=LISTED_TIMEOUT_MS)
    window.tabs.setCurrentWidget(window.chat_tab)
    assert picker.refresh_button.isVisible()
    # Removed behind the app's back (another window, the command line): ↻ asks again.
    window.workspace.remotes.remove("gone")
    qtbot.mouseClick(picker.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: [r.name for r in picker.remote_listings()] == ["box"], timeout=LISTED_TIMEOUT_MS
    )
    # Added in Models > Remote engines: the picker follows without being asked.
    window.workspace.remotes.add("again", llama_server.url)
    window.remotes_panel.remotes_changed.emit()
    qtbot.waitUntil(lambda: picker.has(f"again/{MODEL_ALIAS}"), timeout=LISTED_TIMEOUT_MS)


def test_a_remote_that_never_answers_is_unavailable_after_the_timeout_and_the_window_stays_live(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    with socket.socket() as mute:  # takes connections (the backlog) but never answers them
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        db = Database(init_data_paths(data_dir).database)
        try:
            Remotes(db).add("mute", f"http://127.0.0.1:{mute.getsockname()[1]}")
        finally:
            db.close()
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start()
        started = time.monotonic()
        window = open_window(data_dir)
        picker = window.chat_tab.model_picker
        qtbot.waitUntil(lambda: bool(picker.remote_listings()), timeout=LISTED_TIMEOUT_MS)
        waited = time.monotonic() - started
        timer.stop()
    listing = picker.remote_listings()[0]
    assert not listing.available and "did not answer in time" in (listing.problem or "")
    assert 2.5 < waited < 10  # the client's short timeout (3 s), not the stream's
    gaps = [b - a for a, b in itertools.pairwise(ticks) if a > started + 1.0]
    # Opening the window takes its time; after that the event loop kept turning.
    assert gaps and max(gaps) < 0.25, max(gaps)
    index = item_index(picker, "mute (127.0.0.1): unavailable")
    assert not is_enabled(picker, index)
