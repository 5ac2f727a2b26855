"""SQLAlchemy 2 table mappings: models, chats, downloads, adapters, documents, the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    path: Mapped[str] = mapped_column(Text)
    copied: Mapped[bool] = mapped_column(default=False)
    file_size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String)
    architecture: Mapped[str] = mapped_column(String)
    parameter_count: Mapped[int] = mapped_column(Integer)
    quantization: Mapped[str] = mapped_column(String)
    context_length: Mapped[int] = mapped_column(Integer)
    license: Mapped[str | None] = mapped_column(String, nullable=True)
    chat_template: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_embedding_model: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(Text, default="{}")
    plain_buffers: Mapped[bool] = mapped_column(default=False)
    # core.models.chat_template's verdict on chat_template; None until checked.
    chat_template_check: Mapped[str | None] = mapped_column(String, nullable=True)
    added_at: Mapped[datetime]


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String)
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id", ondelete="SET NULL"), nullable=True
    )
    settings: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Migration 11: in the trash since (NULL: not deleted); pinned, folder and tags (JSON list);
    # where the title came from ("auto" from the first question, "model", "user").
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True, default=None)
    pinned: Mapped[bool] = mapped_column(default=False)
    folder: Mapped[str] = mapped_column(String, default="")
    tags: Mapped[str] = mapped_column(Text, default="[]")
    title_origin: Mapped[str] = mapped_column(String, default="auto")

    messages: Mapped[list[MessageRow]] = relationship(
        back_populates="conversation",
        order_by="MessageRow.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class MessageRow(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String)
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String, default="complete")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    provenance: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Migration 11: the message this one follows (0: the first; NULL: the one before it by id)
    # and whether it is the version shown among those that follow the same message.
    # messages_fts mirrors `content` (triggers, migration 11).
    parent_id: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)
    current: Mapped[bool] = mapped_column(default=True)

    conversation: Mapped[ConversationRow] = relationship(back_populates="messages")


class DownloadRow(Base):
    """A model download that has not finished: what to fetch; the partial files hold the bytes."""

    __tablename__ = "downloads"
    __table_args__ = (Index("ix_downloads_repo_file", "repo_id", "first_file", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[str] = mapped_column(String)
    revision: Mapped[str] = mapped_column(String)  # the commit, so a resume gets the same bytes
    quantization: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    first_file: Mapped[str] = mapped_column(Text)
    files: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{path, size, sha256}]
    folder: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String, default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(Text, default="{}")  # JSON recorded on the model
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FineTuneJobRow(Base):
    """A fine-tuning run: its folder holds the data and checkpoints; this row, its progress."""

    __tablename__ = "finetune_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, index=True)  # the adapter it will make
    base_model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id", ondelete="SET NULL"), nullable=True
    )
    base_model_sha256: Mapped[str] = mapped_column(String)
    folder: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String, default="ready")
    settings: Mapped[str] = mapped_column(Text, default="{}")  # JSON TrainingSettings
    dataset: Mapped[str] = mapped_column(Text, default="{}")  # JSON dataset summary
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the trainer child
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    adapter_id: Mapped[int | None] = mapped_column(
        ForeignKey("adapters.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AdapterRow(Base):
    """A finished LoRA adapter (GGUF) and everything needed to say how it was made."""

    __tablename__ = "adapters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    path: Mapped[str] = mapped_column(Text)
    base_model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id", ondelete="SET NULL"), nullable=True
    )
    base_model_name: Mapped[str] = mapped_column(String)
    base_model_sha256: Mapped[str] = mapped_column(String, index=True)
    architecture: Mapped[str] = mapped_column(String)
    file_size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String)
    rank: Mapped[int] = mapped_column(Integer)
    alpha: Mapped[float]
    settings: Mapped[str] = mapped_column(Text, default="{}")
    dataset: Mapped[str] = mapped_column(Text, default="{}")
    final_loss: Mapped[float | None] = mapped_column(nullable=True)
    final_val_loss: Mapped[float | None] = mapped_column(nullable=True)
    samples: Mapped[str] = mapped_column(Text, default="[]")  # JSON before/after answers
    created_at: Mapped[datetime]


class DocumentCollectionRow(Base):
    """A named set of documents indexed with one embedding model (chat with your documents)."""

    __tablename__ = "doc_collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    embedding_model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id", ondelete="SET NULL"), nullable=True
    )
    embedding_model_name: Mapped[str] = mapped_column(String)
    # Vectors only compare with vectors from the very same model file.
    embedding_model_sha256: Mapped[str] = mapped_column(String)
    embedding_dimension: Mapped[int] = mapped_column(Integer, default=0)
    chunk_tokens: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # bumped when chunks change
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Migration 14: a conversation's own collection of attached files (not listed).
    conversation_id: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)


class DocumentFileRow(Base):
    """One file of a collection and how indexing it went."""

    __tablename__ = "doc_files"
    __table_args__ = (
        Index("ix_doc_files_collection_path", "collection_id", "path", unique=True),
        Index("ix_doc_files_sha256", "collection_id", "sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("doc_collections.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    folder: Mapped[str | None] = mapped_column(Text, nullable=True)  # the folder it came with
    size: Mapped[int] = mapped_column(Integer, default=0)
    mtime_ns: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String, nullable=True)
    kind: Mapped[str | None] = mapped_column(String, nullable=True)
    status: Mapped[str] = mapped_column(String, default="pending")
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    words: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime]
    indexed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Pages whose text was recognised from the image (scans), and their mean confidence 0..1.
    pages_recognised: Mapped[int] = mapped_column(Integer, default=0)
    recognition_confidence: Mapped[float | None] = mapped_column(nullable=True)
    # An e-mail's attachment is a file of its own: its e-mail, its place inside it ("2" or
    # "2/1" for an attachment of an attached e-mail), and the name its citations show.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("doc_files.id", ondelete="CASCADE"), nullable=True, index=True
    )
    member: Mapped[str | None] = mapped_column(String, nullable=True)
    display_name: Mapped[str | None] = mapped_column(Text, nullable=True)


class DocumentChunkRow(Base):
    """A passage of a file with its vector; doc_chunks_fts mirrors it (triggers, migration 4)."""

    __tablename__ = "doc_chunks"
    __table_args__ = (
        Index("ix_doc_chunks_file_ordinal", "file_id", "ordinal", unique=True),
        Index("ix_doc_chunks_collection", "collection_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("doc_files.id", ondelete="CASCADE"))
    collection_id: Mapped[int] = mapped_column(Integer)
    ordinal: Mapped[int] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    heading: Mapped[str | None] = mapped_column(Text, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, unit length
    # Where a recognised passage sits on its page: "x0,y0,x1,y1" as fractions of the page.
    region: Mapped[str | None] = mapped_column(String, nullable=True)


class DocumentPageRow(Base):
    """Text recognised on one page of a scan: its lines with their boxes (JSON) and confidence.

    Kept for the file as indexed (``file_sha256``): a killed run resumes without recognising a
    page again, and the passage viewer finds where a passage sits on the page.
    """

    __tablename__ = "doc_pages"
    __table_args__ = (Index("ix_doc_pages_file_page", "file_id", "page", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("doc_files.id", ondelete="CASCADE"))
    page: Mapped[int] = mapped_column(Integer)
    file_sha256: Mapped[str] = mapped_column(String)
    confidence: Mapped[float]
    lines: Mapped[str] = mapped_column(Text)  # [[text, x0, y0, x1, y1, confidence], ...]


class AuditEntryRow(Base):
    """One entry of the audit trail (core.audit): what happened, as hashes, chained by sha256."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1, 2, 3, ... with no gaps
    recorded_at: Mapped[str] = mapped_column(String)  # ISO 8601 UTC text, hashed as stored
    kind: Mapped[str] = mapped_column(String)
    # Plain numbers, not foreign keys: the entry outlives the conversation it names.
    conversation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    facts: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    previous_hash: Mapped[str] = mapped_column(String)
    hash: Mapped[str] = mapped_column(String, unique=True)


class PromptRow(Base):
    """A reusable prompt of the prompt library (core.prompts), with fields in braces."""

    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(collation="NOCASE"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String, default="")
    starter_key: Mapped[str | None] = mapped_column(String, nullable=True)  # shipped with the app
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PromptStarterOfferedRow(Base):
    """A starter prompt already offered to this workspace (so a deleted one stays deleted)."""

    __tablename__ = "prompt_starters_offered"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    offered_at: Mapped[datetime]


class EvalRunRow(Base):
    """A test set run against several models (core.evaluation); plain JSON for its parts."""

    __tablename__ = "eval_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    questions: Mapped[str] = mapped_column(Text, default="[]")
    # Each model to answer with, by name and sha256 (no foreign key: see migration 13).
    targets: Mapped[str] = mapped_column(Text, default="[]")
    settings: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EvalResultRow(Base):
    """One model's answer to one question of a run, and its verdict."""

    __tablename__ = "eval_results"
    __table_args__ = (
        Index(
            "ix_eval_results_run_target_question",
            "run_id",
            "target_index",
            "question_index",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("eval_runs.id", ondelete="CASCADE"))
    target_index: Mapped[int] = mapped_column(Integer)
    question_index: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str] = mapped_column(String)
    passed: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text, default="{}")  # timings, citations, abstained...
    created_at: Mapped[datetime]


class EvalTestSetRow(Base):
    """A test set kept in the app (core.evaluation.testset questions as JSON)."""

    __tablename__ = "eval_test_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    questions: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RemoteRow(Base):
    """A remote engine (core.remotes): an OpenAI-compatible server and its API key."""

    __tablename__ = "remotes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    base_url: Mapped[str] = mapped_column(String)
    api_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    allow_offline: Mapped[bool] = mapped_column(default=False)
    ca_file: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime]


class MessageAttachmentRow(Base):
    """A file attached to a question (migration 14): its name and its text, kept here."""

    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    whole: Mapped[bool] = mapped_column(default=True)  # in the prompt whole, else indexed
    collection_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime]
