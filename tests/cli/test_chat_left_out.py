"""`localai chat` says on stderr what did not fit the model's memory."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import localai


def test_chat_says_what_was_left_out_and_keeps_it_in_the_record(
    data_dir: Path, stories260k: Path
) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--name", "stories")
    result = localai(
        data_dir, "chat", "--model", "stories", "--context-length", "512", "--max-tokens", "10",
        "--seed", "1", "Please summarise: " + "clause " * 1500,
    )  # fmt: skip
    assert "Left out: Your message was too long for the context" in result.stderr
    assert "raise “Memory”" in result.stderr
    chats = json.loads(localai(data_dir, "chats", "list", "--json").stdout)
    shown = json.loads(localai(data_dir, "chats", "show", str(chats[0]["id"]), "--json").stdout)
    provenance = shown["messages"][1]["provenance"]
    assert provenance["prompt_warnings"]
    assert provenance["n_ctx"] == 512

    fits = localai(data_dir, "chat", "--model", "stories", "--max-tokens", "10", "Hello")
    assert "Left out" not in fits.stderr
    last = json.loads(localai(data_dir, "chats", "list", "--json").stdout)[0]
    answer = json.loads(localai(data_dir, "chats", "show", str(last["id"]), "--json").stdout)
    assert answer["messages"][1]["provenance"]["n_ctx"] == 2048  # automatic: all the model has
