"""Prompt lookup decoding: the same text as token-by-token decoding, in fewer decode calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.inference.prompt import PromptPlan

STORY = (
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "sunshine. One day, she saw a big, red ball in the park. She ran to the ball and picked it "
    "up. Lily was very happy.\n\nOnce upon a time, there was a little girl named Lily. She"
)


def answer(
    model: Path, draft: str, monkeypatch: pytest.MonkeyPatch, **settings: Any
) -> tuple[str, int]:
    import llama_cpp

    calls = [0]
    original = llama_cpp.llama_decode

    def counting_decode(ctx: Any, batch: Any) -> int:
        calls[0] += 1
        return int(original(ctx, batch))

    engine = LlamaEngine(n_threads=1, draft=draft)
    engine.load(model, n_ctx=512)
    try:
        tokens = engine.tokenize(STORY)
        plan = PromptPlan(tokens, STORY, (), 120, 0, False)
        pieces: list[str] = []
        monkeypatch.setattr(llama_cpp, "llama_decode", counting_decode)
        stats = engine.generate(
            plan, GenerationSettings(max_tokens=120, seed=7, **settings), pieces.append
        )
        monkeypatch.setattr(llama_cpp, "llama_decode", original)
        assert stats.completion_tokens > 20
        return "".join(pieces), calls[0]
    finally:
        engine.unload()


def test_prompt_lookup_gives_the_same_text_at_temperature_0(
    stories260k: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, plain_calls = answer(stories260k, "none", monkeypatch, temperature=0.0)
    drafted, drafted_calls = answer(stories260k, "prompt-lookup", monkeypatch, temperature=0.0)

    assert drafted == plain
    assert drafted_calls < plain_calls  # drafts from the prompt were accepted


def test_prompt_lookup_keeps_a_seeded_sampled_answer_too(
    stories260k: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, _ = answer(stories260k, "none", monkeypatch, temperature=0.7)
    drafted, _ = answer(stories260k, "prompt-lookup", monkeypatch, temperature=0.7)
    assert drafted == plain
