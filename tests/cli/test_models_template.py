"""`localai models template NAME [--set FORMAT|auto]`, and the note on importing a bare model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import localai
from tests.support import gguf_factory


def test_models_template_shows_and_sets_the_prompt_format(
    data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    model = gguf_factory.write_random_llama(
        tmp_path / "no-template.gguf",
        tokenizer_from=models_dir / "ggml-vocab-phi-3.gguf",
        chat_template=None,
    )
    imported = localai(data_dir, "models", "import", str(model), "--name", "bare")
    assert "'bare' has no chat template" in imported.stdout
    assert "Phi-3: guessed, its vocabulary has the <|assistant|> token" in imported.stdout

    shown = localai(data_dir, "models", "template", "bare")
    assert shown.stdout.startswith("Prompt format of 'bare': phi3 (guessed)")
    set_ = localai(data_dir, "models", "template", "bare", "--set", "ChatML")
    assert "chatml (chosen)" in set_.stdout
    [listed] = json.loads(localai(data_dir, "models", "list", "--json").stdout)
    assert listed["prompt_format"] == "chatml" and listed["source"]["prompt_format"] == "chatml"
    chat = localai(data_dir, "chat", "--model", "bare", "--max-tokens", "4", "Hi")
    last = json.loads(localai(data_dir, "chats", "list", "--json").stdout)[0]
    answer = json.loads(localai(data_dir, "chats", "show", str(last["id"]), "--json").stdout)
    assert answer["messages"][1]["provenance"]["chat_format"] == "chatml", chat.stderr

    back = localai(data_dir, "models", "template", "bare", "--set", "auto")
    assert "phi3 (guessed)" in back.stdout
    wrong = localai(data_dir, "models", "template", "bare", "--set", "vicuna", check=False)
    assert wrong.returncode == 1
    assert "There is no prompt format called 'vicuna'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
