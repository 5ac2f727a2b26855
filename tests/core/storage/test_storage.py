"""Storage: migrations with a backup, refusing newer databases, WAL, and a full disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect

from localai_desktop.core.chat.conversations import ConversationStore, MessageStatus
from localai_desktop.core.common.errors import DatabaseTooNewError, NotFoundError, StorageError
from localai_desktop.core.storage import SCHEMA_VERSION, Database
from localai_desktop.core.storage.tables import Base


def test_new_database_is_at_the_current_version_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    raw = sqlite3.connect(tmp_path / "app.db")
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert db.backup_path is None  # nothing to back up in a new database
    db.close()


def test_migrated_schema_matches_the_orm_tables(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    inspector = inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        # Models and downloads live in the data folder's shared library (attached).
        schema = "library" if table.name in ("models", "downloads") else None
        in_db = {column["name"] for column in inspector.get_columns(table.name, schema=schema)}
        assert in_db == set(table.columns.keys()), table.name
    db.close()


def test_migration_from_an_older_version_keeps_data_and_makes_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    Database(path, target_version=1).close()
    raw = sqlite3.connect(path)
    raw.execute(
        "INSERT INTO conversations (id, title, system_prompt, created_at, updated_at) "
        "VALUES (1, 'Letter to Dr Smith', 'Be brief.', '2026-01-01 10:00:00', "
        "'2026-01-01 10:00:00')"
    )
    raw.execute(
        "INSERT INTO messages (conversation_id, role, content, status, provenance, "
        "created_at, updated_at) VALUES (1, 'user', 'Summarise the letter', 'complete', '{}', "
        "'2026-01-01 10:00:00', '2026-01-01 10:00:00')"
    )
    raw.commit()
    raw.close()

    db = Database(path)
    conversation = ConversationStore(db).get(1)
    assert conversation.title == "Letter to Dr Smith"
    assert conversation.settings == {}  # the column version 2 added, with its default
    assert [m.content for m in conversation.messages] == ["Summarise the letter"]
    assert db.backup_path is not None and db.backup_path.is_file()
    backup = sqlite3.connect(db.backup_path)
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
    assert backup.execute("SELECT title FROM conversations").fetchone()[0] == "Letter to Dr Smith"
    backup.close()
    db.close()


def test_a_failing_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localai_desktop.core.storage import migrations

    path = tmp_path / "app.db"
    Database(path, target_version=1).close()

    def broken(conn: object) -> None:
        conn.exec_driver_sql("ALTER TABLE conversations ADD COLUMN settings TEXT")  # type: ignore[attr-defined]
        conn.exec_driver_sql("THIS IS NOT SQL")  # type: ignore[attr-defined]

    monkeypatch.setattr(
        migrations, "MIGRATIONS", (migrations.MIGRATIONS[0], migrations.Migration(2, "x", broken))
    )
    monkeypatch.setattr("localai_desktop.core.storage.db.MIGRATIONS", migrations.MIGRATIONS)
    with pytest.raises(StorageError):
        Database(path)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    columns = {row[1] for row in raw.execute("PRAGMA table_info(conversations)")}
    assert "settings" not in columns  # the half-done migration was rolled back
    raw.close()


def test_a_database_from_a_newer_app_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    raw.execute("CREATE TABLE future (x)")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseTooNewError) as caught:
        Database(path)
    assert "newer version" in caught.value.message
    assert path.read_bytes() == before


def test_a_full_disk_gives_a_plain_error_and_keeps_what_was_saved(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    store = ConversationStore(db)
    conversation = store.create("Kept")
    store.add_message(conversation.id, "user", "This message is safe")
    with db.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    # SQLite reports SQLITE_FULL, exactly as on a full disk, once the file may not grow.
    from sqlalchemy import event

    @event.listens_for(db.engine, "connect")
    def _limit(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 1}")

    db.engine.dispose()
    with pytest.raises(StorageError) as caught:
        for _ in range(50):
            store.add_message(conversation.id, "assistant", "x" * 100_000)
    assert "disk is full" in caught.value.message
    db.close()
    reopened = ConversationStore(Database(tmp_path / "app.db"))
    assert reopened.get(conversation.id).messages[0].content == "This message is safe"


def test_conversations_are_listed_newest_first_and_can_be_renamed_and_deleted(
    tmp_path: Path,
) -> None:
    store = ConversationStore(Database(tmp_path / "app.db"))
    first = store.create()
    second = store.create()
    store.add_message(first.id, "user", "What does the discharge letter say about diet?")
    listed = store.list()
    assert [c.id for c in listed] == [first.id, second.id]
    assert listed[0].title == "What does the discharge letter say about diet?"
    store.rename(second.id, "Contract questions")
    assert store.get(second.id).title == "Contract questions"
    store.delete(first.id)
    assert [c.id for c in store.list()] == [second.id]
    with pytest.raises(NotFoundError):
        store.get(first.id)


def test_deleting_a_conversation_deletes_its_messages(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    store = ConversationStore(db)
    conversation = store.create()
    message = store.add_message(conversation.id, "assistant", "", status=MessageStatus.INTERRUPTED)
    store.delete(conversation.id)
    with db.engine.connect() as conn:
        count = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM messages WHERE id = ?", (message.id,)
        ).scalar()
    assert count == 0


def test_a_question_is_saved_with_its_conversation_and_options_in_one_go(
    tmp_path: Path,
) -> None:
    store = ConversationStore(Database(tmp_path / "app.db"))
    older = store.create(title="Older")
    settings = {"temperature": 0.2, "collections": [3]}
    conversation, question = store.save_question(
        None, "Summarise the letter", system_prompt="Be brief.", settings=settings, model_id=None
    )
    assert question is not None and question.role == "user"
    assert question.conversation_id == conversation.id
    saved = store.get(conversation.id)
    assert (saved.title, saved.system_prompt, saved.settings) == (
        "Summarise the letter",
        "Be brief.",
        settings,
    )
    assert [m.content for m in saved.messages] == ["Summarise the letter"]
    assert [c.id for c in store.list()] == [conversation.id, older.id]

    # Writing the last answer again saves only the options, and leaves the order alone.
    again, none = store.save_question(
        older.id, None, system_prompt="Cite sources.", settings={}, model_id=None
    )
    assert none is None and again.system_prompt == "Cite sources."
    assert store.get(older.id).messages == ()
    assert [c.id for c in store.list()] == [conversation.id, older.id]
    with pytest.raises(NotFoundError):
        store.save_question(12345, "Lost?", system_prompt="", settings={}, model_id=None)
    assert len(store.list()) == 2
