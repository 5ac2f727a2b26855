"""Memory on Automatic, the estimate under the message box, and what an answer left out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.context_use import WHAT_TO_DO, ContextLevel
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.context_choice import automatic_context
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support.gui_support import OpenWindow, last_view, window_opener

ANSWER_TIMEOUT_MS = 120_000


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def import_model(data_dir: Path, path: Path, name: str) -> int:
    db = Database(init_data_paths(data_dir).database)
    try:
        return ModelRegistry(db, data_dir / "models").import_model(path, name=name).id
    finally:
        db.close()


def test_memory_is_automatic_and_says_what_it_chose(
    open_window: OpenWindow, data_dir: Path, tiny_chat_model: Path
) -> None:
    import_model(data_dir, tiny_chat_model, "Tiny")  # trained for 32,768 tokens
    window = open_window(data_dir)
    panel = window.chat_tab.settings_panel
    assert panel.settings().context_length == 0
    chosen = automatic_context(tiny_chat_model, 32768).tokens
    assert chosen > 4096
    assert panel.context_hint().startswith(f"Automatic: {chosen:,} tokens, using about ")
    assert panel.context_tokens() == chosen
    memory = next(
        box for box in panel.findChildren(QSpinBox) if box.accessibleName().startswith("Memory")
    )
    assert memory.text() == "Automatic"


def test_the_counter_turns_amber_then_red_before_sending(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")  # 2,048 tokens at most
    window = open_window(data_dir)
    tab = window.chat_tab
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=256))
    meter = tab.context_meter
    tab.composer.set_text("Hello there")
    qtbot.waitUntil(lambda: meter.use is not None and meter.use.message > 0)
    assert meter.level() is ContextLevel.FINE and meter.isVisible()
    assert "of 2,048 tokens of memory" in meter.text()
    tab.composer.set_text("clause " * 850)
    qtbot.waitUntil(lambda: meter.level() is ContextLevel.NEARLY_FULL)
    tab.composer.set_text("Please summarise: " + "clause " * 3000)
    qtbot.waitUntil(lambda: meter.level() is ContextLevel.TOO_FULL)
    assert "its beginning would be left out" in meter.text()
    window.resize(1024, 768)
    meter.grab().save("/tmp/context_meter_red.png")


def test_an_answer_says_what_was_left_out_and_what_to_do(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=20, context_length=512, seed=1))
    tab.composer.set_text("Please summarise: " + "clause " * 1500)
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS):
        qtbot.keyClick(tab.composer.input, Qt.Key.Key_Return)
    view = last_view(tab)
    text = view.left_out_text()
    assert "beginning was left out" in text
    assert WHAT_TO_DO in text
    window.resize(1024, 768)
    qtbot.wait(50)
    window.grab().save("/tmp/left_out_answer.png")
