"""Several answers decoded in one batch: each as the engine would write it alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import GenerationError
from localai_desktop.core.inference.batched import BatchedDecoder, Sequence, affordable_slots
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import (
    FinishReason,
    GenerationSettings,
    GenerationStats,
)
from localai_desktop.core.inference.prompt import PromptPlan

PROMPTS = ("Once upon a time", "The little dog", "Lily went to the park", "Tom had a red ball")


@pytest.fixture
def engine(stories260k: Path) -> Iterator[LlamaEngine]:
    engine = LlamaEngine(n_threads=1)
    engine.load(stories260k, n_ctx=512)
    yield engine
    engine.unload()


def plan_for(engine: LlamaEngine, prompt: str, max_tokens: int = 60, stops: tuple[str, ...] = ()):
    return PromptPlan(
        tokens=[*engine.bos_token_ids, *engine.tokenize(prompt)],
        text=prompt,
        stop_strings=stops,
        max_tokens=max_tokens,
        trimmed_messages=0,
        used_template=False,
    )


class Answer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.stats: GenerationStats | None = None
        self.error: GenerationError | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def finished(self, stats: GenerationStats) -> None:
        assert self.stats is None, "finished twice"
        self.stats = stats

    def failed(self, error: GenerationError) -> None:
        self.error = error


def alone(engine: LlamaEngine, plan: PromptPlan, settings: GenerationSettings, **kw) -> str:
    parts: list[str] = []
    engine.generate(plan, settings, parts.append, **kw)
    return "".join(parts)


def run_batch(
    decoder: BatchedDecoder, jobs: list[tuple[PromptPlan, GenerationSettings, dict]]
) -> list[Answer]:
    answers = []
    for plan, settings, options in jobs:
        answer = Answer()
        decoder.add(plan, settings, answer.parts.append, answer.finished, answer.failed, **options)
        answers.append(answer)
    while decoder.active:
        decoder.step()
    return answers


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_each_answer_in_a_batch_is_the_one_made_alone(
    engine: LlamaEngine, temperature: float
) -> None:
    # Same settings, same seeds: the batch samples each sequence with the engine's own chain.
    jobs = [
        (plan_for(engine, p), GenerationSettings(temperature=temperature, seed=11 + i), {})
        for i, p in enumerate(PROMPTS)
    ]
    expected = [alone(engine, plan, settings) for plan, settings, _ in jobs]
    decoder = BatchedDecoder(engine, slots=4)
    try:
        answers = run_batch(decoder, jobs)
    finally:
        decoder.close()
    assert [a.text for a in answers] == expected
    assert all(a.stats and a.stats.finish_reason == FinishReason.LENGTH for a in answers)
    assert all(a.stats and a.stats.completion_tokens == 60 for a in answers)


def test_more_requests_than_slots_are_refused_until_one_ends(engine: LlamaEngine) -> None:
    decoder = BatchedDecoder(engine, slots=2)
    try:
        first, second = Answer(), Answer()
        settings = GenerationSettings(temperature=0)
        decoder.add(
            plan_for(engine, PROMPTS[0], 3),
            settings,
            first.parts.append,
            first.finished,
            first.failed,
        )
        decoder.add(
            plan_for(engine, PROMPTS[1]),
            settings,
            second.parts.append,
            second.finished,
            second.failed,
        )
        with pytest.raises(GenerationError):
            decoder.add(plan_for(engine, PROMPTS[2]), settings, print, print, print)
        while first.stats is None:
            decoder.step()
        assert decoder.free == 1
        third = run_batch(decoder, [(plan_for(engine, PROMPTS[2]), settings, {})])[0]
        assert third.text == alone(engine, plan_for(engine, PROMPTS[2]), settings)
    finally:
        decoder.close()


def test_a_cancelled_sequence_ends_after_one_step_and_the_others_go_on(
    engine: LlamaEngine,
) -> None:
    settings = GenerationSettings(temperature=0)
    expected = alone(engine, plan_for(engine, PROMPTS[1]), settings)
    decoder = BatchedDecoder(engine, slots=2)
    try:
        cancel = Cancellation()
        leaver, stayer = Answer(), Answer()
        decoder.add(
            plan_for(engine, PROMPTS[0], 400),
            settings,
            leaver.parts.append,
            leaver.finished,
            leaver.failed,
            cancel=cancel,
        )
        decoder.add(
            plan_for(engine, PROMPTS[1]),
            settings,
            stayer.parts.append,
            stayer.finished,
            stayer.failed,
        )
        for _ in range(5):
            decoder.step()
        cancel.set()
        decoder.step()
        assert leaver.stats is not None
        assert leaver.stats.finish_reason == FinishReason.CANCELLED
        assert leaver.stats.completion_tokens <= 5
        while decoder.active:
            decoder.step()
    finally:
        decoder.close()
    assert stayer.text == expected


def test_stop_strings_and_token_limits_are_per_sequence(engine: LlamaEngine) -> None:
    settings = GenerationSettings(temperature=0)
    full = alone(engine, plan_for(engine, PROMPTS[0]), settings)
    stop = full.split()[5]
    decoder = BatchedDecoder(engine, slots=3)
    try:
        stopped, limited, whole = run_batch(
            decoder,
            [
                (plan_for(engine, PROMPTS[0], stops=(stop,)), settings, {}),
                (plan_for(engine, PROMPTS[0], max_tokens=4), settings, {}),
                (plan_for(engine, PROMPTS[0]), settings, {}),
            ],
        )
    finally:
        decoder.close()
    assert stopped.stats and stopped.stats.finish_reason == FinishReason.STOP
    assert stop not in stopped.text and full.startswith(stopped.text)
    assert limited.stats and limited.stats.completion_tokens == 4
    assert limited.text == alone(engine, plan_for(engine, PROMPTS[0], max_tokens=4), settings)
    assert whole.text == full


def test_each_sequence_follows_its_own_grammar(engine: LlamaEngine) -> None:
    yes_no = 'root ::= ("yes" | "no") "."'
    digits = 'root ::= [0-9] [0-9] "!"'
    decoder = BatchedDecoder(engine, slots=3)
    try:
        answers = run_batch(
            decoder,
            [
                (
                    plan_for(engine, "Yes or no?", 32),
                    GenerationSettings(seed=1),
                    {"grammar": yes_no},
                ),
                (
                    plan_for(engine, "A number:", 32),
                    GenerationSettings(seed=2),
                    {"grammar": digits},
                ),
                (plan_for(engine, "Once upon a time"), GenerationSettings(temperature=0), {}),
            ],
        )
        with pytest.raises(GenerationError):
            decoder.add(
                plan_for(engine, "x"),
                GenerationSettings(),
                print,
                print,
                print,
                grammar="root ::= (",
            )
        assert decoder.free == 3  # the refused one took no slot
    finally:
        decoder.close()
    assert answers[0].text in ("yes.", "no.")
    assert len(answers[1].text) == 3 and answers[1].text[:2].isdigit()
    assert answers[2].text == alone(
        engine, plan_for(engine, "Once upon a time"), GenerationSettings(temperature=0)
    )


def test_slots_are_limited_by_the_memory_their_cache_needs(engine: LlamaEngine) -> None:
    assert affordable_slots(engine, 8) == 8  # a tiny model's cache fits many times
    # stories260K: 5 layers, 4 KV heads of 8: 640 bytes of f16 cache per token, 320 KiB a slot.
    assert affordable_slots(engine, 8, budget_bytes=3 * 512 * 640) == 3
    assert affordable_slots(engine, 8, budget_bytes=0) == 1


def test_a_prompt_longer_than_a_batch_is_read_in_chunks_beside_answering_ones(
    stories260k: Path,
) -> None:
    engine = LlamaEngine(n_threads=1)
    engine.load(stories260k, n_ctx=1024)
    try:
        settings = GenerationSettings(temperature=0)
        long_prompt = " ".join(["Once upon a time, there was a little girl."] * 60)
        long_plan = plan_for(engine, long_prompt, max_tokens=30)
        assert len(long_plan.tokens) > engine.llama.n_batch  # more than one batch to read
        short_plan = plan_for(engine, PROMPTS[0], max_tokens=120)
        expected = [alone(engine, p, settings) for p in (short_plan, long_plan)]
        decoder = BatchedDecoder(engine, slots=2)
        try:
            short = run_batch(decoder, [(short_plan, settings, {})])
            assert decoder.active == 0
            first, second = Answer(), Answer()
            decoder.add(short_plan, settings, first.parts.append, first.finished, first.failed)
            for _ in range(3):
                decoder.step()  # the short one is answering when the long one arrives
            decoder.add(long_plan, settings, second.parts.append, second.finished, second.failed)
            while decoder.active:
                decoder.step()
        finally:
            decoder.close()
        assert short[0].text == expected[0]
        assert [first.text, second.text] == expected
        assert second.stats is not None and second.stats.prompt_tokens == len(long_plan.tokens)
    finally:
        engine.unload()


def test_a_prompt_that_starts_like_a_finished_one_reuses_its_cached_start(
    engine: LlamaEngine,
) -> None:
    settings = GenerationSettings(temperature=0)
    shared = "Once upon a time, there was a little girl named Lily. She"
    first_plan = plan_for(engine, shared + " liked cats.", max_tokens=20)
    second_plan = plan_for(engine, shared + " had a dog.", max_tokens=20)
    expected = alone(engine, second_plan, settings)
    decoder = BatchedDecoder(engine, slots=2)
    try:
        run_batch(decoder, [(plan_for(engine, "Tom ran.", 5), settings, {})])
        run_batch(decoder, [(first_plan, settings, {})])
        answer = Answer()
        sequence = decoder.add(
            second_plan, settings, answer.parts.append, answer.finished, answer.failed
        )
        common = 0
        while first_plan.tokens[common] == second_plan.tokens[common]:
            common += 1
        assert sequence.prompt_read == common  # read only from where the prompts differ
        while decoder.active:
            decoder.step()
    finally:
        decoder.close()
    assert answer.text == expected


SYSTEM_PROMPT = (
    "You are a kind storyteller for small children. Tell short, happy stories about animals, "
    "parks and friends, with simple words and no sad endings."
)


def test_a_new_request_reuses_the_prompt_start_another_slot_is_answering_with(
    engine: LlamaEngine,
) -> None:
    settings = GenerationSettings(temperature=0)
    first_plan = plan_for(engine, SYSTEM_PROMPT + " Tell me about a cat.", max_tokens=40)
    second_plan = plan_for(engine, SYSTEM_PROMPT + " Tell me about a dog.", max_tokens=20)
    common = 0
    while first_plan.tokens[common] == second_plan.tokens[common]:
        common += 1
    assert common > 30  # a long shared start: the system prompt
    expected = alone(engine, second_plan, settings)
    decoder = BatchedDecoder(engine, slots=2)
    try:
        first, second = Answer(), Answer()
        decoder.add(first_plan, settings, first.parts.append, first.finished, first.failed)
        decoder.step()  # the first reads its prompt, and answers in its slot
        decoder.step()
        read_before = decoder.prompt_tokens_decoded
        sequence = decoder.add(
            second_plan, settings, second.parts.append, second.finished, second.failed
        )
        assert sequence.slot != 0  # the other slot, whose own cache is empty
        while decoder.active:
            decoder.step()
    finally:
        decoder.close()
    # Only the tokens after the shared start were read; the start came from the first's slot.
    assert sequence.reused_prompt_tokens == common
    assert decoder.prompt_tokens_decoded - read_before == len(second_plan.tokens) - common
    assert second.text == expected
    assert first.stats is not None and first.stats.completion_tokens == 40


def test_conversations_sharing_a_system_prompt_keep_their_own_slots(
    engine: LlamaEngine,
) -> None:
    settings = GenerationSettings(temperature=0)
    cat_turn = plan_for(engine, SYSTEM_PROMPT + " Tell me about a cat.", max_tokens=20)
    dog_turn = plan_for(engine, SYSTEM_PROMPT + " Tell me about a dog.", max_tokens=20)
    common = 0
    while cat_turn.tokens[common] == dog_turn.tokens[common]:
        common += 1
    decoder = BatchedDecoder(engine, slots=3)

    def answer(plan: PromptPlan) -> tuple[Answer, Sequence]:
        result = Answer()
        sequence = decoder.add(plan, settings, result.parts.append, result.finished, print)
        while decoder.active:
            decoder.step()
        return result, sequence

    try:
        cat, cat_sequence = answer(cat_turn)
        dog, dog_sequence = answer(dog_turn)
        cat_again, cat_again_sequence = answer(cat_turn)
    finally:
        decoder.close()
    # The dog question took an empty slot and copied the system prompt from the cat's...
    assert dog_sequence.slot != cat_sequence.slot
    assert dog_sequence.reused_prompt_tokens == common
    # ...so the cat's slot still held all of its prompt when it came again.
    assert cat_again_sequence.slot == cat_sequence.slot
    assert cat_again_sequence.reused_prompt_tokens == len(cat_turn.tokens) - 1
    assert dog.text == alone(engine, dog_turn, settings)
    assert cat_again.text == cat.text


def test_requests_arriving_together_with_the_same_system_prompt_read_it_once(
    engine: LlamaEngine,
) -> None:
    settings = GenerationSettings(temperature=0)
    cat_turn = plan_for(engine, SYSTEM_PROMPT + " Tell me about a cat.", max_tokens=20)
    dog_turn = plan_for(engine, SYSTEM_PROMPT + " Tell me about a dog.", max_tokens=20)
    common = 0
    while cat_turn.tokens[common] == dog_turn.tokens[common]:
        common += 1
    decoder = BatchedDecoder(engine, slots=2)
    try:
        cat, dog = Answer(), Answer()
        decoder.add(cat_turn, settings, cat.parts.append, cat.finished, cat.failed)
        dog_sequence = decoder.add(dog_turn, settings, dog.parts.append, dog.finished, dog.failed)
        while decoder.active:
            decoder.step()
    finally:
        decoder.close()
    # The dog waited one step for the cat to read the system prompt, then copied it.
    assert dog_sequence.reused_prompt_tokens == common
    assert decoder.prompt_tokens_decoded == len(cat_turn.tokens) + len(dog_turn.tokens) - common
    assert cat.text == alone(engine, cat_turn, settings)
    assert dog.text == alone(engine, dog_turn, settings)


def test_a_request_waiting_for_a_shared_start_reads_it_itself_when_the_other_is_cancelled(
    engine: LlamaEngine,
) -> None:
    settings = GenerationSettings(temperature=0)
    cat_turn = plan_for(engine, SYSTEM_PROMPT + " Tell me about a cat.", max_tokens=20)
    dog_turn = plan_for(engine, SYSTEM_PROMPT + " Tell me about a dog.", max_tokens=20)
    decoder = BatchedDecoder(engine, slots=2)
    try:
        cat, dog = Answer(), Answer()
        stop_cat = Cancellation()
        decoder.add(cat_turn, settings, cat.parts.append, cat.finished, cat.failed, cancel=stop_cat)
        dog_sequence = decoder.add(dog_turn, settings, dog.parts.append, dog.finished, dog.failed)
        stop_cat.set()  # before the cat has read anything
        while decoder.active:
            decoder.step()
    finally:
        decoder.close()
    assert cat.stats is not None and cat.stats.finish_reason == FinishReason.CANCELLED
    assert dog_sequence.reused_prompt_tokens == 0
    assert dog.text == alone(engine, dog_turn, settings)


def test_sequences_in_slots_taken_out_of_order_answer_as_alone(engine: LlamaEngine) -> None:
    # The batch lists tokens in slot order (llama.cpp makes one pass per run of consecutive
    # slots, in the order the batch names them); each answer must not notice.
    jobs = [(plan_for(engine, p), GenerationSettings(temperature=0), {}) for p in PROMPTS[:3]]
    expected = [alone(engine, plan, settings) for plan, settings, _ in jobs]
    decoder = BatchedDecoder(engine, slots=3)
    answers = [Answer() for _ in jobs]
    try:
        free_before = ([2], [0, 1], [1])  # the first arrival takes the last slot
        for (plan, settings, _), answer, free in zip(jobs, answers, free_before, strict=True):
            decoder._free_slots = free
            decoder.add(plan, settings, answer.parts.append, answer.finished, answer.failed)
        assert [s.slot for s in decoder._sequences] == [2, 0, 1]
        while decoder.active:
            decoder.step()
    finally:
        decoder.close()
    assert [a.text for a in answers] == expected
