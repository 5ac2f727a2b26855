"""Load a fresh adapter into llama.cpp as chat will, and answer a few prompts before and after."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from localai_desktop.core.finetune.dataset import TrainingExample
from localai_desktop.core.finetune.events import JobSpec
from localai_desktop.core.inference.engine import AdapterOpener, LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.inference.prompt import plan_prompt
from localai_desktop.core.models.gguf_info import read_gguf_info

SAMPLE_ANSWER_TOKENS = 96
# Greedy decoding: the comparison shows what the weights changed, not sampling luck.
SAMPLE_SETTINGS = GenerationSettings(temperature=0.0, top_k=1, repeat_penalty=1.0, seed=0)


def answer_before_and_after(
    base_path: Path,
    adapter_path: Path,
    examples: Sequence[TrainingExample],
    spec: JobSpec,
    *,
    opener: AdapterOpener | None = None,
) -> list[dict[str, str]]:
    """Per sample: prompt, expected answer, the base model's and the tuned model's answers.

    Doubles as the check that llama.cpp accepts the adapter: a failure raises, and the run
    fails instead of registering an adapter chat could not use.
    """
    picked = list(examples[: spec.sample_prompts])
    info = read_gguf_info(base_path)
    n_ctx = max(256, min(info.context_length or 2048, spec.settings.max_length + 128))
    # The threads the person gave training: on a busy machine more llama.cpp threads than
    # cores spin-wait on each other, and the check took minutes instead of seconds.
    engine = LlamaEngine(n_threads=spec.settings.threads or None)
    engine.load(
        base_path,
        n_ctx=n_ctx,
        chat_template=info.chat_template,
        plain_buffers=spec.base_model_plain_buffers,
    )
    try:
        before = [_answer(engine, example) for example in picked]
        engine.set_adapter(adapter_path, 1.0, opener=opener)
        after = [_answer(engine, example) for example in picked]
        if not picked:
            _answer(engine, TrainingExample("check", ()))  # still prove the adapter runs
    finally:
        engine.unload()
    return [
        {
            "prompt": _last_user(example),
            "expected": example.turns[-1].content if example.turns else "",
            "base": base,
            "tuned": tuned,
        }
        for example, base, tuned in zip(picked, before, after, strict=True)
    ]


def _answer(engine: LlamaEngine, example: TrainingExample) -> str:
    turns = list(example.turns[:-1]) if example.turns else []
    assert engine.loaded is not None
    plan = plan_prompt(
        turns or [],
        engine.formatter,
        engine.tokenize,
        n_ctx=engine.loaded.n_ctx,
        max_tokens=SAMPLE_ANSWER_TOKENS,
        bos_token_ids=engine.bos_token_ids,
    )
    pieces: list[str] = []
    engine.generate(plan, SAMPLE_SETTINGS, pieces.append)
    return "".join(pieces).strip()


def _last_user(example: TrainingExample) -> str:
    users = [t.content for t in example.turns if t.role == "user"]
    return users[-1] if users else ""
