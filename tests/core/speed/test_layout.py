"""The weight layout per machine: both layouts measured in a child, the faster one loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.core.speed.layout import (
    WEIGHT_LAYOUT_KEY,
    LayoutChoice,
    LayoutSpeed,
    Work,
    machine_signature,
    measure_layouts,
    prefers_plain_layout,
    stored_choice,
)


@pytest.fixture
def workspace(data_dir: Path, stories260k: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(data_dir)
    workspace.registry.import_model(stories260k, name="st", probe=False)
    yield workspace
    workspace.close()


def _choice(
    *, plain_faster: bool, machine: str | None = None, work: Work = Work.CHAT
) -> LayoutChoice:
    fast, slow = LayoutSpeed(500.0, 60.0), LayoutSpeed(300.0, 40.0)
    return LayoutChoice(
        machine=machine or machine_signature(),
        work=work,
        repacked=slow if plain_faster else fast,
        plain=fast if plain_faster else slow,
        measured_at="2026-12-04T20:00:00",
        threads=2,
    )


def _with_choice(workspace: Workspace, choice: LayoutChoice) -> LocalModel:
    model = workspace.registry.get("st")
    workspace.registry.set_source(model.id, {**model.source, WEIGHT_LAYOUT_KEY: choice.to_json()})
    return workspace.registry.get("st")


def test_both_layouts_are_measured_on_a_real_model(workspace: Workspace) -> None:
    lines: list[str] = []
    choice = measure_layouts(
        workspace.registry.get("st"),
        work=Work.DOCUMENTS,
        threads=1,
        on_progress=lines.append,
        rounds=1,
    )

    for speed in (choice.repacked, choice.plain):
        assert speed.prompt_tokens_per_second > 10
        assert speed.answer_tokens_per_second > 10
    assert choice.machine == machine_signature()
    # One round of each (more only where the two came out too close to call).
    assert len(lines) in (2, 4, 6, 8) and "rearranged" in lines[0] and "own" in lines[1]
    # The verdict is the layout that finishes a typical document question sooner.
    assert choice.plain_is_faster == (
        choice.plain.seconds_for(Work.DOCUMENTS) < choice.repacked.seconds_for(Work.DOCUMENTS)
    )
    assert LayoutChoice.from_json(choice.to_json()) == choice


def test_the_choice_depends_on_the_work() -> None:
    # Repacked reads prompts faster, the file's own layout writes faster (as on AMX machines).
    choice = LayoutChoice(
        machine="m",
        work=Work.DOCUMENTS,
        repacked=LayoutSpeed(550.0, 60.0),
        plain=LayoutSpeed(350.0, 82.0),
        measured_at="t",
        threads=2,
    )
    assert not choice.plain_is_faster  # 2,000 prompt tokens dominate
    assert choice.for_work(Work.CHAT).plain_is_faster  # 300 answer tokens dominate
    assert "document question" in choice.describe()


def test_a_measurement_applies_only_on_the_computer_it_was_made_on(workspace: Workspace) -> None:
    here = _with_choice(workspace, _choice(plain_faster=True))
    assert stored_choice(here) is not None and prefers_plain_layout(here)

    copied = _with_choice(workspace, _choice(plain_faster=True, machine="Another CPU [avx2] x8"))
    assert stored_choice(copied) is None
    assert not prefers_plain_layout(copied)


def test_a_crash_found_at_import_always_wins(workspace: Workspace) -> None:
    model = _with_choice(workspace, _choice(plain_faster=False))
    assert not prefers_plain_layout(model)
    from dataclasses import replace

    assert prefers_plain_layout(replace(model, plain_buffers=True))


@pytest.mark.parametrize("plain_faster", [True, False])
def test_chat_loads_the_model_in_the_chosen_layout(
    workspace: Workspace, plain_faster: bool
) -> None:
    model = _with_choice(workspace, _choice(plain_faster=plain_faster))
    engine = LlamaEngine()
    asked: list[Any] = []
    original = engine.load

    def recording_load(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["plain_buffers"])
        return original(*args, **kwargs)

    engine.load = recording_load  # type: ignore[method-assign]
    service = ChatService(workspace.conversations, workspace.registry, engine)
    try:
        service.load_model(model, 256)
    finally:
        engine.unload()
    assert asked == [plain_faster]


def test_an_embedding_model_is_not_measured(data_dir: Path, models_dir: Path) -> None:
    workspace = Workspace.open(data_dir)
    try:
        workspace.registry.import_model(
            models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="mini", probe=False
        )
        with pytest.raises(LocalAIError, match="embedding model"):
            measure_layouts(workspace.registry.get("mini"), work=Work.CHAT, threads=1)
    finally:
        workspace.close()


def test_a_busy_computer_is_named_in_the_verdict() -> None:
    quiet = _choice(plain_faster=True)
    assert "busy" not in quiet.describe()
    from dataclasses import replace

    busy = replace(quiet, busy_share=0.6)
    assert "60% busy, so measure again when it is quieter" in busy.describe()
    assert LayoutChoice.from_json(busy.to_json()) == busy


@pytest.mark.parametrize(("plain_answer_rate", "rounds_run"), [(80.0, 2), (61.0, 4)])
def test_a_close_call_is_measured_again(
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    plain_answer_rate: float,
    rounds_run: int,
) -> None:
    from localai_desktop.core.speed import layout

    asked: list[tuple[bool, int, int]] = []

    def fake_child(_path: Path, **kwargs: Any) -> LayoutSpeed:
        asked.append((kwargs["plain"], kwargs["prompt_tokens"], kwargs["answer_tokens"]))
        return LayoutSpeed(500.0, plain_answer_rate if kwargs["plain"] else 60.0)

    monkeypatch.setattr(layout, "_measure_in_child", fake_child)
    model = workspace.registry.get("st")
    choice = measure_layouts(model, work=Work.CHAT, threads=1, rounds=2)

    # Layouts a third apart are told apart in the rounds asked for; layouts within the noise
    # of one round (1.5% here) are measured until MAX_ROUNDS before the app picks one.
    assert len(asked) == 2 * rounds_run
    assert [plain for plain, _, _ in asked[:2]] == [False, True]
    # The measured prompt is the work's own (a 300-token chat turn), within the model's context.
    assert {(p, a) for _, p, a in asked} == {
        layout.measured_tokens(Work.CHAT, model.context_length)
    }
    assert choice.plain_is_faster


def test_the_measured_prompt_is_the_works_own_within_the_models_context() -> None:
    from localai_desktop.core.speed.layout import MEASURE_PROMPT_LIMIT, measured_tokens

    assert measured_tokens(Work.DOCUMENTS)[0] == MEASURE_PROMPT_LIMIT == 1024
    assert measured_tokens(Work.CHAT)[0] == 300
    assert measured_tokens(Work.DOCUMENTS, context_length=512)[0] == 512 - 32 - 16
