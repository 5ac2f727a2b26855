"""`localai chat --threads N --kv-cache TYPE`: the model runs as asked and still answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.inference.llama_runtime import check_kv_cache_type
from localai_desktop.core.inference.prompt import PromptPlan
from tests.cli.test_cli import localai
from tests.support import gguf_factory


@pytest.fixture(scope="module")
def model_with_64_wide_heads(stories260k: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A quantized cache stores heads in blocks of 32: stories260K's heads of 8 do not fit.
    return gguf_factory.write_random_llama(
        tmp_path_factory.mktemp("kv") / "heads64.gguf",
        tokenizer_from=stories260k,
        n_embd=256,
        n_head=4,
        n_head_kv=2,
        n_ff=512,
    )


@pytest.mark.parametrize("kv_cache", ["f16", "q8_0", "q4_0"])
def test_chat_answers_with_each_kv_cache_type_and_one_thread(
    data_dir: Path, model_with_64_wide_heads: Path, kv_cache: str
) -> None:
    localai(data_dir, "models", "import", str(model_with_64_wide_heads), "--name", "stories")

    result = localai(
        data_dir,
        "chat",
        "Once upon a time",
        "--model",
        "stories",
        "--max-tokens",
        "24",
        "--temperature",
        "0",
        "--threads",
        "1",
        "--kv-cache",
        kv_cache,
    )

    assert result.stdout.strip()
    assert "tokens/s" in result.stderr


def test_an_unknown_kv_cache_type_is_refused(data_dir: Path) -> None:
    result = localai(data_dir, "chat", "hi", "--model", "x", "--kv-cache", "q2", check=False)
    assert result.returncode == 2 and "invalid choice: 'q2'" in result.stderr
    with pytest.raises(LocalAIError, match="Choose one of f16, q8_0, q4_0"):
        check_kv_cache_type("int8")


def test_a_model_too_small_for_a_quantized_cache_says_so(data_dir: Path, stories260k: Path) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--name", "stories")
    result = localai(
        data_dir, "chat", "Hi", "--model", "stories", "--kv-cache", "q8_0", check=False
    )
    assert result.returncode == 1
    assert "Use the f16 memory type for this model" in result.stderr


def test_a_quantized_cache_gives_the_same_greedy_start(model_with_64_wide_heads: Path) -> None:
    answers = []
    for kv_cache in ("f16", "q8_0"):
        engine = LlamaEngine(n_threads=1, kv_cache=kv_cache)
        engine.load(model_with_64_wide_heads, n_ctx=256)
        pieces: list[str] = []
        tokens = engine.tokenize("Once upon a time")
        plan = PromptPlan(tokens, "Once upon a time", (), 8, 0, False)
        engine.generate(
            plan, GenerationSettings(temperature=0.0, max_tokens=8, seed=1), pieces.append
        )
        engine.unload()
        answers.append("".join(pieces))
    assert answers[0] and answers[0][:10] == answers[1][:10]


def test_chat_with_prompt_lookup_gives_the_same_answer(data_dir: Path, stories260k: Path) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--name", "stories")
    answers = []
    for draft in ("none", "prompt-lookup"):
        result = localai(
            data_dir,
            *("chat", "Once upon a time, there was a little girl named Lily. Once upon a time"),
            *("--model", "stories", "--max-tokens", "60", "--temperature", "0"),
            *("--draft", draft),
        )
        answers.append(result.stdout)
    assert answers[0].strip() and answers[0] == answers[1]
