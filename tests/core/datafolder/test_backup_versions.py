"""Versions of edited and regenerated messages travel through `localai data export` / import;
a backup written before versions existed (format version 1) still imports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from tests.core.datafolder.test_backup import Folder


@pytest.fixture
def folders(tmp_path: Path) -> Iterator[tuple[Folder, Folder]]:
    first, second = Folder(tmp_path / "first"), Folder(tmp_path / "second")
    yield first, second
    first.db.close()
    second.db.close()


def versioned(store: ConversationStore) -> int:
    """A question edited once (each version answered) and the last answer regenerated."""
    chat = store.create("Clause review")
    first_q = store.add_message(chat.id, "user", "Is clause 4 fair?")
    store.add_message(chat.id, "assistant", "Clause 4 caps liability.")
    second_q = store.add_message(
        chat.id, "user", "Is clause 4 fair to the tenant?", version_of=first_q.id
    )
    first_a = store.add_message(chat.id, "assistant", "It favours the landlord.")
    store.add_message(chat.id, "assistant", "Mostly the landlord.", version_of=first_a.id)
    assert second_q.version == 2
    return chat.id


def shape(store: ConversationStore, conversation_id: int) -> dict[str, object]:
    """What a person sees: the messages shown, and every version of each, by text."""
    conversation = store.get(conversation_id)
    return {
        "shown": [m.content for m in conversation.messages],
        "versions": {
            conversation.messages[i].content: [v.content for v in versions]
            for i, m in enumerate(conversation.messages)
            if (versions := conversation.versions.get(m.id))
        },
    }


def test_every_version_is_exported_and_imported_with_the_one_shown(
    folders: tuple[Folder, Folder],
    tmp_path: Path,
) -> None:
    first, second = folders
    chat_id = versioned(first.store)
    # The earlier question's answer lies off the path shown; it travels too.
    first.store.show_version(first.store.get(chat_id).messages[0].version_ids[0])
    first.store.show_version(first.store.get(chat_id).messages[0].version_ids[1])
    before = shape(first.store, chat_id)
    assert before == {
        "shown": ["Is clause 4 fair to the tenant?", "Mostly the landlord."],
        "versions": {
            "Is clause 4 fair to the tenant?": [
                "Is clause 4 fair?",
                "Is clause 4 fair to the tenant?",
            ],
            "Mostly the landlord.": ["It favours the landlord.", "Mostly the landlord."],
        },
    }
    backup = first.export(tmp_path / "backup.json")
    data = json.loads(backup.read_text("utf-8"))
    assert data["format_version"] == 2
    assert len(data["conversations"][0]["messages"]) == 5

    second.restore(backup)
    (restored,) = second.store.list()
    assert shape(second.store, restored.id) == before
    # The older question still has its own answer.
    older = second.store.show_version(second.store.get(restored.id).messages[0].version_ids[0])
    assert [m.content for m in older.messages] == ["Is clause 4 fair?", "Clause 4 caps liability."]

    second.restore(backup)  # twice: nothing added
    assert len(second.store.list()) == 1
    assert shape(second.store, restored.id)["shown"] == [
        "Is clause 4 fair?",
        "Clause 4 caps liability.",
    ]


def test_a_version_1_backup_still_imports(folders: tuple[Folder, Folder], tmp_path: Path) -> None:
    _, second = folders
    old = {
        "format": "localai-desktop-backup",
        "format_version": 1,
        "app_version": "0.1.0",
        "exported_at": "2026-01-01T10:00:00",
        "settings": {},
        "conversations": [
            {
                "title": "Old",
                "system_prompt": "",
                "model_sha256": None,
                "settings": {},
                "created_at": "2026-01-01T09:00:00",
                "updated_at": "2026-01-01T09:01:00",
                "messages": [
                    {
                        "role": role,
                        "content": text,
                        "status": "complete",
                        "error": None,
                        "provenance": {},
                        "created_at": f"2026-01-01T09:00:0{n}",
                        "updated_at": f"2026-01-01T09:00:0{n}",
                    }
                    for n, (role, text) in enumerate((("user", "Hello"), ("assistant", "Hi")))
                ],
            }
        ],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), "utf-8")
    second.restore(path)
    (restored,) = second.store.list()
    assert [m.content for m in second.store.get(restored.id).messages] == ["Hello", "Hi"]


def test_a_parent_that_points_forward_is_refused(
    folders: tuple[Folder, Folder], tmp_path: Path
) -> None:
    first, second = folders
    versioned(first.store)
    data = json.loads(first.export(tmp_path / "b.json").read_text("utf-8"))
    data["conversations"][0]["messages"][1]["parent"] = 5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), "utf-8")
    try:
        second.restore(bad)
    except Exception as error:
        assert "'parent' must be the number of an earlier message" in str(error.args) + str(
            getattr(error, "hint", "")
        ) + str(getattr(error, "message", ""))
    else:
        raise AssertionError("a damaged file was imported")
    assert second.store.list() == []


def test_files_attached_to_a_question_travel_with_it(
    folders: tuple[Folder, Folder], tmp_path: Path
) -> None:
    from localai_desktop.core.chat.attachments import AttachmentStore, read_attachment

    first, second = folders
    note = tmp_path / "lease-note.txt"
    note.write_text("Rent is due on the first day of the month.", "utf-8")
    chat = first.store.create("Lease")
    first.store.add_message(
        chat.id, "user", "When is rent due?", attachments=[read_attachment(note)]
    )
    first.store.add_message(chat.id, "assistant", "On the first day of the month.")
    backup = first.export(tmp_path / "backup.json")
    exported = json.loads(backup.read_text("utf-8"))["conversations"][0]["messages"]
    assert exported[0]["attachments"] == [
        {
            "name": "lease-note.txt",
            "kind": "txt",
            "text": "Rent is due on the first day of the month.",
            "pages": 0,
            "whole": True,
        }
    ]
    assert "attachments" not in exported[1]

    second.restore(backup)
    second.restore(backup)  # twice: the file is not attached twice
    (restored,) = second.store.list()
    question = second.store.get(restored.id).messages[0]
    kept = AttachmentStore(second.db).for_message(question.id)
    assert [(a.name, a.text, a.whole) for a in kept] == [
        ("lease-note.txt", "Rent is due on the first day of the month.", True)
    ]

    # A damaged list of files is refused before anything is written.
    exported[0]["attachments"] = [{"name": "x.txt", "kind": "txt", "text": 3}]
    bad = tmp_path / "bad.json"
    data = json.loads(backup.read_text("utf-8"))
    data["conversations"][0]["messages"] = exported
    bad.write_text(json.dumps(data), "utf-8")
    with pytest.raises(Exception, match="attached file 1"):
        first.restore(bad)
