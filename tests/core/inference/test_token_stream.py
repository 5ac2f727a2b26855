"""The engine's own decoding loop on a real model: same answers as llama-cpp-python's
`Llama.generate`, the conversation's cached prefix reused, and a full context an error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.inference.prompt import PromptPlan, plan_prompt
from localai_desktop.core.inference.token_stream import stream_tokens

SETTINGS = GenerationSettings(max_tokens=150, seed=1234)


@pytest.fixture
def engine(stories260k: Path) -> Iterator[LlamaEngine]:
    engine = LlamaEngine(n_threads=1)
    engine.load(stories260k, n_ctx=512)
    yield engine
    engine.unload()


def plan(engine: LlamaEngine, *turns: tuple[str, str]) -> PromptPlan:
    return plan_prompt(
        [ChatTurn(role, text) for role, text in turns],
        engine.formatter,
        engine.tokenize,
        n_ctx=512,
        max_tokens=SETTINGS.max_tokens,
        bos_token_ids=engine.bos_token_ids,
    )


def answer(engine: LlamaEngine, prompt: PromptPlan) -> str:
    pieces: list[str] = []
    engine.generate(prompt, SETTINGS, pieces.append)
    return "".join(pieces)


def count_evaluated_tokens(llm: Any) -> list[int]:
    """Record how many prompt tokens each `Llama.eval` call decodes."""
    counts: list[int] = []
    original = llm.eval

    def eval_and_count(tokens: Any) -> None:
        counts.append(len(tokens))
        original(tokens)

    llm.eval = eval_and_count
    return counts


def generate_as_llama_cpp_python(engine: LlamaEngine, prompt: PromptPlan) -> str:
    """The answer `Llama.generate` gives for the same prompt, settings and cache state."""
    import llama_cpp

    llm: Any = engine._llm
    llm.set_seed(SETTINGS.seed)
    tokens: list[int] = []
    stream = llm.generate(
        prompt.tokens,
        top_k=SETTINGS.top_k,
        top_p=SETTINGS.top_p,
        min_p=0.05,
        temp=SETTINGS.temperature,
        repeat_penalty=SETTINGS.repeat_penalty,
    )
    for token in stream:
        if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
            break
        tokens.append(token)
        if len(tokens) == SETTINGS.max_tokens:
            break
    stream.close()
    return llm.detokenize(tokens).decode("utf-8", errors="replace").strip()


def test_answers_match_llama_cpp_pythons_own_generate(engine: LlamaEngine) -> None:
    prompt = plan(engine, ("user", "Tell me about a cat and a ball."))
    ours = answer(engine, prompt)
    engine._llm.reset()  # type: ignore[attr-defined]
    theirs = generate_as_llama_cpp_python(engine, prompt)
    assert len(ours) > 100
    assert ours == theirs


def test_a_follow_up_question_reuses_the_conversation_already_decoded(
    engine: LlamaEngine,
) -> None:
    first = plan(engine, ("user", "Tell me about a dog."))
    reply = answer(engine, first)
    follow_up = plan(
        engine,
        ("user", "Tell me about a dog."),
        ("assistant", reply),
        ("user", "And then?"),
    )
    evaluated = count_evaluated_tokens(engine._llm)
    continued = answer(engine, follow_up)
    # Only what follows the first question is decoded again, not the whole conversation.
    assert len(evaluated) == 1
    assert evaluated[0] <= len(follow_up.tokens) - len(first.tokens)

    # llama-cpp-python, from the same start, reuses the same prefix and answers the same.
    engine._llm.reset()  # type: ignore[attr-defined]
    assert generate_as_llama_cpp_python(engine, first) == reply
    assert generate_as_llama_cpp_python(engine, follow_up) == continued


def test_the_same_question_again_decodes_only_its_last_token(engine: LlamaEngine) -> None:
    prompt = plan(engine, ("user", "Once upon a time"))
    answer(engine, prompt)
    evaluated = count_evaluated_tokens(engine._llm)
    again = answer(engine, prompt)
    assert evaluated == [1]  # the last prompt token again, for fresh logits
    assert len(again) > 100


def test_a_stream_that_fills_the_context_stops_with_an_error(engine: LlamaEngine) -> None:
    llm: Any = engine._llm
    llm.set_seed(5)
    prompt = plan(engine, ("user", "Hello")).tokens
    count = 0
    with pytest.raises(RuntimeError, match="llama_decode returned 1"):
        for _token in stream_tokens(
            llm, prompt, top_k=40, top_p=0.95, min_p=0.05, temp=0.7, repeat_penalty=1.1
        ):
            count += 1
    # Every position of the context was used; the last token was sampled but had no room.
    assert count == llm.n_ctx() - len(prompt) + 1
    assert llm.n_tokens == llm.n_ctx()


@pytest.mark.parametrize(
    ("temperature", "repeat_penalty"), [(0.0, 1.3), (0.8, 1.3), (0.8, 1.0), (0.0, 1.0)]
)
def test_long_answers_match_token_for_token_with_the_penalty_window_full(
    engine: LlamaEngine, temperature: float, repeat_penalty: float
) -> None:
    # 300 tokens: the repeat penalty's 64-token window fills and slides many times, the case
    # where applying it to the recent tokens' logits only could drift from llama.cpp's own.
    import llama_cpp

    llm: Any = engine._llm
    prompt = plan(engine, ("user", "Tell me a long story about a dog, a cat and a ball.")).tokens
    kwargs: dict[str, Any] = {
        "top_k": 40,
        "top_p": 0.95,
        "min_p": 0.05,
        "temp": temperature,
        "repeat_penalty": repeat_penalty,
    }

    def first_tokens(stream: Any) -> list[int]:
        tokens: list[int] = []
        for token in stream:
            if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token) or len(tokens) == 300:
                break
            tokens.append(token)
        stream.close()
        return tokens

    llm.reset()
    llm.set_seed(77)
    theirs = first_tokens(llm.generate(prompt, **kwargs))
    llm.reset()
    llm.set_seed(77)
    ours = first_tokens(stream_tokens(llm, prompt, **kwargs))
    assert len(theirs) > 100
    assert ours == theirs
