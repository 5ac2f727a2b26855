"""A conversation of thousands of messages opens at once: its last messages, earlier on demand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.ui.chat.transcript import PAGE
from tests.support.gui_support import OpenWindow, window_opener

MESSAGES = 3_000


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def _long_conversation(data_dir: Path) -> list[int]:
    """One conversation of MESSAGES messages (written straight into the database); their ids."""
    with Workspace.open(data_dir) as ws:
        conversation = ws.conversations.create("Years of letters")
        raw = ws.db.connect_plain()
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO messages (conversation_id, role, content, status, provenance, "
            "created_at, updated_at) VALUES (?, ?, ?, 'complete', '{}', "
            "'2026-01-01', '2026-01-01')",
            [
                (conversation.id, "user" if i % 2 == 0 else "assistant", f"Letter {i}")
                for i in range(MESSAGES)
            ],
        )
        raw.execute("COMMIT")
        ids = [row[0] for row in raw.execute("SELECT id FROM messages ORDER BY id")]
        raw.close()
    return ids


def test_a_long_conversation_opens_with_its_last_messages_and_shows_earlier_ones_on_demand(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    ids = _long_conversation(data_dir)
    started = time.perf_counter()
    window = open_window(data_dir)
    took = time.perf_counter() - started
    transcript = window.chat_tab.transcript
    views = transcript.views()
    print(f"window with a conversation of {MESSAGES} messages opened in {took:.2f} s")
    assert [v.message.content for v in views] == [
        f"Letter {i}" for i in range(MESSAGES - PAGE, MESSAGES)
    ]
    assert transcript.earlier_count() == MESSAGES - PAGE
    button = transcript.earlier_button
    window.tabs.setCurrentWidget(window.chat_tab)
    assert button.isVisible()
    assert button.text() == f"Show earlier messages ({MESSAGES - PAGE} more)"
    # Every message still counts in what the model is given (the context meter).
    assert len(transcript.texts()) == MESSAGES

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    views = transcript.views()
    assert len(views) == 2 * PAGE
    assert views[0].message.content == f"Letter {MESSAGES - 2 * PAGE}"
    assert transcript.earlier_count() == MESSAGES - 2 * PAGE

    # A search result further up the conversation is shown, with everything after it.
    far = MESSAGES - 200
    assert transcript.scroll_to(ids[far])
    assert transcript.views()[0].message.content == f"Letter {far}"
    assert transcript.earlier_count() == far
    assert button.text() == f"Show earlier messages ({far} more)"
