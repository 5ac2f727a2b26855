"""Numbered schema migrations; each runs in one transaction after a backup of the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


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


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "models, conversations and messages", _m001_initial),
    Migration(2, "conversation settings, model sources", _m002_settings_and_sources),
    Migration(3, "resumable model downloads", _m003_downloads),
    Migration(4, "document collections for chat with your documents", _m004_documents),
    Migration(5, "fine-tuning jobs and LoRA adapters", _m005_finetune),
    Migration(6, "how each model loads safely on this computer", _m006_model_load_options),
    Migration(7, "the audit trail: answers, exports, imports and deletions", _m007_audit_trail),
    Migration(8, "whether each model's chat template renders safely", _m008_chat_template_check),
    Migration(13, "evaluation test sets, runs and their results", _m013_evaluations),
)
