"""`localai prompts` and `localai chat --prompt NAME --var KEY=VALUE`, as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import localai


def test_list_show_add_and_remove(data_dir: Path, tmp_path: Path) -> None:
    listed = json.loads(localai(data_dir, "prompts", "list", "--json").stdout)
    names = {p["name"] for p in listed}
    assert {"discharge-plain", "clause-risks", "key-dates"} <= names
    clause = next(p for p in listed if p["name"] == "clause-risks")
    assert clause["fields"] == ["jurisdiction", "party"]
    table = localai(data_dir, "prompts", "list").stdout
    assert "{reading level}" in table and "Medical" in table

    shown = localai(data_dir, "prompts", "show", "discharge-plain").stdout
    assert "plain language at a {reading level} reading level" in shown
    assert "--var 'reading level=…'" in shown

    added = localai(data_dir, "prompts", "add", "tone", "--text", "Rewrite in a {tone} tone.")
    assert "Added the prompt 'tone' (fields: {tone})" in added.stdout
    localai(data_dir, "prompts", "export", str(tmp_path / "p.json"), "--name", "tone")
    assert "Deleted the prompt 'tone'" in localai(data_dir, "prompts", "rm", "tone").stdout
    missing = localai(data_dir, "prompts", "show", "tone", check=False)
    assert missing.returncode == 1 and "There is no prompt called 'tone'" in missing.stderr
    imported = localai(data_dir, "prompts", "import", str(tmp_path / "p.json")).stdout
    assert "Added 1 prompt." in imported and "+ tone" in imported
    again = localai(data_dir, "prompts", "add", "TONE", "--text", "x", check=False)
    assert again.returncode == 1 and "already a prompt called 'TONE'" in again.stderr


def test_chat_fills_the_prompts_fields_and_refuses_a_missing_one(
    data_dir: Path, stories260k: Path
) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--name", "stories")
    localai(data_dir, "prompts", "add", "story", "--text", "Once upon a time, {hero} went to")

    missing = localai(data_dir, "chat", "--model", "stories", "--prompt", "story", check=False)
    assert missing.returncode == 2
    assert "needs a value for {hero}" in missing.stderr and "--var 'hero=" in missing.stderr
    assert json.loads(localai(data_dir, "chats", "list", "--json").stdout) == []  # nothing sent

    localai(data_dir, "chat", "--model", "stories", "--max-tokens", "20", "--seed", "1",
            "--prompt", "story", "--var", "hero=Lily", "the park.")  # fmt: skip
    [conversation] = json.loads(localai(data_dir, "chats", "list", "--json").stdout)
    shown = json.loads(localai(data_dir, "chats", "show", str(conversation["id"]), "--json").stdout)
    assert shown["messages"][0]["content"] == "Once upon a time, Lily went to\n\nthe park."

    unknown = localai(data_dir, "chat", "--model", "stories", "--prompt", "nope", check=False)
    assert unknown.returncode == 1 and "There is no prompt called 'nope'" in unknown.stderr
