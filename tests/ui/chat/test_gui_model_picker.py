"""The chat model picker: a long model name is shortened with "…", the whole in its tooltip."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.chat.model_picker import ModelPicker

LONG_NAME = "Meta-Llama-3.1-70B-Instruct-abliterated-with-a-very-long-suffix-Q4_K_M"


def test_a_long_model_name_is_shortened_with_an_ellipsis_and_shown_whole_in_the_tooltip(
    qtbot: QtBot, data_dir: Path, stories260k: Path, tiny_chat_model: Path
) -> None:
    db = Database(init_data_paths(data_dir).database)
    try:
        registry = ModelRegistry(db, data_dir / "models")
        registry.import_model(stories260k, name=LONG_NAME)
        registry.import_model(tiny_chat_model, name="Short")
        models = registry.list()
    finally:
        db.close()
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.set_models(models)
    picker.resize(300, 40)
    picker.show()
    qtbot.waitExposed(picker)
    picker.select(next(m.id for m in models if m.name == LONG_NAME))

    shown = picker.combo.shown_text()
    assert "…" in shown
    # Both ends stay: the start of the name, and the end (its type, or "no chat template").
    assert shown.startswith("Meta-Ll") and shown.endswith("template")
    assert picker.combo.fontMetrics().horizontalAdvance(shown) < picker.combo.width()
    assert picker.combo.width() <= 300  # the name did not widen the picker
    assert LONG_NAME in picker.combo.toolTip()
    picker.grab().save(str(data_dir / "picker.png"))  # looked at while writing this

    picker.select(next(m.id for m in models if m.name == "Short"))
    assert picker.combo.shown_text() == "Short"
    assert "Short" in picker.combo.toolTip()
