"""Migration 9: models and downloads move to the data folder's shared library."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from localai_desktop.core.storage import Database

_MODEL = (
    "INSERT INTO models (id, name, path, copied, file_size, sha256, architecture, "
    "parameter_count, quantization, context_length, added_at) VALUES "
    "(?, ?, '/m.gguf', 0, 10, ?, 'llama', 1, 'Q8_0', 512, '2026-01-01 10:00:00')"
)
_CONVERSATION = (
    "INSERT INTO conversations (id, title, model_id, created_at, updated_at) "
    "VALUES (?, ?, ?, '2026-01-01', '2026-01-01')"
)


def _version_8(path: Path, models: list[tuple[int, str, str]], chats: list[tuple]) -> None:
    Database(path, target_version=8).close()
    raw = sqlite3.connect(path)
    raw.executemany(_MODEL, models)
    raw.executemany(_CONVERSATION, chats)
    raw.commit()
    raw.close()


def test_a_legacy_database_moves_its_models_to_the_library_keeping_their_ids(
    tmp_path: Path,
) -> None:
    path = tmp_path / "localai.db"
    _version_8(path, [(3, "Qwen", "aa"), (7, "Llama", "bb")], [(1, "Letter", 7), (2, "Note", 3)])
    db = Database(path)
    with db.session() as session:
        rows = session.execute(
            text(
                "SELECT c.title, m.name FROM conversations c JOIN models m ON m.id = c.model_id "
                "ORDER BY c.id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("Letter", "Llama"), ("Note", "Qwen")]
    db.close()
    raw = sqlite3.connect(path)
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "models" not in tables and "downloads" not in tables
    raw.close()
    library = sqlite3.connect(tmp_path / "library.db")
    assert library.execute("SELECT id, name FROM models ORDER BY id").fetchall() == [
        (3, "Qwen"),
        (7, "Llama"),
    ]
    library.close()


def test_a_second_database_joins_the_library_by_name_and_keeps_its_links(tmp_path: Path) -> None:
    library = tmp_path / "library.db"
    first, second = tmp_path / "a" / "localai.db", tmp_path / "b" / "localai.db"
    _version_8(first, [(1, "Qwen", "aa")], [])
    Database(first, library=library).close()
    _version_8(second, [(1, "Llama", "bb"), (2, "Qwen", "aa")], [(1, "Uses Llama", 1), (2, "Q", 2)])
    db = Database(second, library=library)
    with db.session() as session:
        rows = session.execute(
            text(
                "SELECT c.title, m.name FROM conversations c JOIN models m ON m.id = c.model_id "
                "ORDER BY c.id"
            )
        ).all()
    db.close()
    assert [tuple(r) for r in rows] == [("Uses Llama", "Llama"), ("Q", "Qwen")]


def test_a_model_id_that_no_longer_exists_is_cleared_as_the_old_foreign_key_did(
    tmp_path: Path,
) -> None:
    path = tmp_path / "localai.db"
    Database(path, target_version=8).close()
    raw = sqlite3.connect(path)  # foreign keys off: a dangling id, as a crash could leave
    raw.execute(_CONVERSATION, (1, "Orphan", 99))
    raw.commit()
    raw.close()
    db = Database(path)
    with db.session() as session:
        value = session.execute(text("SELECT model_id FROM conversations")).scalar()
    db.close()
    assert value is None
