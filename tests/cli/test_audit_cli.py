"""`localai audit`: verify after real chats, a message edited in the database, export."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from localai_desktop.core.datafolder.workspace import Workspace


def localai(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def chatted(data_dir: Path, stories260k: Path) -> Path:
    """A data folder with stories260K and three real answers (conversations 1 to 3)."""
    assert (
        localai(data_dir, "models", "import", str(stories260k), "--name", "stories").returncode == 0
    )
    for seed, prompt in enumerate(("Once upon a time", "The cat", "A little girl")):
        result = localai(
            data_dir,
            "chat",
            "--model",
            "stories",
            "--seed",
            str(seed),
            "--max-tokens",
            "30",
            prompt,
        )
        assert result.returncode == 0, result.stderr
    return data_dir


def test_the_chain_verifies_after_normal_use(chatted: Path) -> None:
    result = localai(chatted, "audit", "verify")
    assert result.returncode == 0
    assert result.stdout.strip() == "All 3 entries check out."
    listing = json.loads(localai(chatted, "audit", "list", "--json").stdout)
    assert [e["kind"] for e in listing] == ["answer"] * 3
    assert listing[0]["id"] == 3  # newest first
    assert listing[2]["what"] == "Answer 2 in conversation 1 (stories, complete)"


def test_a_message_edited_directly_in_the_database_fails_verify_naming_the_entry(
    chatted: Path,
) -> None:
    raw = sqlite3.connect(chatted / "localai.db")
    # The second conversation's answer (message 4, recorded by entry 2), rewritten in place.
    raw.execute("UPDATE messages SET content = 'Nothing happened.' WHERE id = 4")
    raw.commit()
    raw.close()

    result = localai(chatted, "audit", "verify")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Entry 2 does not match: the answer of message 4 was changed after it was written."
    )
    assert "Keep the data folder as it is" in lines[1]
    report = json.loads(localai(chatted, "audit", "verify", "--json").stdout)
    assert report["verified"] is False and report["first_bad_entry"] == 2


def test_deleting_a_conversation_through_the_app_is_recorded_and_still_verifies(
    chatted: Path,
) -> None:
    with Workspace.open(chatted) as workspace:
        workspace.conversations.delete(2)

    result = localai(chatted, "audit", "verify")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "All 4 entries check out."
    newest = json.loads(localai(chatted, "audit", "list", "--json", "--limit", "1").stdout)
    assert newest[0]["kind"] == "conversation_deleted"
    assert newest[0]["what"] == "Conversation 2 deleted (2 messages)"
    # The deleted conversation's words are nowhere in the trail; only their hashes were kept.
    raw = sqlite3.connect(chatted / "localai.db")
    assert raw.execute("SELECT count(*) FROM messages WHERE conversation_id = 2").fetchone() == (0,)
    raw.close()


def test_the_trail_exports_as_csv_and_json_and_the_exports_are_recorded(
    chatted: Path, tmp_path: Path
) -> None:
    assert localai(chatted, "data", "export", str(tmp_path / "backup.json")).returncode == 0

    result = localai(chatted, "audit", "export", str(tmp_path / "trail.csv"))
    assert result.returncode == 0, result.stderr
    assert "Saved the audit trail (4 entries, CSV)" in result.stdout
    assert "All 4 entries check out." in result.stdout
    with (tmp_path / "trail.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["kind"] for r in rows] == ["answer", "answer", "answer", "backup_exported"]

    result = localai(
        chatted, "audit", "export", str(tmp_path / "trail.txt"), "--format", "json", "--json"
    )
    summary = json.loads(result.stdout)
    assert summary["format"] == "json" and summary["entries"] == 5
    document = json.loads((tmp_path / "trail.txt").read_text(encoding="utf-8"))
    assert document["entries"][-1]["what"] == "Audit trail exported as CSV (4 entries)"
    assert document["verification"]["summary"] == "All 5 entries check out."


def test_export_refuses_an_unknown_format_plainly(data_dir: Path, tmp_path: Path) -> None:
    result = localai(data_dir, "audit", "export", str(tmp_path / "t.xml"), "--format", "xml")
    assert result.returncode == 2  # argparse: a usage error
    assert "invalid choice: 'xml'" in result.stderr
