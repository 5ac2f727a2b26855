"""Quantized models chat safely on CPUs where llama.cpp's repacked (AMX) kernels crash.

Some CPUs (seen on virtual machines with Xeon CPUs advertising AMX, like the ones our CI runs
on) kill the process on the first prompt of a Q8_0/Q4_0/K-quant model with llama.cpp's extra
weight buffers. The import check finds out in a child process and the model is then loaded
with plain buffers. On other computers the check finds nothing and nothing changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from localai_desktop.core.models.probe import probe_load
from tests.cli.test_cli import localai
from tests.support import gguf_factory

_FIRST_PROMPT = """
import sys, llama_cpp
llm = llama_cpp.Llama(sys.argv[1], n_ctx=256, n_threads=1, verbose=False)
llm.eval(llm.tokenize(b"Hello, how are you?", add_bos=True)[:8])
"""


def first_prompt_crashes_with_extra_buffers(model: Path) -> bool:
    child = subprocess.run(
        [sys.executable, "-c", _FIRST_PROMPT, str(model)], capture_output=True, timeout=120
    )
    return child.returncode < 0 or child.returncode > 255


@pytest.fixture(scope="module")
def tiny_q8_model(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Rows of 256 take every quantized kernel llama.cpp has, the AMX one included.
    folder = tmp_path_factory.mktemp("quantized")
    f32 = gguf_factory.write_random_llama(
        folder / "f32.gguf",
        tokenizer_from=models_dir / "ggml-vocab-phi-3.gguf",
        n_embd=256,
        n_head=4,
        n_head_kv=4,
        n_ff=512,
        name="Tiny Q8",
    )
    return gguf_factory.quantize(f32, folder / "tiny-q8_0.gguf", "Q8_0")


def test_a_quantized_model_imports_and_answers_on_this_computer(
    data_dir: Path, tiny_q8_model: Path
) -> None:
    localai(data_dir, "models", "import", str(tiny_q8_model), "--name", "tiny-q8")
    answer = localai(
        data_dir, "chat", "--model", "tiny-q8", "--max-tokens", "8", "--seed", "1", "Hello"
    )
    assert answer.returncode == 0
    models = json.loads(localai(data_dir, "models", "list", "--json").stdout)
    listed = {m["name"]: m for m in models}
    # Plain buffers exactly when this computer needs them.
    assert listed["tiny-q8"]["plain_buffers"] == first_prompt_crashes_with_extra_buffers(
        tiny_q8_model
    )
    chats = json.loads(localai(data_dir, "chats", "list", "--json").stdout)
    shown = json.loads(localai(data_dir, "chats", "show", str(chats[0]["id"]), "--json").stdout)
    assistant = [m for m in shown["messages"] if m["role"] == "assistant"]
    assert assistant[-1]["status"] == "complete"
    assert assistant[-1]["content"]


def test_an_unquantized_model_keeps_the_fast_buffers(stories260k: Path) -> None:
    assert probe_load(stories260k).plain_buffers is False


def test_an_embedding_model_passes_the_check_without_a_prompt(models_dir: Path) -> None:
    # BERT models cannot decode a prompt ("Memory is not initialized"); they are only loaded.
    assert probe_load(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf").plain_buffers is False
