"""Indexing a collection's pending files: parse, chunk, embed, store, with progress and cancel.

``Indexer.run(collection_id, state)`` is a plain blocking function (the GUI runs it on a worker
thread, the CLI on its main thread). It reports through ``IndexingState`` (Orange3's pattern:
``set_progress``, ``file_finished``, ``is_interruption_requested``) and never touches Qt.

Nothing indexed is lost when a run is cancelled or the process is killed: chunks are committed
in small batches together with the file's counters, a file being worked on stays "indexing",
and the next run re-reads it and continues after the last stored chunk (chunking is
deterministic). A file that changed in the meantime (another sha256) starts over. Text
recognised on a scanned page is committed page by page (``RecognisedPageStore``), so the re-read
of an interrupted scan recognises only the pages it had not reached. An e-mail's attachments
become files of their own, indexed right after their e-mail from its bytes in memory.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import ModelLoadError, NotFoundError
from localai_desktop.core.documents.blocks import TextBlock
from localai_desktop.core.documents.chunking import Chunk, chunk_blocks
from localai_desktop.core.documents.embedder import Embedder, EmbeddingCancelled
from localai_desktop.core.documents.index_store import (
    CollectionInfo,
    DocumentFile,
    FileRemovedError,
    FileStatus,
    IndexStore,
    file_signature,
)
from localai_desktop.core.documents.indexing_state import (
    IndexingState,
    IndexProgress,
    IndexReport,
)
from localai_desktop.core.documents.mail import keeping_parsed_mail
from localai_desktop.core.documents.ocr import (
    RecognisedPage,
    RecognitionCancelled,
    shared_recogniser,
)
from localai_desktop.core.documents.page_view import attachment_data
from localai_desktop.core.documents.parsers import (
    ParsedFile,
    UnreadableFileError,
    open_document,
    vanished_error,
)
from localai_desktop.core.documents.recognised_pages import RecognisedPageStore

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["IndexProgress", "IndexReport", "Indexer", "IndexingState"]

log = logging.getLogger(__name__)

# Chunks embedded and committed together: small enough that a kill loses seconds of work and
# that cancel answers within one batch, large enough that commits cost little.
BATCH_CHUNKS = 16
# Progress while reading pages that yield no passages (blank or scanned stretches).
PROGRESS_SECONDS = 0.25
NO_TEXT_PDF_REASON = (
    "No text found, not even by reading the page images (blank pages or pictures without text)."
)
NO_TEXT_REASON = "The file has no text to index."
# An e-mail attached to an e-mail attached to ...: attachments deeper than this are left out.
MAX_ATTACHMENT_DEPTH = 3


class _Cancelled(Exception):
    pass


def sha256_of(path: Path, state: IndexingState, data: bytes | None = None) -> str:
    if data is not None:
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            if state.is_interruption_requested():
                raise _Cancelled
            digest.update(block)
    return digest.hexdigest()


class _Run:
    """Counters and the progress estimate of one run."""

    def __init__(self, collection_id: int, files: list[DocumentFile], state: IndexingState) -> None:
        self.collection_id = collection_id
        self.state = state
        self.started = time.perf_counter()
        self.files_total = len(files)
        self.files_done = 0
        self.sizes = {f.id: max(self._size(f), 1) for f in files}
        self.bytes_total = sum(self.sizes.values()) or 1
        self.bytes_done = 0
        self.pages = self.chunks = self.words = 0
        self.current: DocumentFile | None = None
        self.current_pages: int | None = None
        self.current_page: int | None = None
        self.counts = {"indexed": 0, "unchanged": 0, "skipped": 0, "failed": 0}
        self.finished: list[DocumentFile] = []

    @staticmethod
    def _size(file: DocumentFile) -> int:
        try:
            return file_signature(file.path)[0]
        except OSError:
            return file.size

    def report(self) -> None:
        within = 0.0
        if self.current is not None and self.current_pages and self.current_page:
            within = self.sizes.get(self.current.id, 0) * self.current_page / self.current_pages
        fraction = min(1.0, (self.bytes_done + within) / self.bytes_total)
        elapsed = time.perf_counter() - self.started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.02 and elapsed > 1 else None
        self.state.set_progress(
            IndexProgress(
                collection_id=self.collection_id,
                files_done=self.files_done,
                files_total=self.files_total,
                current_file=self.current.name if self.current else None,
                current_page=self.current_page,
                current_file_pages=self.current_pages,
                pages_done=self.pages,
                chunks_done=self.chunks,
                words_done=self.words,
                elapsed_s=elapsed,
                fraction=fraction,
                eta_s=eta,
            )
        )


class Indexer:
    """Indexes the pending files of a collection with its embedding model."""

    def __init__(
        self,
        store: IndexStore,
        embedder_for: Callable[[CollectionInfo], Embedder],
        *,
        pages: RecognisedPageStore | None = None,
        batch_chunks: int = BATCH_CHUNKS,
    ) -> None:
        self.store = store
        self.embedder_for = embedder_for
        self.pages = pages
        self.batch_chunks = batch_chunks

    def run(self, collection_id: int, state: IndexingState | None = None) -> IndexReport:
        """Index every pending or interrupted file; returns when done or cancelled."""
        with keeping_parsed_mail():  # an e-mail's attachments follow it: parse it once
            return self._run(collection_id, state)

    def _run(self, collection_id: int, state: IndexingState | None) -> IndexReport:
        state = state or IndexingState()
        collection = self.store.get_collection(collection_id)
        embedder = self.embedder_for(collection)
        embed_before = embedder.embed_seconds
        if collection.embedding_dimension == 0:
            self.store.set_dimension(collection.id, embedder.dimension)
        files = self.store.files(collection.id, statuses=(FileStatus.PENDING, FileStatus.INDEXING))
        run = _Run(collection.id, files, state)
        cancelled = False
        run.report()
        queue = list(files)
        while queue:
            listed = queue.pop(0)
            if state.is_interruption_requested():
                cancelled = True
                break
            # Read again: the person may have removed it from the collection meanwhile.
            file = self._still_there(listed.id)
            done: DocumentFile | None = None
            if file is not None:
                run.current, run.current_page, run.current_pages = file, None, None
                run.report()
                try:
                    outcome = self._index_file(collection, file, embedder, run)
                except _Cancelled:
                    cancelled = True
                    stopped = self._still_there(file.id)
                    if stopped is not None:
                        state.file_finished(stopped)
                    break
                except FileRemovedError:
                    log.info("%s was removed from its collection while being indexed", file.path)
                else:
                    done = self._still_there(file.id)
                    if done is not None:
                        run.counts[outcome] += 1
            run.files_done += 1
            run.bytes_done += run.sizes.get(listed.id, 0)
            if done is not None:
                run.finished.append(done)
                state.file_finished(done)
                # An e-mail's attachments are indexed right after it.
                waiting = [
                    a
                    for a in self.store.attachments(done.id)
                    if a.status in (FileStatus.PENDING, FileStatus.INDEXING)
                    and all(a.id != q.id for q in queue)
                ]
                for attachment in waiting:
                    run.sizes[attachment.id] = 1
                run.files_total += len(waiting)
                queue[:0] = waiting
            run.current = None
            run.report()
        return IndexReport(
            collection_id=collection.id,
            indexed=run.counts["indexed"],
            unchanged=run.counts["unchanged"],
            skipped=run.counts["skipped"],
            failed=run.counts["failed"],
            pages=run.pages,
            chunks=run.chunks,
            words=run.words,
            seconds=time.perf_counter() - run.started,
            embed_seconds=embedder.embed_seconds - embed_before,
            cancelled=cancelled,
            files=tuple(run.finished),
        )

    def index_text(
        self,
        collection_id: int,
        file_id: int,
        blocks: Iterable[TextBlock],
        *,
        kind: str,
        pages: int,
        sha256: str,
        state: IndexingState | None = None,
    ) -> IndexReport:
        """Index a text kept elsewhere (the saved text of a file attached to a question, whose
        file may no longer exist) as the passages of the registered file `file_id`.

        Cancelled midway, the file stays "indexing", and a later call starts it over.
        """
        state = state or IndexingState()
        collection = self.store.get_collection(collection_id)
        embedder = self.embedder_for(collection)
        if collection.embedding_dimension == 0:
            self.store.set_dimension(collection.id, embedder.dimension)
        file = self.store.file(file_id)
        run = _Run(collection.id, [file], state)
        run.current, run.current_pages = file, pages or None
        self.store.clear_chunks(
            file.id,
            status=FileStatus.INDEXING,
            reason=None,
            sha256=sha256,
            kind=kind,
            pages=pages,
            indexed_at=None,
        )
        parsed = ParsedFile(file.path, kind, pages or None, iter(blocks))
        run.report()
        try:
            total_chunks, total_words = self._index_chunks(
                collection, file, parsed, embedder, run, 0
            )
        except (_Cancelled, EmbeddingCancelled):
            return IndexReport(collection_id=collection.id, cancelled=True)
        self.store.update_file(
            file.id,
            status=FileStatus.INDEXED,
            chunks=total_chunks,
            words=total_words,
            indexed_at=utcnow(),
        )
        run.files_done = 1
        run.counts["indexed"] = 1
        done = self.store.file(file.id)
        state.file_finished(done)
        run.current = None
        run.report()
        return IndexReport(
            collection_id=collection.id,
            indexed=1,
            pages=pages,
            chunks=run.chunks,
            words=run.words,
            seconds=time.perf_counter() - run.started,
            files=(done,),
        )

    # -- one file -------------------------------------------------------------------------------

    def _index_file(
        self, collection: CollectionInfo, file: DocumentFile, embedder: Embedder, run: _Run
    ) -> str:
        """Index one file; returns "indexed", "unchanged", "skipped" or "failed"."""
        data: bytes | None = None
        try:
            if file.parent_id is not None:
                data, size, mtime_ns = self._attachment_data(file)
            else:
                size, mtime_ns = file_signature(file.path)
            if (
                file.indexed_at is not None
                and file.status == FileStatus.PENDING
                and (size, mtime_ns) == (file.size, file.mtime_ns)
            ):
                self.store.update_file(file.id, status=FileStatus.INDEXED)
                return "unchanged"
            sha256 = sha256_of(file.path, run.state, data)
        except UnreadableFileError as error:
            return self._give_up(file, error)
        except FileNotFoundError:
            return self._give_up(file, vanished_error())
        except OSError as error:
            return self._give_up(
                file,
                UnreadableFileError(
                    f"The file could not be read ({error.strerror or error}).",
                    "Check that you may read it.",
                ),
            )
        if (
            sha256 == file.sha256
            and file.indexed_at is not None
            and file.status == FileStatus.PENDING
        ):
            self.store.update_file(file.id, status=FileStatus.INDEXED, size=size, mtime_ns=mtime_ns)
            return "unchanged"
        twin = self.store.file_with_content(collection.id, sha256, other_than=file.id)
        if twin is not None:
            self.store.clear_chunks(
                file.id,
                status=FileStatus.SKIPPED,
                reason=f"Same content as '{twin.name}', which is already in this collection.",
                sha256=sha256,
                size=size,
                mtime_ns=mtime_ns,
                indexed_at=None,
            )
            return "skipped"
        resume_from = 0
        if file.status == FileStatus.INDEXING and file.sha256 == sha256:
            resume_from = self.store.stored_chunk_count(file.id)
        try:
            parsed = open_document(file.path, data)
        except UnreadableFileError as error:
            return self._give_up(file, error, sha256=sha256, size=size, mtime_ns=mtime_ns)
        except Exception as error:  # a parser library failing on one odd file must not stop all
            log.exception("Opening %s failed", file.path)
            return self._give_up(
                file,
                UnreadableFileError(
                    f"The file could not be read ({type(error).__name__}).",
                    "It may be damaged; open it and save a new copy, then add that.",
                ),
                sha256=sha256,
                size=size,
                mtime_ns=mtime_ns,
            )
        if self.pages is not None:
            self.pages.forget_other_content(file.id, sha256)
        parsed.page_recogniser = self._page_recogniser(file, sha256, run)
        file_values = {
            "status": FileStatus.INDEXING,
            "reason": None,
            "sha256": sha256,
            "size": size,
            "mtime_ns": mtime_ns,
            "kind": parsed.kind,
            "pages": parsed.page_count or 0,
            "indexed_at": None,
            "pages_recognised": 0,
            "recognition_confidence": None,
        }
        if resume_from:
            self.store.update_file(file.id, **file_values)
            log.info("Resuming %s after chunk %d", file.path, resume_from)
        else:
            self.store.clear_chunks(file.id, **file_values)
        run.current_pages = parsed.page_count
        try:
            total_chunks, total_words = self._index_chunks(
                collection, file, parsed, embedder, run, resume_from
            )
        except (FileNotFoundError, PermissionError):
            return self._give_up(file, vanished_error(), sha256=sha256)
        except UnreadableFileError as error:
            return self._give_up(file, error, sha256=sha256)
        except (_Cancelled, EmbeddingCancelled):
            raise _Cancelled from None
        except FileRemovedError:
            raise  # the person took it out of the collection: nothing to give up on
        except ModelLoadError:
            raise  # the model, not this file, is the problem: stop the run, resumable
        except Exception as error:  # a parser library failing on one odd file must not stop all
            log.exception("Indexing %s failed", file.path)
            return self._give_up(
                file,
                UnreadableFileError(
                    f"The file could not be read ({type(error).__name__}).",
                    "It may be damaged; open it and save a new copy, then add that.",
                ),
                sha256=sha256,
            )
        if parsed.page_count:
            run.pages += parsed.page_count
        notes = self._register_attachments(file, parsed)
        recognition = {
            "pages_recognised": parsed.pages_recognised,
            "recognition_confidence": parsed.recognition_confidence,
        }
        if total_chunks == 0:
            no_text = NO_TEXT_PDF_REASON if parsed.kind in ("pdf", "image") else NO_TEXT_REASON
            if parsed.attachments:
                no_text = "The e-mail has no text of its own; its attachments are indexed."
            self.store.clear_chunks(
                file.id, status=FileStatus.SKIPPED, reason=no_text, **recognition
            )
            return "skipped"
        if parsed.pages_without_text:
            notes.insert(
                0,
                f"{parsed.pages_without_text} of {parsed.page_count} pages had no text "
                "and were left out",
            )
        if parsed.low_confidence_pages:
            low = parsed.low_confidence_pages
            pages = ", ".join(str(p) for p in low[:10]) + ("…" if len(low) > 10 else "")
            notes.append(
                f"low recognition confidence on page{'s' if len(low) > 1 else ''} {pages}: "
                "check those passages against the scan"
            )
        reason = "; ".join(notes) + "." if notes else None
        self.store.update_file(
            file.id,
            status=FileStatus.INDEXED,
            reason=reason[:1].upper() + reason[1:] if reason else None,
            chunks=total_chunks,
            words=total_words,
            indexed_at=utcnow(),
            **recognition,
        )
        return "indexed"

    # -- scans and e-mail ---------------------------------------------------------------------

    def _page_recogniser(
        self, file: DocumentFile, sha256: str, run: _Run
    ) -> Callable[[int, Callable[[], Image]], RecognisedPage]:
        """Recognise a page, or take it from the database when an earlier run did."""

        def recognise(number: int, render: Callable[[], Image]) -> RecognisedPage:
            if self.pages is not None:
                kept = self.pages.get(file.id, number, sha256)
                if kept is not None:
                    return kept
            run.current_page = number
            run.report()
            try:
                # Stop ends a page being read at once; pages already kept stay kept.
                page = shared_recogniser().recognise(render(), cancel=run.state.cancel)
            except RecognitionCancelled:
                raise _Cancelled from None
            if self.pages is not None:
                self.pages.put(file.id, number, sha256, page)
            return page

        return recognise

    def _attachment_data(self, file: DocumentFile) -> tuple[bytes, int, int]:
        """(bytes, size, the e-mail's mtime) of an attachment, read from its e-mail in memory."""
        data, mtime_ns = attachment_data(self.store, file)
        return data, len(data), mtime_ns

    def _register_attachments(self, file: DocumentFile, parsed: ParsedFile) -> list[str]:
        """Add an e-mail's attachments as files of their own; notes for its status."""
        if parsed.kind != "email":
            return []
        depth = 0
        parent_id = file.parent_id
        while parent_id is not None:
            depth += 1
            parent_id = self.store.file(parent_id).parent_id
        notes: list[str] = []
        kept: list[int] = []
        left_out = parsed.attachments_left_out
        if depth >= MAX_ATTACHMENT_DEPTH:
            left_out += len(parsed.attachments)
        else:
            for attachment in parsed.attachments:
                name = f"{attachment.name}, {attachment.label}"
                kept.append(
                    self.store.upsert_attachment(file, attachment.member, attachment.name, name).id
                )
        self.store.remove_attachments(file.id, keep=kept)
        if kept:
            notes.append(f"{len(kept)} attachment{'s' if len(kept) > 1 else ''} indexed separately")
        if left_out:
            notes.append(
                f"{left_out} attachment{'s' if left_out > 1 else ''} left out (e-mails attached "
                f"more than {MAX_ATTACHMENT_DEPTH} deep, or too many)"
            )
        return notes

    def _index_chunks(
        self,
        collection: CollectionInfo,
        file: DocumentFile,
        parsed: ParsedFile,
        embedder: Embedder,
        run: _Run,
        resume_from: int,
    ) -> tuple[int, int]:
        """Embed and store the file's chunks from `resume_from` on; (chunks, words) in all."""
        batch: list[Chunk] = []
        total_chunks = 0
        total_words = 0

        def flush() -> None:
            vectors = embedder.embed_documents(
                [c.embedding_text for c in batch], cancel=run.state.cancel
            )
            self.store.add_chunks(
                collection.id,
                file.id,
                batch,
                vectors,
                chunks=total_chunks,
                words=total_words,
            )
            run.chunks += len(batch)
            run.words += sum(c.word_count for c in batch)
            if batch[-1].page is not None:
                run.current_page = max(run.current_page or 0, batch[-1].page)
            batch.clear()
            run.report()

        last_report = time.perf_counter()

        def on_page(page: int) -> None:
            nonlocal last_report
            if run.state.is_interruption_requested():
                raise _Cancelled
            run.current_page = max(run.current_page or 0, page)
            if time.perf_counter() - last_report > PROGRESS_SECONDS:
                last_report = time.perf_counter()
                run.report()

        parsed.on_page = on_page
        chunks = chunk_blocks(
            parsed.blocks(), max_tokens=collection.chunk_tokens, count_tokens=embedder.count_tokens
        )
        for chunk in chunks:
            total_chunks += 1
            total_words += chunk.word_count
            if chunk.ordinal < resume_from:
                continue
            batch.append(chunk)
            if len(batch) >= self.batch_chunks:
                if run.state.is_interruption_requested():
                    raise _Cancelled
                flush()
        if batch:
            if run.state.is_interruption_requested():
                raise _Cancelled
            flush()
        return total_chunks, total_words

    def _still_there(self, file_id: int) -> DocumentFile | None:
        """The file as stored now, or None once it was removed from its collection."""
        try:
            return self.store.file(file_id)
        except NotFoundError:
            return None

    def _give_up(self, file: DocumentFile, error: UnreadableFileError, **values: object) -> str:
        status = FileStatus.SKIPPED if error.status != FileStatus.FAILED else FileStatus.FAILED
        self.store.clear_chunks(
            file.id, status=status, reason=error.message, indexed_at=None, **values
        )
        return "skipped" if status == FileStatus.SKIPPED else "failed"
