"""Automatic threads: all cores on a quiet computer, the free ones while others keep it busy."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from localai_desktop.core.common.cpu_load import free_core_threads
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.inference.prompt import PromptPlan


@pytest.fixture
def two_core_computer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 2)


@pytest.mark.usefixtures("two_core_computer")
def test_the_threads_follow_the_free_cores() -> None:
    assert free_core_threads(2, 0.0) == 2
    assert free_core_threads(2, 0.2) == 2  # a little background work
    assert free_core_threads(2, 0.5) == 1  # another program takes a core
    assert free_core_threads(2, 1.0) == 1  # never fewer than one


class _BusyMeanwhile:
    elapsed = 5.0

    def share(self) -> float:
        return 0.9


@pytest.mark.usefixtures("two_core_computer")
def test_a_busy_computer_gets_one_thread_at_the_next_answer(stories260k: Path) -> None:
    engine = LlamaEngine()
    engine.n_threads = engine._cores = 2
    engine.load(stories260k, n_ctx=256)
    plan = PromptPlan(engine.tokenize("Once upon a time"), "", (), 8, 0, False)
    settings = GenerationSettings(temperature=0.0, max_tokens=8, seed=1)
    try:
        engine.generate(plan, settings, lambda _text: None)
        assert engine.n_threads == 2
        engine._since_last_answer = _BusyMeanwhile()  # type: ignore[assignment]

        stats = engine.generate(plan, settings, lambda _text: None)

        assert engine.n_threads == 1
        assert stats.completion_tokens == 8
    finally:
        engine.unload()


def test_threads_given_by_the_user_stay(stories260k: Path) -> None:
    engine = LlamaEngine(n_threads=2)
    assert not engine.automatic_threads
