"""Versions of edited questions and regenerated answers; the trash; pins, folders and tags."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from localai_desktop.core.audit.entries import CONVERSATION_DELETED
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.organise import (
    ORDER_OLDEST,
    ORDER_RECENT,
    ORDER_TITLE,
    ListFilter,
    arrange,
)
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.storage import Database


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    db = Database(tmp_path / "app.db")
    yield ConversationStore(db, AuditTrail(db))
    db.close()


def contents(store: ConversationStore, conversation_id: int) -> list[str]:
    return [m.content for m in store.get(conversation_id).messages]


def test_an_edit_keeps_the_earlier_question_and_answer_as_a_version(
    store: ConversationStore,
) -> None:
    c = store.create()
    q1 = store.add_message(c.id, "user", "First question")
    store.add_message(c.id, "assistant", "First answer")
    q2 = store.add_message(c.id, "user", "Second question")
    store.add_message(c.id, "assistant", "Second answer")
    edited = store.save_edit(c.id, q2.id, "Second question, edited")
    assert (edited.version, edited.version_count) == (2, 2)
    store.add_message(c.id, "assistant", "Answer to the edit")
    assert contents(store, c.id) == [
        "First question", "First answer", "Second question, edited", "Answer to the edit",
    ]  # fmt: skip
    # Back to version 1: the conversation continues from it, with its own answer.
    shown = store.show_version(q2.id)
    assert [m.content for m in shown.messages][2:] == ["Second question", "Second answer"]
    assert (shown.messages[2].version, shown.messages[2].version_count) == (1, 2)
    store.add_message(c.id, "user", "Third, after version 1")
    assert contents(store, c.id)[-1] == "Third, after version 1"
    data = store.get(c.id).to_json()
    versions = data["messages"][2]["versions"]
    assert [v["content"] for v in versions] == ["Second question", "Second question, edited"]
    assert [v["current"] for v in versions] == [True, False]
    assert data["messages"][0]["version_count"] == 1 and "versions" not in data["messages"][0]
    # Editing the first question retitles a conversation titled from it.
    store.save_edit(c.id, q1.id, "A better first question")
    assert store.get(c.id).title == "A better first question"


def test_edits_refuse_answers_unknown_messages_and_empty_text(store: ConversationStore) -> None:
    c = store.create()
    store.add_message(c.id, "user", "Q")
    answer = store.add_message(c.id, "assistant", "A")
    with pytest.raises(LocalAIError, match="is an answer"):
        store.save_edit(c.id, answer.id, "x")
    with pytest.raises(NotFoundError, match="has no message 99"):
        store.save_edit(c.id, 99, "x")
    with pytest.raises(LocalAIError, match="empty"):
        store.save_edit(c.id, 1, "  ")


def test_a_regenerated_answer_is_a_new_version_of_the_last_one(store: ConversationStore) -> None:
    c = store.create()
    store.add_message(c.id, "user", "Q")
    first = store.add_message(c.id, "assistant", "A1")
    second = store.add_message(c.id, "assistant", "A2", version_of=first.id)
    assert (second.version, second.version_ids) == (2, (first.id, second.id))
    assert contents(store, c.id) == ["Q", "A2"]
    store.show_version(first.id)
    assert contents(store, c.id) == ["Q", "A1"]


def test_the_trash_keeps_restores_and_empties_with_an_audit_entry(
    store: ConversationStore,
) -> None:
    keep, old = store.create("Keep"), store.create("Old")
    store.add_message(old.id, "user", "hello")
    store.trash(keep.id)
    store.trash(old.id)
    assert store.list() == [] and [c.title for c in store.trashed()] == ["Old", "Keep"]
    store.restore(keep.id)
    assert [c.title for c in store.list()] == ["Keep"]
    assert store.empty_expired_trash() == 0  # deleted moments ago: kept 30 days
    assert store.empty_expired_trash(now=utcnow() + timedelta(days=31)) == 1
    assert store.trashed() == []
    with pytest.raises(NotFoundError):
        store.get(old.id)
    assert store.audit is not None
    entries = [e for e in store.audit.entries() if e.kind == CONVERSATION_DELETED]
    assert [(e.conversation_id, e.facts["messages"]) for e in entries] == [(old.id, 1)]
    store.trash(keep.id)
    assert store.empty_trash() == 1 and store.list() == []


def test_pins_folders_tags_and_titles(store: ConversationStore) -> None:
    a, b = store.create("A"), store.create()
    store.set_pinned(a.id, True)
    assert [c.title for c in store.list()] == ["A", "New chat"]
    store.set_folder(b.id, "  Client  Smith ")
    assert store.set_tags(b.id, ["urgent", " Urgent", "contract law"]) == (
        "urgent",
        "contract law",
    )
    got = store.get(b.id)
    assert (got.folder, got.tags, got.pinned) == ("Client Smith", ("urgent", "contract law"), False)
    assert store.folders() == ["Client Smith"] and store.tags() == ["contract law", "urgent"]
    assert store.suggest_title(b.id, '"Indemnity review."') and store.get(b.id).title == (
        "Indemnity review"
    )
    store.rename(b.id, "Mine")
    assert not store.suggest_title(b.id, "Other") and store.get(b.id).title == "Mine"


def test_the_list_is_filtered_by_pin_folder_or_tag_and_sorted(store: ConversationStore) -> None:
    a, b, c = store.create("Banana"), store.create("apple"), store.create("Cherry")
    store.set_folder(a.id, "Smith")
    store.set_folder(c.id, "Smith")
    store.set_tags(b.id, ["Urgent"])
    store.set_pinned(c.id, True)
    every = store.list()

    def titles(list_filter: ListFilter | None = None, order: str = ORDER_RECENT) -> list[str]:
        return [x.title for x in arrange(every, list_filter, order)]

    assert titles() == ["Cherry", "apple", "Banana"]  # pinned first, then newest first
    assert titles(order=ORDER_TITLE) == ["Cherry", "apple", "Banana"]
    assert titles(order=ORDER_OLDEST) == ["Cherry", "Banana", "apple"]
    assert titles(ListFilter(folder="Smith"), ORDER_TITLE) == ["Cherry", "Banana"]
    assert titles(ListFilter(tag="urgent")) == ["apple"]
    assert titles(ListFilter(pinned_only=True)) == ["Cherry"]
