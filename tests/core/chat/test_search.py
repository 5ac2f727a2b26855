"""Full-text search over every message: newest first, marked matches, never an FTS5 error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.search import ConversationSearch, fts_query, marked_snippet
from localai_desktop.core.storage import Database


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "app.db")
    yield database
    database.close()


def test_finds_words_in_every_conversation_newest_first_with_marked_matches(
    db: Database,
) -> None:
    store = ConversationStore(db)
    search = ConversationSearch(db)
    first = store.create()
    store.add_message(first.id, "user", "Check this indemnity clause for risks.")
    store.add_message(first.id, "assistant", "The indemnity is unlimited, which is a risk.")
    second = store.create()
    newest = store.add_message(second.id, "user", "Summarise the discharge letter.")
    store.add_message(second.id, "assistant", "Nothing about indemnity here.")

    hits = search.search("indemnity")
    assert [h.conversation_id for h in hits] == [second.id, first.id, first.id]
    assert [h.message_id for h in hits] == sorted((h.message_id for h in hits), reverse=True)
    top = hits[0]
    assert top.role == "assistant" and top.conversation_title == "Summarise the discharge letter."
    start, end = top.matches[0]
    assert top.snippet[start:end] == "indemnity"
    # Stemmed and as typed: "risks" finds "risk"; the last word also matches a word's start.
    assert {h.message_id for h in search.search("risks")} == {1, 2}
    assert [h.message_id for h in search.search("dischar")] == [newest.id]
    assert search.search("indemnity", conversation_id=first.id)[-1].message_id == 1
    assert [h.conversation_id for h in search.search("indemnity", conversation_id=second.id)] == [
        second.id
    ]


@pytest.mark.parametrize(
    "typed",
    ['"', "a AND", "NEAR(a b)", "*", "-x", "col:umn", 'x" OR y', "(((", "^", "'", "AND OR NOT"],
)
def test_anything_a_person_types_is_searched_as_words_never_as_syntax(
    db: Database, typed: str
) -> None:
    store = ConversationStore(db)
    conversation = store.create()
    store.add_message(conversation.id, "user", f"A note about {typed} and more")
    ConversationSearch(db).search(typed)  # no FTS5 syntax error, whatever it finds


def test_empty_and_punctuation_only_queries_find_nothing(db: Database) -> None:
    assert fts_query("  ") == "" and fts_query("?!") == ""
    assert ConversationSearch(db).search("?!") == []


def test_the_index_follows_edits_deletions_the_trash_and_the_answer_being_written(
    db: Database,
) -> None:
    store = ConversationStore(db)
    search = ConversationSearch(db)
    conversation = store.create()
    answer = store.add_message(conversation.id, "assistant", "")
    writer = store.partial_answer_writer(answer.id)
    writer.write("The tribunal ruled")
    writer.close()
    assert [h.message_id for h in search.search("tribunal")] == [answer.id]
    store.update_message(answer.id, content="The court ruled")
    assert search.search("tribunal") == [] and search.search("court")
    store.trash(conversation.id)
    assert search.search("court") == []
    store.restore(conversation.id)
    assert search.search("court")
    store.delete_message(answer.id)
    assert search.search("court") == []


def test_messages_written_before_the_migration_are_indexed_by_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Database(path, target_version=8).close()
    raw = sqlite3.connect(path)
    raw.execute(
        "INSERT INTO conversations (id, title, system_prompt, settings, created_at, updated_at)"
        " VALUES (1, 'Old', '', '{}', '2026-01-01 10:00:00', '2026-01-01 10:00:00')"
    )
    for i, (role, text) in enumerate([("user", "Old question"), ("assistant", "Old answer")]):
        raw.execute(
            "INSERT INTO messages (conversation_id, role, content, status, provenance, "
            "created_at, updated_at) VALUES (1, ?, ?, 'complete', '{}', ?, ?)",
            (role, text, f"2026-01-01 10:00:0{i}", f"2026-01-01 10:00:0{i}"),
        )
    raw.commit()
    raw.close()
    db = Database(path)
    try:
        assert [h.message_id for h in ConversationSearch(db).search("old")] == [2, 1]
        [question, answer] = ConversationStore(db).get(1).messages
        assert (question.parent_id, answer.parent_id) == (0, question.id)
    finally:
        db.close()


def test_a_marked_snippet_gives_plain_text_and_offsets() -> None:
    text, matches = marked_snippet("a \ue000big\ue001 cat \ue000sat\ue001")
    assert text == "a big cat sat"
    assert [text[s:e] for s, e in matches] == ["big", "sat"]
