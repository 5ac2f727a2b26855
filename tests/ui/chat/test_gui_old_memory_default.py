"""Chats saved with the old fixed Memory of 4,096: Automatic is offered, never forced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.memory_default import (
    MEMORY_CHOSEN,
    keeps_old_default_memory,
    with_automatic_memory,
)
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support.gui_support import OpenWindow, window_opener

# What every conversation stored before Memory became Automatic (the old settings' to_dict()).
OLD_SETTINGS = {
    "temperature": 0.7,
    "top_p": 0.95,
    "top_k": 40,
    "repeat_penalty": 1.1,
    "max_tokens": 1024,
    "context_length": 4096,
    "seed": None,
}


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def test_only_an_unchosen_old_default_is_offered() -> None:
    assert keeps_old_default_memory(OLD_SETTINGS)
    assert not keeps_old_default_memory({**OLD_SETTINGS, MEMORY_CHOSEN: True})
    assert not keeps_old_default_memory({**OLD_SETTINGS, "context_length": 8192})
    assert not keeps_old_default_memory({**OLD_SETTINGS, "context_length": 0})
    assert not keeps_old_default_memory({})
    switched = with_automatic_memory({**OLD_SETTINGS, "collections": [3]})
    assert switched["context_length"] == 0 and switched["collections"] == [3]
    assert not keeps_old_default_memory(switched)


def test_an_old_chat_is_offered_automatic_and_the_answer_is_remembered(
    open_window: OpenWindow, data_dir: Path, tiny_chat_model: Path, qtbot: QtBot
) -> None:
    db = Database(init_data_paths(data_dir).database)
    try:
        ModelRegistry(db, data_dir / "models").import_model(tiny_chat_model, name="Tiny")
    finally:
        db.close()
    window = open_window(data_dir)
    store, tab = window.store, window.chat_tab
    panel = tab.settings_panel
    old = store.create(title="Old contract review", settings=OLD_SETTINGS)
    kept = store.create(title="Old, kept", settings=OLD_SETTINGS)
    chosen = store.create(title="Chosen 4,096", settings={**OLD_SETTINGS, MEMORY_CHOSEN: True})
    larger = store.create(title="Chosen 8,192", settings={**OLD_SETTINGS, "context_length": 8192})
    tab.refresh_conversations()

    for conversation in (chosen, larger):
        tab.select_conversation(conversation.id)
        assert panel.memory_offer.isHidden()

    tab.select_conversation(old.id)
    assert not panel.memory_offer.isHidden()
    assert panel.settings().context_length == 4096  # shown as it was: nothing changed yet
    assert "fixed Memory of 4,096 tokens" in panel.memory_offer.text.text()
    assert "up to " in panel.memory_offer.text.text()  # what Automatic means here
    window.resize(800, 600)
    panel.grab().save(str(data_dir / "memory-offer.png"))  # looked at while writing this
    panel.memory_offer.use_automatic.click()
    assert panel.memory_offer.isHidden()
    assert panel.settings().context_length == 0
    tab.save_state()
    tab.writer.wait()
    assert store.get(old.id).settings["context_length"] == 0
    assert store.get(old.id).settings[MEMORY_CHOSEN] is True

    tab.select_conversation(kept.id)
    assert not panel.memory_offer.isHidden()
    panel.memory_offer.keep.click()
    assert panel.memory_offer.isHidden()
    tab.save_state()
    tab.writer.wait()
    saved = store.get(kept.id).settings
    assert saved["context_length"] == 4096 and saved[MEMORY_CHOSEN] is True

    # Neither is asked again, after a restart as well.
    for conversation in (old, kept):
        tab.select_conversation(conversation.id)
        assert panel.memory_offer.isHidden()
