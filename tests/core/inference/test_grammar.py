"""A grammar limits what the engine writes; one llama.cpp cannot parse is an error, not a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.common.errors import GenerationError
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.inference.prompt import plan_prompt


@pytest.fixture
def engine(stories260k: Path) -> Iterator[LlamaEngine]:
    engine = LlamaEngine(n_threads=1)
    engine.load(stories260k, n_ctx=256)
    yield engine
    engine.unload()


def answer(engine: LlamaEngine, grammar: str, seed: int) -> str:
    plan = plan_prompt(
        [ChatTurn("user", "Yes or no?")],
        engine.formatter,
        engine.tokenize,
        n_ctx=256,
        max_tokens=32,
        bos_token_ids=engine.bos_token_ids,
    )
    parts: list[str] = []
    engine.generate(plan, GenerationSettings(seed=seed), parts.append, grammar=grammar)
    return "".join(parts)


def test_the_answer_follows_the_grammar(engine: LlamaEngine) -> None:
    answers = {answer(engine, 'root ::= ("yes" | "no") "."', seed) for seed in range(6)}
    assert answers <= {"yes.", "no."}
    # The next answer without a grammar is free again.
    plan = plan_prompt(
        [ChatTurn("user", "A story")], engine.formatter, engine.tokenize, n_ctx=256, max_tokens=24
    )
    parts: list[str] = []
    engine.generate(plan, GenerationSettings(seed=1, max_tokens=24), parts.append)
    assert "".join(parts) not in ("yes.", "no.")


def test_a_grammar_that_does_not_parse_is_refused(engine: LlamaEngine) -> None:
    with pytest.raises(GenerationError, match="grammar"):
        answer(engine, "root ::= undefined-rule", seed=1)
    assert answer(engine, 'root ::= "ok"', seed=1) == "ok"
