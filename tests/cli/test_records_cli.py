"""`localai chats search|edit|rm|trash|restore|empty-trash|pin|folder|tag`, as real processes."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

from localai_desktop.core.audit.entries import CONVERSATION_DELETED
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.storage import Database
from tests.cli.test_cli import localai, read_until, start_localai, wait_for_stored_answer


def seed(data_dir: Path, conversations: list[list[str]]) -> list[int]:
    """Conversations with these messages (user and assistant in turn); their ids."""
    db = Database(init_data_paths(data_dir).database)
    try:
        store = ConversationStore(db)
        ids = []
        for texts in conversations:
            conversation = store.create()
            for i, text in enumerate(texts):
                store.add_message(conversation.id, "user" if i % 2 == 0 else "assistant", text)
            ids.append(conversation.id)
        return ids
    finally:
        db.close()


def test_search_finds_messages_newest_first_as_json_and_as_text(data_dir: Path) -> None:
    first, second = seed(
        data_dir,
        [
            ["Review the indemnity clause.", "The indemnity is capped."],
            ["Discharge letter summary", "No indemnity here, only medicine."],
        ],
    )
    hits = json.loads(localai(data_dir, "chats", "search", "indemnity", "--json").stdout)
    assert [(h["conversation_id"], h["message_id"], h["role"]) for h in hits] == [
        (second, 4, "assistant"),
        (first, 2, "assistant"),
        (first, 1, "user"),
    ]
    start, end = hits[0]["matches"][0]
    assert hits[0]["snippet"][start:end] == "indemnity"
    text = localai(data_dir, "chats", "search", "indemnity", "--conversation", str(first)).stdout
    assert "**indemnity**" in text and "Discharge" not in text
    for hostile in ['"', "NEAR(", "a AND", "*", "'"]:
        result = localai(data_dir, "chats", "search", hostile, check=False)
        assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "Nothing found" in localai(data_dir, "chats", "search", "zebra").stdout


def test_rm_moves_to_the_trash_restore_and_empty_trash_asks_for_yes(data_dir: Path) -> None:
    keep, gone = seed(data_dir, [["Keep me"], ["Delete me"]])
    assert "Moved 'Delete me' to the trash" in localai(data_dir, "chats", "rm", str(gone)).stdout
    listed = json.loads(localai(data_dir, "chats", "list", "--json").stdout)
    assert [c["id"] for c in listed] == [keep]
    trashed = json.loads(localai(data_dir, "chats", "trash", "--json").stdout)
    assert [c["id"] for c in trashed] == [gone] and trashed[0]["deleted_at"]
    assert json.loads(localai(data_dir, "chats", "search", "delete", "--json").stdout) == []
    localai(data_dir, "chats", "restore", str(gone))
    assert len(json.loads(localai(data_dir, "chats", "list", "--json").stdout)) == 2
    localai(data_dir, "chats", "rm", str(gone))
    refused = localai(data_dir, "chats", "empty-trash", check=False)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert len(json.loads(localai(data_dir, "chats", "trash", "--json").stdout)) == 1
    assert "Deleted 1" in localai(data_dir, "chats", "empty-trash", "--yes").stdout
    assert "The trash is empty." in localai(data_dir, "chats", "trash").stdout
    db = Database(init_data_paths(data_dir).database)
    try:
        kinds = [(e.kind, e.conversation_id) for e in AuditTrail(db).entries()]
    finally:
        db.close()
    assert (CONVERSATION_DELETED, gone) in kinds
    missing = localai(data_dir, "chats", "rm", "99", check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_pin_folder_and_tags(data_dir: Path) -> None:
    first, second = seed(data_dir, [["One"], ["Two"]])
    localai(data_dir, "chats", "pin", str(first))
    localai(data_dir, "chats", "folder", str(first), "Client Smith")
    assert (
        "urgent, court" in localai(data_dir, "chats", "tag", str(first), "urgent", "court").stdout
    )
    listed = json.loads(localai(data_dir, "chats", "list", "--json").stdout)
    assert [c["id"] for c in listed] == [first, second]
    assert (listed[0]["pinned"], listed[0]["folder"], listed[0]["tags"]) == (
        True,
        "Client Smith",
        ["urgent", "court"],
    )

    def listed_ids(*options: str) -> list[int]:
        out = localai(data_dir, "chats", "list", "--json", *options).stdout
        return [c["id"] for c in json.loads(out)]

    assert listed_ids("--tag", "URGENT") == [first]
    assert listed_ids("--folder", "Client Smith") == [first]
    assert listed_ids("--folder", "Nobody") == []
    localai(data_dir, "chats", "unpin", str(first))
    assert listed_ids("--pinned") == []
    assert listed_ids("--sort", "oldest") == [first, second]


def test_edit_streams_a_new_answer_and_show_keeps_every_version(
    data_dir: Path, stories260k: Path
) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--name", "stories")
    localai(data_dir, "chat", "--model", "stories", "--seed", "1", "--max-tokens", "30", "Once")
    result = localai(data_dir, "chats", "edit", "1", "1", "Once upon a time", "--seed", "2")
    assert len(result.stdout.split()) > 3 and "earlier question and answer are kept" in (
        result.stderr
    )
    shown = json.loads(localai(data_dir, "chats", "show", "1", "--json").stdout)
    question, answer = shown["messages"]
    assert question["content"] == "Once upon a time"
    assert (question["version"], question["version_count"]) == (2, 2)
    assert [(v["content"], v["current"]) for v in question["versions"]] == [
        ("Once", False),
        ("Once upon a time", True),
    ]
    assert answer["content"].strip() == result.stdout.strip()
    assert "(version 2 of 2)" in localai(data_dir, "chats", "show", "1").stdout
    refused = localai(data_dir, "chats", "edit", "1", str(answer["id"]), "x", check=False)
    assert refused.returncode == 1 and "is an answer" in refused.stderr


def test_a_killed_edit_keeps_both_versions(data_dir: Path, tiny_chat_model: Path) -> None:
    localai(data_dir, "models", "import", str(tiny_chat_model), "--name", "tiny")
    localai(data_dir, "chat", "--model", "tiny", "--max-tokens", "20", "First question")
    before = json.loads(localai(data_dir, "chats", "show", "1", "--json").stdout)["messages"]
    process = start_localai(
        data_dir, "chats", "edit", "1", "1", "Edited question", "--max-tokens", "30000",
        "--context-length", "32768",
    )  # fmt: skip
    try:
        read_until(process, 300, timeout=180)
        wait_for_stored_answer(data_dir, min_bytes=200, timeout=120)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    raw = sqlite3.connect(data_dir / "localai.db")
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    shown = json.loads(localai(data_dir, "chats", "show", "1", "--json").stdout)
    question, answer = shown["messages"]
    assert question["content"] == "Edited question" and answer["status"] == "interrupted"
    assert [(v["content"], v["current"]) for v in question["versions"]] == [
        ("First question", False),
        ("Edited question", True),
    ]
    # The earlier version still has its own answer, as it was.
    db = Database(init_data_paths(data_dir).database)
    try:
        earlier = ConversationStore(db).show_version(before[0]["id"]).messages
    finally:
        db.close()
    assert [m.content for m in earlier] == [before[0]["content"], before[1]["content"]]
