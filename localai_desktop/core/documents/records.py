"""Plain records of collections, files and passages: what crosses threads and reaches the GUI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from localai_desktop.core.common.enums import StrEnum
from localai_desktop.core.storage.tables import DocumentCollectionRow, DocumentFileRow


class FileStatus(StrEnum):
    """A file's life, stored as these strings. "indexing" with chunks stored means interrupted
    (cancelled or killed): the next run resumes it after its last stored chunk."""

    PENDING = "pending"
    INDEXING = "indexing"
    INDEXED = "indexed"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class CollectionInfo:
    id: int
    name: str
    embedding_model_id: int | None
    embedding_model_name: str
    embedding_model_sha256: str
    embedding_dimension: int
    chunk_tokens: int
    revision: int
    created_at: datetime
    updated_at: datetime
    file_count: int = 0
    chunk_count: int = 0
    status_counts: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "embedding_model": self.embedding_model_name,
            "embedding_model_sha256": self.embedding_model_sha256,
            "embedding_dimension": self.embedding_dimension,
            "chunk_tokens": self.chunk_tokens,
            "files": self.file_count,
            "chunks": self.chunk_count,
            "status_counts": dict(self.status_counts),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class DocumentFile:
    id: int
    collection_id: int
    path: Path
    folder: Path | None
    size: int
    mtime_ns: int
    sha256: str | None
    kind: str | None
    status: FileStatus
    reason: str | None
    pages: int
    chunks: int
    words: int
    added_at: datetime
    indexed_at: datetime | None
    pages_recognised: int = 0  # pages whose text was recognised from the image
    recognition_confidence: float | None = None  # their mean confidence, 0..1
    parent_id: int | None = None  # the e-mail an attachment came in
    member: str | None = None  # its place among that e-mail's attachments
    display_name: str | None = None  # "lab.pdf, in e-mail Results (14 March 2024)"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_attachment(self) -> bool:
        return self.parent_id is not None

    @property
    def recognition_note(self) -> str:
        """ "text recognised on 12 of 14 pages", or "" when no page was read from its image."""
        if not self.pages_recognised:
            return ""
        if self.pages and self.pages > 1:
            return f"text recognised on {self.pages_recognised} of {self.pages} pages"
        return "text recognised from the image"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "kind": self.kind,
            "size": self.size,
            "sha256": self.sha256,
            "pages": self.pages,
            "chunks": self.chunks,
            "words": self.words,
            "added_at": self.added_at.isoformat(),
            "indexed_at": self.indexed_at.isoformat() if self.indexed_at else None,
            "pages_recognised": self.pages_recognised,
            "recognition_confidence": (
                round(self.recognition_confidence, 4)
                if self.recognition_confidence is not None
                else None
            ),
            "attachment_of": self.parent_id,
            "display_name": self.display_name,
        }


@dataclass(frozen=True)
class StoredChunk:
    """A passage as stored, with the file it belongs to."""

    id: int
    collection_id: int
    file_id: int
    file_path: Path
    ordinal: int
    page: int | None
    heading: str | None
    text: str
    file_sha256: str | None = None  # the file as indexed, for citations on the record
    region: str | None = None  # "x0,y0,x1,y1" on its page, for recognised text
    display_name: str | None = None  # how citations name an attachment

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        return parse_region(self.region)


def parse_region(region: str | None) -> tuple[float, float, float, float] | None:
    if not region:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in region.split(","))
    except ValueError:
        return None
    return (x0, y0, x1, y1)


def collection_record(
    row: DocumentCollectionRow, counts: dict[str, int] | None = None
) -> CollectionInfo:
    counts = counts or {}
    return CollectionInfo(
        id=row.id,
        name=row.name,
        embedding_model_id=row.embedding_model_id,
        embedding_model_name=row.embedding_model_name,
        embedding_model_sha256=row.embedding_model_sha256,
        embedding_dimension=row.embedding_dimension,
        chunk_tokens=row.chunk_tokens,
        revision=row.revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
        file_count=sum(v for k, v in counts.items() if k != "_chunks"),
        chunk_count=counts.get("_chunks", 0),
        status_counts=tuple((k, v) for k, v in sorted(counts.items()) if k != "_chunks"),
    )


def file_record(row: DocumentFileRow) -> DocumentFile:
    return DocumentFile(
        id=row.id,
        collection_id=row.collection_id,
        path=Path(row.path),
        folder=Path(row.folder) if row.folder else None,
        size=row.size,
        mtime_ns=row.mtime_ns,
        sha256=row.sha256,
        kind=row.kind,
        status=FileStatus(row.status),
        reason=row.reason,
        pages=row.pages,
        chunks=row.chunks,
        words=row.words,
        added_at=row.added_at,
        indexed_at=row.indexed_at,
        pages_recognised=row.pages_recognised or 0,
        recognition_confidence=row.recognition_confidence,
        parent_id=row.parent_id,
        member=row.member,
        display_name=row.display_name,
    )
