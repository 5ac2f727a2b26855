"""A model without a chat template is flagged in the Chat tab, and its prompt format chosen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import gguf_factory
from tests.support.gui_support import OpenWindow, window_opener


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def test_a_model_without_template_is_flagged_and_its_format_can_be_chosen(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    path = gguf_factory.write_random_llama(
        tmp_path / "bare.gguf",
        tokenizer_from=models_dir / "ggml-vocab-phi-3.gguf",
        chat_template=None,
    )
    db = Database(init_data_paths(data_dir).database)
    try:
        model_id = ModelRegistry(db, data_dir / "models").import_model(path, name="Bare").id
    finally:
        db.close()
    window = open_window(data_dir)
    window.resize(1024, 768)
    tab = window.chat_tab
    tab.select_model(model_id)
    combo = tab.model_picker.combo
    assert combo.itemText(0) == "Bare · no chat template"
    tooltip = combo.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert "Phi-3: guessed, its vocabulary has the &lt;|assistant|&gt; token" in tooltip
    assert "no chat template of its own" in tab.banner.text()
    assert "Prompt format" in tab.banner.text()

    picker = tab.prompt_format
    assert picker.currentText() == "Automatic: Phi-3"
    picker.setCurrentIndex(picker.findData("chatml"))
    picker.activated.emit(picker.currentIndex())
    assert window.registry.get(model_id).source["prompt_format"] == "chatml"
    assert tab.status.text().startswith("“Bare”: ChatML")
    assert tab.prompt_format.currentData() == "chatml"  # kept after the picker was refilled
    window.grab().save("/tmp/prompt_format_flagged.png")


def test_a_narrow_prompt_format_box_shortens_its_text_with_an_ellipsis(qtbot: QtBot) -> None:
    from localai_desktop.ui.chat.prompt_format_picker import PromptFormatPicker

    picker = PromptFormatPicker()
    qtbot.addWidget(picker)
    picker.addItem("Automatic: the model's own chat template, as its file gives it")
    picker.setFixedWidth(140)
    picker.show()
    qtbot.waitExposed(picker)
    shown = picker.shown_text()
    assert shown.endswith("…") and shown.startswith("Automatic")
    picker.setFixedWidth(900)
    assert picker.shown_text() == picker.currentText()  # room enough: nothing shortened
