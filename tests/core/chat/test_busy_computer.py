"""An answer written while other programs kept the computer busy says so (issue 18, item d)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.chat.busy import OTHER_PROGRAMS_SHARE, busy_note, other_programs_share
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.speed.measurement import BUSY_SHARE
from localai_desktop.core.storage import Database


@pytest.fixture
def service(data_dir: Path) -> Iterator[ChatService]:
    db = Database(data_dir / "localai.db")
    chat = ChatService(ConversationStore(db), ModelRegistry(db, data_dir / "models"), LlamaEngine())
    yield chat
    chat.engine.unload()
    db.close()


@pytest.fixture
def other_programs_busy() -> Iterator[None]:
    """Two other programs that each keep a core busy, as a backup or a browser tab would."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for burner in burners:
        burner.kill()
        burner.wait()


def test_an_answer_written_on_a_busy_computer_says_so(
    service: ChatService, tiny_chat_model: Path, other_programs_busy: None
) -> None:
    model = service.registry.import_model(tiny_chat_model, name="tiny")
    conversation = service.store.create()
    answer = service.send(
        conversation.id,
        "Write a long story.",
        model_id=model.id,
        settings=GenerationSettings(seed=1, max_tokens=120, context_length=1024),
        on_text=lambda _piece: None,
    )
    share = other_programs_share(answer.provenance)
    assert share is not None and share >= BUSY_SHARE
    assert busy_note(answer.provenance).startswith("the computer was busy: other programs used")
    # Kept with the answer: the Chat tab says it again after a restart.
    stored = service.store.get(conversation.id).messages[-1].provenance
    assert stored[OTHER_PROGRAMS_SHARE] == answer.provenance[OTHER_PROGRAMS_SHARE]


def test_a_quiet_computer_or_an_older_answer_adds_nothing() -> None:
    assert busy_note({OTHER_PROGRAMS_SHARE: 0.05}) == ""
    assert busy_note({}) == ""  # written before this was measured
    assert busy_note({OTHER_PROGRAMS_SHARE: "a lot"}) == ""
    assert busy_note({OTHER_PROGRAMS_SHARE: 0.6}) == (
        "the computer was busy: other programs used 60% of it"
    )
