"""The answer's speed line in the Chat tab says when other programs kept the computer busy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.busy import OTHER_PROGRAMS_SHARE
from tests.support.gui_support import OpenWindow, last_view, window_opener

STATS = {
    "tokens_per_second": 3.2,
    "time_to_first_token_s": 1.5,
    "completion_tokens": 40,
    "prompt_tokens": 12,
    "generation_time_s": 12.5,
    "finish_reason": "stop",
    "seed": 1,
    "trimmed_messages": 0,
    "n_ctx": 4096,
    "backend": "CPU",
}


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def test_the_speed_line_says_the_computer_was_busy(open_window: OpenWindow, data_dir: Path) -> None:
    window = open_window(data_dir)
    busy = window.store.create(title="Slow")
    window.store.add_message(busy.id, "user", "Hello")
    window.store.add_message(
        busy.id, "assistant", "Hi.", provenance={**STATS, OTHER_PROGRAMS_SHARE: 0.62}
    )
    quiet = window.store.create(title="Quiet")
    window.store.add_message(quiet.id, "user", "Hello")
    window.store.add_message(
        quiet.id, "assistant", "Hi.", provenance={**STATS, OTHER_PROGRAMS_SHARE: 0.03}
    )
    tab = window.chat_tab
    tab.refresh_conversations()

    tab.select_conversation(busy.id)
    window.tabs.setCurrentWidget(tab)
    window.resize(800, 600)
    window.grab().save(str(data_dir / "busy-speed-line.png"))  # looked at: wraps, not cut off
    assert last_view(tab).stats_text() == (
        "3.2 tokens/s · 1.50 s to first token · 40 tokens · on the CPU · "
        "the computer was busy: other programs used 62% of it"
    )
    tab.select_conversation(quiet.id)
    assert last_view(tab).stats_text() == (
        "3.2 tokens/s · 1.50 s to first token · 40 tokens · on the CPU"
    )
