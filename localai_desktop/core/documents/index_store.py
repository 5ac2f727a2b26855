"""The documents' side of the database: collections, files, chunks, their vectors and FTS5.

Plain records come out (``CollectionInfo``, ``DocumentFile``, ``StoredChunk``), never ORM rows,
so they can cross threads. Every write is one short committed transaction; the chunks of a
batch, the file's counters and the collection's revision commit together, so a killed process
leaves every file either at a batch boundary (resumable) or untouched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select, update

from localai_desktop.core.audit.entries import DOCUMENT_REMOVED
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.documents.chunking import Chunk
from localai_desktop.core.documents.records import (
    CollectionInfo,
    DocumentFile,
    FileStatus,
    StoredChunk,
    collection_record,
    file_record,
)
from localai_desktop.core.storage.connections import DATABASE_ERRORS
from localai_desktop.core.storage.db import Database, storage_error_from
from localai_desktop.core.storage.tables import (
    DocumentChunkRow,
    DocumentCollectionRow,
    DocumentFileRow,
)

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are used: 0.15 s at start-up

    from localai_desktop.core.audit.trail import AuditTrail

__all__ = [
    "CollectionInfo",
    "DocumentFile",
    "FileRemovedError",
    "FileStatus",
    "IndexStore",
    "StoredChunk",
    "file_signature",
    "phrase",
]


class FileRemovedError(NotFoundError):
    """A file left its collection while it was being indexed: its passages are not stored."""


class IndexStore:
    """Reads and writes collections, files and chunks; each call is one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- collections --------------------------------------------------------------------------

    def create_collection(
        self,
        name: str,
        *,
        model_id: int,
        model_name: str,
        model_sha256: str,
        chunk_tokens: int,
    ) -> CollectionInfo:
        name = " ".join(name.split())
        if not name:
            raise LocalAIError("A collection needs a name.", "Type a name for it.")
        now = utcnow()
        with self._db.session() as session:
            taken = session.scalar(
                select(DocumentCollectionRow.id).where(DocumentCollectionRow.name == name)
            )
            if taken is not None:
                raise LocalAIError(
                    f"You already have a collection called '{name}'.", "Choose another name."
                )
            row = DocumentCollectionRow(
                name=name,
                embedding_model_id=model_id,
                embedding_model_name=model_name,
                embedding_model_sha256=model_sha256,
                embedding_dimension=0,
                chunk_tokens=chunk_tokens,
                revision=0,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return collection_record(row)

    def get_collection(self, name_or_id: str | int, *, counts: bool = True) -> CollectionInfo:
        """The collection; without `counts` its file and chunk counts read 0 (a search needs
        none of them, and counting costs two more queries)."""
        with self._db.session() as session:
            row = self._collection_row(session, name_or_id)
            return collection_record(row, self._counts(session, row.id) if counts else None)

    def mark_conversation_collection(self, collection_id: int, conversation_id: int) -> None:
        """Make a collection a conversation's own (attached files): not listed."""
        with self._db.session() as session:
            row = self._collection_row(session, collection_id)
            row.conversation_id = conversation_id

    def list_collections(self) -> list[CollectionInfo]:
        with self._db.session() as session:
            rows = session.scalars(
                select(DocumentCollectionRow)
                .where(DocumentCollectionRow.conversation_id.is_(None))  # not attachments
                .order_by(DocumentCollectionRow.name)
            )
            return [collection_record(row, self._counts(session, row.id)) for row in rows]

    def revision(self, collection_id: int) -> int:
        """Changes whenever the collection's chunks change (cheap: one primary-key read)."""
        with self._reading() as raw:
            row = raw.execute(
                "SELECT revision FROM doc_collections WHERE id = ?", (collection_id,)
            ).fetchone()
            return int(row[0]) if row else 0

    def delete_collection(self, collection_id: int) -> None:
        with self._db.session() as session:
            # Chunks first, in one statement, so their FTS rows go with them.
            session.execute(
                delete(DocumentChunkRow).where(DocumentChunkRow.collection_id == collection_id)
            )
            session.execute(
                delete(DocumentFileRow).where(DocumentFileRow.collection_id == collection_id)
            )
            session.execute(
                delete(DocumentCollectionRow).where(DocumentCollectionRow.id == collection_id)
            )

    def rename_collection(self, collection_id: int, name: str) -> CollectionInfo:
        name = " ".join(name.split())
        if not name:
            raise LocalAIError("A collection needs a name.", "Type a name for it.")
        with self._db.session() as session:
            taken = session.scalar(
                select(DocumentCollectionRow.id).where(
                    DocumentCollectionRow.name == name, DocumentCollectionRow.id != collection_id
                )
            )
            if taken is not None:
                raise LocalAIError(
                    f"You already have a collection called '{name}'.", "Choose another name."
                )
            row = session.get(DocumentCollectionRow, collection_id)
            if row is None:
                raise NotFoundError("That collection no longer exists.")
            row.name = name
            session.flush()
            return collection_record(row, self._counts(session, row.id))

    def set_dimension(self, collection_id: int, dimension: int) -> None:
        with self._db.session() as session:
            session.execute(
                update(DocumentCollectionRow)
                .where(DocumentCollectionRow.id == collection_id)
                .values(embedding_dimension=dimension)
            )

    @staticmethod
    def _collection_row(session: Any, name_or_id: str | int) -> DocumentCollectionRow:
        row = session.scalar(
            select(DocumentCollectionRow).where(DocumentCollectionRow.name == str(name_or_id))
        )
        if row is None and str(name_or_id).isdigit():
            row = session.get(DocumentCollectionRow, int(name_or_id))
        if row is None:
            raise NotFoundError(
                f"There is no document collection called '{name_or_id}'.",
                "See your collections with 'localai docs list', or create one.",
            )
        return row

    @staticmethod
    def _counts(session: Any, collection_id: int) -> dict[str, int]:
        counts: dict[str, int] = dict(
            session.execute(
                select(DocumentFileRow.status, func.count())
                .where(DocumentFileRow.collection_id == collection_id)
                .group_by(DocumentFileRow.status)
            ).all()
        )
        counts["_chunks"] = int(
            session.scalar(
                select(func.coalesce(func.sum(DocumentFileRow.chunks), 0)).where(
                    DocumentFileRow.collection_id == collection_id
                )
            )
        )
        return counts

    # -- files --------------------------------------------------------------------------------

    def upsert_file(self, collection_id: int, path: Path, folder: Path | None) -> DocumentFile:
        """Register a file (new ones are pending); an existing one is marked for a re-check."""
        now = utcnow()
        with self._db.session() as session:
            row = session.scalar(
                select(DocumentFileRow).where(
                    DocumentFileRow.collection_id == collection_id,
                    DocumentFileRow.path == str(path),
                )
            )
            if row is None:
                row = DocumentFileRow(
                    collection_id=collection_id,
                    path=str(path),
                    folder=str(folder) if folder else None,
                    status=FileStatus.PENDING,
                    added_at=now,
                )
                session.add(row)
            else:
                if row.status in (FileStatus.INDEXED, FileStatus.SKIPPED, FileStatus.FAILED):
                    # Indexing hashes it and leaves an unchanged file alone.
                    row.status = FileStatus.PENDING
                if folder and not row.folder:
                    row.folder = str(folder)
            session.flush()
            return file_record(row)

    def files(
        self, collection_id: int, statuses: Iterable[FileStatus] | None = None
    ) -> list[DocumentFile]:
        with self._db.session() as session:
            query = select(DocumentFileRow).where(DocumentFileRow.collection_id == collection_id)
            if statuses is not None:
                query = query.where(DocumentFileRow.status.in_(list(statuses)))
            return [file_record(r) for r in session.scalars(query.order_by(DocumentFileRow.path))]

    def file(self, file_id: int) -> DocumentFile:
        with self._db.session() as session:
            row = session.get(DocumentFileRow, file_id)
            if row is None:
                raise NotFoundError(f"Document {file_id} is no longer in the collection.")
            return file_record(row)

    def update_file(self, file_id: int, **values: Any) -> None:
        with self._db.session() as session:
            session.execute(
                update(DocumentFileRow).where(DocumentFileRow.id == file_id).values(**values)
            )

    def file_with_content(
        self, collection_id: int, sha256: str, *, other_than: int
    ) -> DocumentFile | None:
        """Another file of the collection with the same content that is (being) indexed."""
        with self._db.session() as session:
            row = session.scalar(
                select(DocumentFileRow).where(
                    DocumentFileRow.collection_id == collection_id,
                    DocumentFileRow.sha256 == sha256,
                    DocumentFileRow.id != other_than,
                    DocumentFileRow.status.in_((FileStatus.INDEXED, FileStatus.INDEXING)),
                )
            )
            return file_record(row) if row is not None else None

    def clear_chunks(self, file_id: int, **file_values: Any) -> None:
        """Delete a file's chunks and update its row, together."""
        with self._db.session() as session:
            # A DELETE's result is a CursorResult (its row count); Session.execute says Result.
            deleted = cast(
                CursorResult[Any],
                session.execute(
                    delete(DocumentChunkRow).where(DocumentChunkRow.file_id == file_id)
                ),
            )
            removed = deleted.rowcount
            file_values.setdefault("chunks", 0)
            file_values.setdefault("words", 0)
            row = session.get(DocumentFileRow, file_id)
            if row is None:
                return
            for key, value in file_values.items():
                setattr(row, key, value)
            if removed:
                self._bump_revision(session, row.collection_id)

    def remove_file(self, file_id: int) -> None:
        self.remove_attachments(file_id)
        with self._db.session() as session:
            row = session.get(DocumentFileRow, file_id)
            if row is None:
                return
            session.execute(delete(DocumentChunkRow).where(DocumentChunkRow.file_id == file_id))
            session.delete(row)
            self._bump_revision(session, row.collection_id)

    def remove_files(
        self, file_ids: Sequence[int], *, audit: AuditTrail | None = None
    ) -> list[DocumentFile]:
        """Delete files with their passages, vectors and FTS5 rows, in one transaction.

        Returns the files removed (ids already gone are left out). With an audit trail, each
        removal is recorded in the same transaction (the file's sha256, never its name).
        """
        removed: list[DocumentFile] = []
        with self._db.session() as session:
            wanted = list(file_ids)
            frontier = list(wanted)
            while frontier:  # an e-mail goes with its attachments, and theirs
                frontier = list(
                    session.scalars(
                        select(DocumentFileRow.id).where(DocumentFileRow.parent_id.in_(frontier))
                    )
                )
                wanted += frontier
            rows = session.scalars(
                select(DocumentFileRow).where(DocumentFileRow.id.in_(wanted))
            ).all()
            if not rows:
                return []
            ids = [row.id for row in rows]
            # One statement: the FTS5 delete trigger runs for every passage it takes.
            session.execute(delete(DocumentChunkRow).where(DocumentChunkRow.file_id.in_(ids)))
            removed = [file_record(row) for row in rows]
            collection_ids = {row.collection_id for row in rows}
            # One statement, so the attachments' rows (which cascade) are not deleted twice.
            session.execute(delete(DocumentFileRow).where(DocumentFileRow.id.in_(ids)))
            for collection_id in sorted(collection_ids):
                self._bump_revision(session, collection_id)
            if audit is not None:
                for file in removed:
                    audit.append(
                        session,
                        DOCUMENT_REMOVED,
                        facts={
                            "collection_id": file.collection_id,
                            "file_id": file.id,
                            "file_sha256": file.sha256,
                        },
                    )
        return removed

    def stored_chunk_count(self, file_id: int) -> int:
        with self._db.session() as session:
            return int(
                session.scalar(select(func.count()).where(DocumentChunkRow.file_id == file_id)) or 0
            )

    # -- chunks -------------------------------------------------------------------------------

    def add_chunks(
        self,
        collection_id: int,
        file_id: int,
        new_chunks: Sequence[Chunk],
        vectors: np.ndarray,
        **file_values: Any,
    ) -> None:
        """Store chunks with their vectors and update the file row, in one transaction."""
        import numpy as np

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = [
            {
                "file_id": file_id,
                "collection_id": collection_id,
                "ordinal": chunk.ordinal,
                "page": chunk.page,
                "heading": chunk.heading,
                "text": chunk.text,
                "embedding": vectors[i].tobytes(),
                "region": chunk.region,
            }
            for i, chunk in enumerate(new_chunks)
        ]
        with self._db.session() as session:
            # Inside the write transaction, so a removal commits wholly before or after it.
            if session.get(DocumentFileRow, file_id) is None:
                raise FileRemovedError(
                    "The document was removed from its collection while it was being indexed."
                )
            if rows:
                session.execute(insert(DocumentChunkRow), rows)
            if file_values:
                session.execute(
                    update(DocumentFileRow)
                    .where(DocumentFileRow.id == file_id)
                    .values(**file_values)
                )
            if rows:
                self._bump_revision(session, collection_id)

    @staticmethod
    def _bump_revision(session: Any, collection_id: int) -> None:
        session.execute(
            update(DocumentCollectionRow)
            .where(DocumentCollectionRow.id == collection_id)
            .values(revision=DocumentCollectionRow.revision + 1, updated_at=utcnow())
        )

    def load_vectors(self, collection_id: int, dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids ascending, unit vectors as rows) of a collection, read in one pass."""
        import numpy as np

        with self._db.session() as session:
            raw = session.connection().exec_driver_sql(
                "SELECT id, embedding FROM doc_chunks WHERE collection_id = ? ORDER BY id",
                (collection_id,),
            )
            ids: list[int] = []
            blobs: list[bytes] = []
            for chunk_id, blob in raw:
                ids.append(chunk_id)
                blobs.append(blob)
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, dimension), dtype=np.float32)
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
        return np.asarray(ids, dtype=np.int64), matrix

    def keyword_search(
        self, collection_ids: Sequence[int], fts_query: str, limit: int
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score; lower is better) of the best keyword matches."""
        if not fts_query or not collection_ids:
            return []
        marks = ", ".join("?" for _ in collection_ids)
        # The heading counts half as much as the passage: it is shared by a whole section.
        sql = (
            "SELECT c.id, bm25(doc_chunks_fts, 1.0, 0.5) AS score FROM doc_chunks_fts "
            "JOIN doc_chunks AS c ON c.id = doc_chunks_fts.rowid "
            f"WHERE doc_chunks_fts MATCH ? AND c.collection_id IN ({marks}) "
            "ORDER BY score LIMIT ?"
        )
        with self._reading() as raw:
            result = raw.execute(sql, (fts_query, *collection_ids, limit))
            return [(int(chunk_id), float(score)) for chunk_id, score in result]

    def keyword_search_everywhere(self, fts_query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the best keyword matches in all collections."""
        if not fts_query:
            return []
        sql = (
            "SELECT rowid, bm25(doc_chunks_fts, 1.0, 0.5) AS score FROM doc_chunks_fts "
            "WHERE doc_chunks_fts MATCH ? ORDER BY score LIMIT ?"
        )
        with self._reading() as raw:
            result = raw.execute(sql, (fts_query, limit))
            return [(int(chunk_id), float(score)) for chunk_id, score in result]

    def passages_with_terms(self, terms: Sequence[str]) -> tuple[list[int], int]:
        """(for each term, how many passages of all collections hold it; all passages).

        Terms are stemmed as the index stems them. Counting walks each term's list of passages
        without scoring them: about a millisecond for 10,000 passages.
        """
        with self._reading() as raw:
            counts = [
                int(
                    raw.execute(
                        "SELECT count(*) FROM doc_chunks_fts WHERE doc_chunks_fts MATCH ?",
                        (phrase(term),),
                    ).fetchone()[0]
                )
                for term in terms
            ]
            total = raw.execute("SELECT coalesce(sum(chunks), 0) FROM doc_files").fetchone()[0]
        return counts, int(total)

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not chunk_ids:
            return {}
        marks = ", ".join("?" for _ in chunk_ids)
        sql = (
            "SELECT c.id, c.collection_id, c.file_id, f.path, c.ordinal, c.page, c.heading, "
            "c.text, f.sha256, c.region, f.display_name "
            "FROM doc_chunks AS c JOIN doc_files AS f ON f.id = c.file_id "
            f"WHERE c.id IN ({marks})"
        )
        with self._reading() as raw:
            rows = raw.execute(sql, [int(i) for i in chunk_ids]).fetchall()
        return {
            row[0]: StoredChunk(
                id=row[0],
                collection_id=row[1],
                file_id=row[2],
                file_path=Path(row[3]),
                ordinal=row[4],
                page=row[5],
                heading=row[6],
                text=row[7],
                file_sha256=row[8],
                region=row[9],
                display_name=row[10],
            )
            for row in rows
        }

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection for a search's reads, outside any transaction.

        Sessions begin with BEGIN IMMEDIATE: they take the write lock, which most of them need.
        A search's reads do not: in autocommit mode each SELECT reads one consistent snapshot
        (WAL), without waiting for an indexing batch to commit and without the round trips of
        a transaction (a few milliseconds a search on a busy machine).
        """
        raw = self._db.engine.raw_connection()
        try:
            connection = raw.driver_connection
            assert connection is not None  # None only once a connection is invalidated
            yield connection
        except DATABASE_ERRORS as error:
            raise storage_error_from(error) from error
        finally:
            raw.close()

    def first_chunk(self, file_id: int) -> StoredChunk | None:
        """The first passage of a file, in reading order (None: it has none)."""
        with self._db.session() as session:
            found = session.execute(
                select(DocumentChunkRow, DocumentFileRow.path, DocumentFileRow.display_name)
                .join(DocumentFileRow, DocumentFileRow.id == DocumentChunkRow.file_id)
                .where(DocumentChunkRow.file_id == file_id)
                .order_by(DocumentChunkRow.ordinal)
                .limit(1)
            ).first()
            return None if found is None else self._stored(found[0], found[1], found[2])

    def neighbours(self, chunk_id: int, before: int, after: int) -> list[StoredChunk]:
        """The chunk and the ones around it in its file, in reading order."""
        with self._db.session() as session:
            row = session.get(DocumentChunkRow, chunk_id)
            if row is None:
                raise NotFoundError(
                    "That passage is no longer in the collection.",
                    "The document may have been changed or removed; search again.",
                )
            rows = session.execute(
                select(DocumentChunkRow, DocumentFileRow.path, DocumentFileRow.display_name)
                .join(DocumentFileRow, DocumentFileRow.id == DocumentChunkRow.file_id)
                .where(
                    DocumentChunkRow.file_id == row.file_id,
                    DocumentChunkRow.ordinal.between(row.ordinal - before, row.ordinal + after),
                )
                .order_by(DocumentChunkRow.ordinal)
            ).all()
            return [self._stored(r, path, name) for r, path, name in rows]

    @staticmethod
    def _stored(row: DocumentChunkRow, path: str, display_name: str | None) -> StoredChunk:
        return StoredChunk(
            id=row.id,
            collection_id=row.collection_id,
            file_id=row.file_id,
            file_path=Path(path),
            ordinal=row.ordinal,
            page=row.page,
            heading=row.heading,
            text=row.text,
            region=row.region,
            display_name=display_name,
        )

    # -- attachments --------------------------------------------------------------------------

    def upsert_attachment(
        self, parent: DocumentFile, member: str, name: str, display_name: str
    ) -> DocumentFile:
        """Register an e-mail's attachment as a file of its own (pending), under its e-mail."""
        path = f"{parent.path}#{member}/{name}"
        with self._db.session() as session:
            row = session.scalar(
                select(DocumentFileRow).where(
                    DocumentFileRow.collection_id == parent.collection_id,
                    DocumentFileRow.path == path,
                )
            )
            if row is None:
                row = DocumentFileRow(
                    collection_id=parent.collection_id,
                    path=path,
                    folder=str(parent.folder) if parent.folder else None,
                    status=FileStatus.PENDING,
                    added_at=utcnow(),
                    parent_id=parent.id,
                    member=member,
                    display_name=display_name,
                )
                session.add(row)
            else:
                row.status = FileStatus.PENDING
                row.display_name = display_name
            session.flush()
            return file_record(row)

    def attachments(self, parent_id: int) -> list[DocumentFile]:
        with self._db.session() as session:
            rows = session.scalars(
                select(DocumentFileRow)
                .where(DocumentFileRow.parent_id == parent_id)
                .order_by(DocumentFileRow.id)
            )
            return [file_record(r) for r in rows]

    def remove_attachments(self, parent_id: int, keep: Iterable[int] = ()) -> None:
        """Drop an e-mail's attachments (but `keep`), with theirs, passages and keyword rows."""
        kept = set(keep)
        for child in self.attachments(parent_id):
            if child.id not in kept:
                self.remove_attachments(child.id)
                self.remove_file(child.id)


def phrase(term: str) -> str:
    """A word as an FTS5 phrase (quoted, so words like OR or NEAR are not operators)."""
    return '"' + term.replace('"', '""') + '"'


def file_signature(path: Path) -> tuple[int, int]:
    """(size, mtime in ns): a cheap check for "maybe changed" before hashing."""
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns
