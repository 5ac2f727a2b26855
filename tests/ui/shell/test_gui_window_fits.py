"""The whole window at 800x600, 1024x768 and 1920x1080 with a long conversation: nothing is cut."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support.gui_support import OpenWindow, window_opener
from tests.support.layout_checks import cut_texts, sticking_out

LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 4
URL = "https://example.org/" + "/".join(f"section-{n}-of-the-guidance" for n in range(12))
ANSWER = f"""Here is what the guidance says about {LONG_WORD}.

See {URL} for the full text.

```python
dose = weight_kg * 0.1 if patient.renal_function_ml_min > 30 else weight_kg * 0.05  # {LONG_WORD}
```

| Drug | Dose | Route | Frequency | Maximum | Renal | Hepatic | Notes |
|------|------|-------|-----------|---------|-------|---------|-------|
| Noradrenaline | 0.05-0.5 µg/kg/min | IV | continuous | 1 µg/kg/min | no | no | {LONG_WORD} |

Done [1].
"""
SOURCE_NAME = "intensive-care-unit-vasopressor-guideline-" + "revision-" * 8 + "2026.pdf"
PROVENANCE = {
    "model_name": "A model with a rather long name for testing " * 2,
    "collections": ["Ward"],
    "sources": [
        {
            "n": 1, "collection": "Ward", "file": f"/docs/{SOURCE_NAME}",
            "file_name": SOURCE_NAME, "page": 3, "heading": None,
            "text": f"Noradrenaline {LONG_WORD} " * 5, "similarity": 0.8, "truncated": True,
        }
    ],
    "retrieval": {"passages_found": 5, "relevant_found": True, "passages_left_out": 2},
    "prompt_warnings": ["Your message was too long for the context; its beginning was left out."],
    "n_ctx": 4096,
}  # fmt: skip


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def long_conversation(data_dir: Path, stories260k: Path) -> int:
    db = Database(init_data_paths(data_dir).database)
    try:
        model = ModelRegistry(db, data_dir / "models").import_model(stories260k, name="Stories")
        store = ConversationStore(db)
        conversation = store.create(title=f"About {LONG_WORD}", model_id=model.id)
        for _ in range(2):
            store.add_message(conversation.id, "user", f"What about {LONG_WORD} and {URL}?")
            store.add_message(conversation.id, "assistant", ANSWER, provenance=PROVENANCE)
        return conversation.id
    finally:
        db.close()


@pytest.mark.parametrize("size", [(800, 600), (1024, 700), (1024, 768), (1920, 1080)])
def test_every_tab_fits_the_window_with_a_long_conversation(
    open_window: OpenWindow,
    data_dir: Path,
    stories260k: Path,
    qtbot: QtBot,
    size: tuple[int, int],
) -> None:
    conversation_id = long_conversation(data_dir, stories260k)
    window = open_window(data_dir)
    window.resize(*size)
    window.chat_tab.select_conversation(conversation_id)
    window.chat_tab.status.show_message(
        "Writing the answer… (Esc stops it) " + "and a long status text " * 6
    )
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        # Layouts settle (an answer's height follows its width): on a busy machine that takes
        # more than a few event-loop turns, so wait for it, up to 5 s, before judging.
        qtbot.wait(200)
        with contextlib.suppress(qtbot.TimeoutError):
            qtbot.waitUntil(
                lambda: not sticking_out(window) and not cut_texts(window), timeout=5000
            )
        name = window.tabs.tabText(index).lower()
        window.grab().save(f"/tmp/fits_{size[0]}x{size[1]}_{name}.png")
        assert window.width() <= size[0] and window.height() <= size[1], name
        assert sticking_out(window) == [], name
        assert cut_texts(window) == [], name
    view = window.chat_tab.transcript.views()[-1]
    viewport = window.chat_tab.transcript.viewport()
    window.tabs.setCurrentIndex(0)
    qtbot.wait(200)
    assert view.width() <= viewport.width()
    for button in (view.copy_button(), view.regenerate_button()):
        corner = button.mapTo(viewport, button.rect().bottomRight())
        assert button.isVisible() and corner.x() <= viewport.width()
    for message in window.chat_tab.transcript.views():
        body = message.body
        assert body.height() >= body.document().size().height()  # all of it shown, none hidden
    # Break points let long words wrap; copying a selection leaves them out.
    view.body.selectAll()
    copied = view.body.createMimeDataFromSelection().text()
    assert LONG_WORD in copied and URL in copied and "\u200b" not in copied


def test_the_chat_tab_fits_800_pixels_with_an_adapter(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    # The adapter row (picker, strength slider) once set the Chat tab's minimum to 836 px.
    from tests.core.finetune.test_finetune_adapters import register_random_adapter

    conversation_id = long_conversation(data_dir, stories260k)
    register_random_adapter(data_dir, "Stories", "a-rather-long-adapter-name-for-contracts")
    window = open_window(data_dir)
    window.resize(800, 600)
    window.chat_tab.select_conversation(conversation_id)
    qtbot.wait(200)
    with contextlib.suppress(qtbot.TimeoutError):
        qtbot.waitUntil(lambda: not sticking_out(window), timeout=5000)
    assert window.chat_tab.adapter_picker.isVisible()
    assert window.width() <= 800
    assert sticking_out(window) == []
