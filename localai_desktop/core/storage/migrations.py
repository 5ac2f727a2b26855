"""Numbered schema migrations; each runs in one transaction after a backup of the database."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]
    # Run with the shared library attached as `library` (library.py).
    needs_library: bool = False


def _run(conn: Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(text(statement))


def _m001_initial(conn: Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            path TEXT NOT NULL,
            copied BOOLEAN NOT NULL DEFAULT 0,
            file_size INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,
            architecture VARCHAR NOT NULL,
            parameter_count INTEGER NOT NULL,
            quantization VARCHAR NOT NULL,
            context_length INTEGER NOT NULL,
            license VARCHAR,
            chat_template TEXT,
            added_at DATETIME NOT NULL
        );
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title VARCHAR NOT NULL,
            system_prompt TEXT NOT NULL DEFAULT '',
            model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role VARCHAR NOT NULL,
            content TEXT NOT NULL DEFAULT '',
            status VARCHAR NOT NULL DEFAULT 'complete',
            error TEXT,
            provenance TEXT NOT NULL DEFAULT '{}',
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        );
        CREATE INDEX ix_messages_conversation_id ON messages (conversation_id)
        """,
    )


def _m002_settings_and_sources(conn: Connection) -> None:
    # Per-conversation generation settings, and where a model came from (the catalog needs it);
    # embedding models are kept apart from chat models in pickers.
    _run(
        conn,
        """
        ALTER TABLE conversations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE models ADD COLUMN source TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE models ADD COLUMN is_embedding_model BOOLEAN NOT NULL DEFAULT 0;
        CREATE INDEX ix_conversations_updated_at ON conversations (updated_at)
        """,
    )


def _m003_downloads(conn: Connection) -> None:
    # Downloads survive a restart or a killed process: the row says what to fetch (pinned to a
    # commit, with each file's size and sha256); the partial files on disk say how far it got.
    _run(
        conn,
        """
        CREATE TABLE downloads (
            id INTEGER PRIMARY KEY,
            repo_id VARCHAR NOT NULL,
            revision VARCHAR NOT NULL,
            quantization VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            first_file TEXT NOT NULL,
            files TEXT NOT NULL DEFAULT '[]',
            folder TEXT NOT NULL,
            status VARCHAR NOT NULL DEFAULT 'queued',
            error TEXT,
            source TEXT NOT NULL DEFAULT '{}',
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        );
        CREATE UNIQUE INDEX ix_downloads_repo_file ON downloads (repo_id, first_file)
        """,
    )


def _m004_documents(conn: Connection) -> None:
    # Document collections for chat with your documents. Chunks carry their float32 vector
    # (numpy searches them; see bench/bench_documents.py) and are mirrored into an FTS5 index
    # by triggers, so keyword search can never disagree with the chunks. A file row in
    # "indexing" status with some chunks is a file whose indexing was interrupted: it resumes.
    _run(
        conn,
        """
        CREATE TABLE doc_collections (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            embedding_model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
            embedding_model_name VARCHAR NOT NULL,
            embedding_model_sha256 VARCHAR NOT NULL,
            embedding_dimension INTEGER NOT NULL DEFAULT 0,
            chunk_tokens INTEGER NOT NULL,
            revision INTEGER NOT NULL DEFAULT 0,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        );
        CREATE TABLE doc_files (
            id INTEGER PRIMARY KEY,
            collection_id INTEGER NOT NULL REFERENCES doc_collections(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            folder TEXT,
            size INTEGER NOT NULL DEFAULT 0,
            mtime_ns INTEGER NOT NULL DEFAULT 0,
            sha256 VARCHAR,
            kind VARCHAR,
            status VARCHAR NOT NULL DEFAULT 'pending',
            reason TEXT,
            pages INTEGER NOT NULL DEFAULT 0,
            chunks INTEGER NOT NULL DEFAULT 0,
            words INTEGER NOT NULL DEFAULT 0,
            added_at DATETIME NOT NULL,
            indexed_at DATETIME
        );
        CREATE UNIQUE INDEX ix_doc_files_collection_path ON doc_files (collection_id, path);
        CREATE INDEX ix_doc_files_sha256 ON doc_files (collection_id, sha256);
        CREATE TABLE doc_chunks (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES doc_files(id) ON DELETE CASCADE,
            collection_id INTEGER NOT NULL,
            ordinal INTEGER NOT NULL,
            page INTEGER,
            heading TEXT,
            text TEXT NOT NULL,
            embedding BLOB NOT NULL
        );
        CREATE UNIQUE INDEX ix_doc_chunks_file_ordinal ON doc_chunks (file_id, ordinal);
        CREATE INDEX ix_doc_chunks_collection ON doc_chunks (collection_id);
        CREATE VIRTUAL TABLE doc_chunks_fts USING fts5(
            text, heading, content='doc_chunks', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
    )
    # Trigger bodies hold semicolons, so each is its own statement.
    for trigger in (
        """CREATE TRIGGER doc_chunks_fts_insert AFTER INSERT ON doc_chunks BEGIN
            INSERT INTO doc_chunks_fts (rowid, text, heading)
            VALUES (new.id, new.text, coalesce(new.heading, ''));
        END""",
        """CREATE TRIGGER doc_chunks_fts_delete AFTER DELETE ON doc_chunks BEGIN
            INSERT INTO doc_chunks_fts (doc_chunks_fts, rowid, text, heading)
            VALUES ('delete', old.id, old.text, coalesce(old.heading, ''));
        END""",
    ):
        conn.execute(text(trigger))


def _m005_finetune(conn: Connection) -> None:
    # Fine-tuning: jobs survive a closed app (their folder holds data and checkpoints, the row
    # says how far they got); adapters remember their base model, data, settings and losses.
    _run(
        conn,
        """
        CREATE TABLE finetune_jobs (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL,
            base_model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
            base_model_sha256 VARCHAR NOT NULL,
            folder TEXT NOT NULL,
            status VARCHAR NOT NULL DEFAULT 'ready',
            settings TEXT NOT NULL DEFAULT '{}',
            dataset TEXT NOT NULL DEFAULT '{}',
            step INTEGER NOT NULL DEFAULT 0,
            total_steps INTEGER NOT NULL DEFAULT 0,
            pid INTEGER,
            error TEXT,
            adapter_id INTEGER REFERENCES adapters(id) ON DELETE SET NULL,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        );
        CREATE INDEX ix_finetune_jobs_name ON finetune_jobs (name);
        CREATE TABLE adapters (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            path TEXT NOT NULL,
            base_model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
            base_model_name VARCHAR NOT NULL,
            base_model_sha256 VARCHAR NOT NULL,
            architecture VARCHAR NOT NULL,
            file_size INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,
            rank INTEGER NOT NULL,
            alpha FLOAT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            dataset TEXT NOT NULL DEFAULT '{}',
            final_loss FLOAT,
            final_val_loss FLOAT,
            samples TEXT NOT NULL DEFAULT '[]',
            created_at DATETIME NOT NULL
        );
        CREATE INDEX ix_adapters_base_model_sha256 ON adapters (base_model_sha256)
        """,
    )


def _m006_model_load_options(conn: Connection) -> None:
    # Set by the import check when a model's first prompt crashes llama.cpp's repacked (AMX)
    # weight buffers on this computer but works with plain ones (core.models.probe).
    _run(conn, "ALTER TABLE models ADD COLUMN plain_buffers BOOLEAN NOT NULL DEFAULT 0")


def _m007_audit_trail(conn: Connection) -> None:
    # The audit trail (core.audit): append-only, each entry chained to the one before by its
    # sha256. Ids of conversations and messages are plain numbers, not foreign keys: an entry
    # must outlive what it names (a deleted conversation stays on the record). The triggers
    # refuse changes through SQL; the chain catches whatever goes around them.
    _run(
        conn,
        """
        CREATE TABLE audit_entries (
            id INTEGER PRIMARY KEY,
            recorded_at VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            conversation_id INTEGER,
            message_id INTEGER,
            facts TEXT NOT NULL DEFAULT '{}',
            previous_hash VARCHAR NOT NULL,
            hash VARCHAR NOT NULL UNIQUE
        );
        CREATE INDEX ix_audit_entries_message_id ON audit_entries (message_id)
        """,
    )
    for trigger in (
        """CREATE TRIGGER audit_entries_append_only_update BEFORE UPDATE ON audit_entries
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
        """CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    ):
        conn.execute(text(trigger))


def _m008_chat_template_check(conn: Connection) -> None:
    # The verdict of the import check on a model's chat template (core.models.chat_template):
    # "safe", or why the standard format is used instead; NULL until the model is checked
    # (models imported before this migration are checked when first loaded).
    _run(conn, "ALTER TABLE models ADD COLUMN chat_template_check VARCHAR")


# Tables whose model column referred to `models`, which now lives in the shared library: a
# foreign key cannot cross databases, so the reference is dropped (the id stays, AUTOINCREMENT
# in the library keeps it from ever naming another model; code treats a missing one as none).
_MODEL_COLUMNS = (
    ("conversations", "model_id"),
    ("doc_collections", "embedding_model_id"),
    ("finetune_jobs", "base_model_id"),
    ("adapters", "base_model_id"),
)
_MODEL_REFERENCE = re.compile(
    r"\s+REFERENCES\s+\"?models\"?\s*\(\s*id\s*\)(\s+ON\s+DELETE\s+SET\s+NULL)?", re.I
)


def _columns(conn: Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in conn.exec_driver_sql(f'PRAGMA {schema}.table_info("{table}")')]


def _move_models(conn: Connection) -> dict[int, int]:
    """Copy this workspace's models into the library; returns old id -> library id."""
    common = [
        c for c in _columns(conn, "main", "models") if c in _columns(conn, "library", "models")
    ]
    fields = [c for c in common if c != "id"]
    library_empty = not conn.exec_driver_sql("SELECT 1 FROM library.models LIMIT 1").first()
    id_map: dict[int, int] = {}
    rows = conn.exec_driver_sql(f"SELECT {', '.join(common)} FROM main.models ORDER BY id")
    for row in [dict(r._mapping) for r in rows]:
        found = conn.execute(
            text("SELECT id, sha256 FROM library.models WHERE name = :name"), {"name": row["name"]}
        ).first()
        if found is not None and found[1] == row["sha256"]:
            id_map[row["id"]] = int(found[0])
            continue
        if found is not None:  # another file under the same name: keep both
            row["name"] = f"{row['name']} ({row['sha256'][:8]})"
        names = common if library_empty else fields
        result = conn.execute(
            text(
                f"INSERT INTO library.models ({', '.join(names)}) "
                f"VALUES ({', '.join(':' + n for n in names)})"
            ),
            row,
        )
        id_map[row["id"]] = row["id"] if library_empty else int(result.lastrowid or 0)
    return id_map


def _drop_model_reference(conn: Connection, table: str) -> None:
    """Rebuild `table` without its foreign key to models (SQLite cannot drop a constraint)."""
    sql = conn.execute(
        text("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar_one()
    extras = [
        r[0]
        for r in conn.execute(
            text(
                "SELECT sql FROM main.sqlite_master WHERE tbl_name = :t "
                "AND type IN ('index', 'trigger') AND sql IS NOT NULL"
            ),
            {"t": table},
        )
    ]
    rebuilt = re.sub(
        r"^\s*CREATE\s+TABLE\s+\"?\w+\"?",
        f"CREATE TABLE main.{table}__rebuilt",
        _MODEL_REFERENCE.sub("", sql),
        count=1,
        flags=re.I,
    )
    conn.exec_driver_sql(rebuilt)
    conn.exec_driver_sql(f"INSERT INTO main.{table}__rebuilt SELECT * FROM main.{table}")
    conn.exec_driver_sql(f"DROP TABLE main.{table}")
    conn.exec_driver_sql(f"ALTER TABLE main.{table}__rebuilt RENAME TO {table}")
    for statement in extras:
        conn.exec_driver_sql(statement)


def _m009_shared_library(conn: Connection) -> None:
    # Models and downloads move to the data folder's shared library (library.py), so that
    # every workspace sees the same models; this workspace keeps only what is its own.
    id_map = _move_models(conn)
    download_fields = [c for c in _columns(conn, "main", "downloads") if c != "id"]
    listed = ", ".join(download_fields)
    conn.exec_driver_sql(
        f"INSERT OR IGNORE INTO library.downloads ({listed}) SELECT {listed} FROM main.downloads"
    )
    # One statement per table, so that swapped ids (1 -> 2, 2 -> 1) cannot run into each other;
    # an id no model has any more becomes NULL, as the old foreign key would have made it.
    cases = " ".join(f"WHEN {int(old)} THEN {int(new)}" for old, new in id_map.items())
    for table, column in _MODEL_COLUMNS:
        _drop_model_reference(conn, table)
        value = f"CASE {column} {cases} ELSE NULL END" if cases else "NULL"
        conn.exec_driver_sql(
            f"UPDATE main.{table} SET {column} = {value} WHERE {column} IS NOT NULL"
        )
    conn.exec_driver_sql("DROP TABLE main.models")
    conn.exec_driver_sql("DROP TABLE main.downloads")


def _m010_conversation_records(conn: Connection) -> None:
    # Conversations as records (issue 14): full-text search over every message, versions of
    # edited questions and regenerated answers, a trash, and pins, folders and tags.
    #
    # Versions: each message names the message it follows (parent_id; 0 for the first of a
    # conversation; NULL, as in rows written before this migration or restored from an older
    # backup, means "the one before it by id"). Messages with the same parent are versions of
    # one another; `current` marks the version shown, and the conversation is the path of
    # shown versions from its first message. A new version is committed before its answer
    # starts, so a killed app keeps every version.
    #
    # Trash: deleted_at is set when a conversation moves to the trash; emptying the trash (on
    # request, or 30 days later) deletes the rows for good and records it in the audit trail.
    _run(
        conn,
        """
        ALTER TABLE messages ADD COLUMN parent_id INTEGER;
        ALTER TABLE messages ADD COLUMN current BOOLEAN NOT NULL DEFAULT 1;
        UPDATE messages SET parent_id = coalesce(
            (SELECT max(p.id) FROM messages AS p
             WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id), 0);
        CREATE INDEX ix_messages_parent ON messages (conversation_id, parent_id);
        ALTER TABLE conversations ADD COLUMN deleted_at DATETIME;
        ALTER TABLE conversations ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN folder VARCHAR NOT NULL DEFAULT '';
        ALTER TABLE conversations ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE conversations ADD COLUMN title_origin VARCHAR NOT NULL DEFAULT 'auto';
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, content='messages', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2', prefix='3'
        );
        INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages
        """,
    )
    # Trigger bodies hold semicolons, so each is its own statement. The answer being written
    # is rewritten about once a second (PartialAnswerWriter): the update trigger keeps the
    # index in step with it, so a search finds what is on the screen. The 3-letter prefix
    # index serves search as you type (core.chat.search): without it, "con*" over 200,000
    # messages reads every term that starts so (measured: 250 ms instead of 1 ms).
    for trigger in (
        """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
        END""",
        """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
        END""",
        """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
            VALUES ('delete', old.id, old.content);
            INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
        END""",
    ):
        conn.execute(text(trigger))


def _m011_prompt_library(conn: Connection) -> None:
    # The prompt library (core.prompts): reusable prompts with fields in braces. Names are
    # unique whatever their case ("/Discharge" finds "discharge"). The starters shipped with
    # the app are offered once each: a starter the user deleted is not brought back.
    _run(
        conn,
        """
        CREATE TABLE prompts (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL COLLATE NOCASE UNIQUE,
            text TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            category VARCHAR NOT NULL DEFAULT '',
            starter_key VARCHAR,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        );
        CREATE TABLE prompt_starters_offered (
            key VARCHAR PRIMARY KEY,
            offered_at DATETIME NOT NULL
        )
        """,
    )


def _m012_recognised_pages(conn: Connection) -> None:
    # Text recognised on scanned pages (core.documents.ocr), one row per page with its lines
    # and their boxes, so that a killed run resumes without recognising a page twice and the
    # passage viewer can highlight where a passage sits on the page. A passage's region on its
    # page; a file's recognition counters; attachments of an e-mail as files of their own
    # (their parent, their place in it, and the name a citation shows).
    _run(
        conn,
        """
        CREATE TABLE doc_pages (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES doc_files (id) ON DELETE CASCADE,
            page INTEGER NOT NULL,
            file_sha256 VARCHAR NOT NULL,
            confidence FLOAT NOT NULL,
            lines TEXT NOT NULL
        );
        CREATE UNIQUE INDEX ix_doc_pages_file_page ON doc_pages (file_id, page);
        ALTER TABLE doc_chunks ADD COLUMN region VARCHAR;
        ALTER TABLE doc_files ADD COLUMN pages_recognised INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE doc_files ADD COLUMN recognition_confidence FLOAT;
        ALTER TABLE doc_files ADD COLUMN parent_id INTEGER
            REFERENCES doc_files (id) ON DELETE CASCADE;
        ALTER TABLE doc_files ADD COLUMN member VARCHAR;
        ALTER TABLE doc_files ADD COLUMN display_name TEXT;
        CREATE INDEX ix_doc_files_parent_id ON doc_files (parent_id)
        """,
    )


def _m013_evaluations(conn: Connection) -> None:
    # Evaluation runs (core.evaluation): a test set run against several models, and the test
    # sets a person keeps in the app (the questions are what they wrote). The models
    # are named by name and sha256, not by a foreign key (they move to a shared library
    # database); each question's result is committed on its own, so a killed run resumes.
    _run(
        conn,
        """
        CREATE TABLE eval_runs (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            questions TEXT NOT NULL DEFAULT '[]',
            targets TEXT NOT NULL DEFAULT '[]',
            settings TEXT NOT NULL DEFAULT '{}',
            error TEXT,
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        );
        CREATE TABLE eval_results (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
            target_index INTEGER NOT NULL,
            question_index INTEGER NOT NULL,
            question_id VARCHAR NOT NULL,
            passed BOOLEAN NOT NULL,
            reason TEXT NOT NULL,
            answer TEXT NOT NULL,
            facts TEXT NOT NULL DEFAULT '{}',
            created_at DATETIME NOT NULL
        );
        CREATE UNIQUE INDEX ix_eval_results_run_target_question
            ON eval_results (run_id, target_index, question_index);
        CREATE TABLE eval_test_sets (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            questions TEXT NOT NULL DEFAULT '[]',
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL
        )
        """,
    )


def _m014_message_attachments(conn: Connection) -> None:
    # Files attached to a question (core.chat.attachments): their name and text, kept with the
    # question in the workspace's database (encrypted in a protected workspace). A long file is
    # indexed in the conversation's own collection, which the collections list does not show.
    _run(
        conn,
        """
        CREATE TABLE message_attachments (
            id INTEGER PRIMARY KEY,
            message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            text TEXT NOT NULL,
            pages INTEGER NOT NULL DEFAULT 0,
            whole BOOLEAN NOT NULL DEFAULT 1,
            collection_id INTEGER,
            created_at DATETIME NOT NULL
        );
        CREATE INDEX ix_message_attachments_message_id ON message_attachments (message_id);
        ALTER TABLE doc_collections ADD COLUMN conversation_id INTEGER
        """,
    )


def _m015_remote_engines(conn: Connection) -> None:
    # Remote engines (core.remotes): OpenAI-compatible servers a workspace answers with. The
    # API key lives here, in the workspace's database (SQLCipher-encrypted when the workspace
    # is protected), never in a settings file.
    _run(
        conn,
        """
        CREATE TABLE remotes (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL COLLATE NOCASE UNIQUE,
            base_url VARCHAR NOT NULL,
            api_key TEXT,
            allow_offline BOOLEAN NOT NULL DEFAULT 0,
            ca_file TEXT,
            created_at DATETIME NOT NULL
        )
        """,
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "models, conversations and messages", _m001_initial),
    Migration(2, "conversation settings, model sources", _m002_settings_and_sources),
    Migration(3, "resumable model downloads", _m003_downloads),
    Migration(4, "document collections for chat with your documents", _m004_documents),
    Migration(5, "fine-tuning jobs and LoRA adapters", _m005_finetune),
    Migration(6, "how each model loads safely on this computer", _m006_model_load_options),
    Migration(7, "the audit trail: answers, exports, imports and deletions", _m007_audit_trail),
    Migration(8, "whether each model's chat template renders safely", _m008_chat_template_check),
    Migration(
        9,
        "models and downloads shared by every workspace",
        _m009_shared_library,
        needs_library=True,
    ),
    Migration(
        10, "search, versions, trash and organising conversations", _m010_conversation_records
    ),
    Migration(11, "the prompt library: reusable prompts with fields", _m011_prompt_library),
    Migration(12, "text recognised on scanned pages; e-mail attachments", _m012_recognised_pages),
    Migration(13, "evaluation test sets, runs and their results", _m013_evaluations),
    Migration(14, "files attached to questions", _m014_message_attachments),
    Migration(
        15, "remote engines (OpenAI-compatible servers) and their keys", _m015_remote_engines
    ),
)
