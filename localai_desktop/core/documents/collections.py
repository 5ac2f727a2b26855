"""``DocumentLibrary``: the one object the CLI, the chat and the Documents tab use for documents.

Typical use (the GUI runs ``index`` on a worker thread and wraps ``IndexingState``)::

    library = DocumentLibrary(db, registry)
    library.create("Guidelines", embedding_model="all-MiniLM-L6-v2")
    library.add_paths("Guidelines", [Path("~/Documents/guidelines")])
    report = library.index("Guidelines", IndexingState(on_progress=..., on_file=...))
    hits = library.search(["Guidelines"], "first-line treatment for sepsis", k=5)
    context = library.passage_context(hits[0].chunk_id)   # for the source viewer

Everything returned is plain, frozen data. Embedding models are loaded once per file and shared
(``Embedder`` serializes its own calls), so indexing and a chat's query can run at once.
"""

from __future__ import annotations

import builtins
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from localai_desktop.core.audit.entries import COLLECTION_DELETED, DOCUMENT_REMOVED
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.documents.blocks import TextBlock
from localai_desktop.core.documents.chunking import chunk_tokens_for
from localai_desktop.core.documents.embedder import Embedder
from localai_desktop.core.documents.index_store import (
    CollectionInfo,
    DocumentFile,
    FileStatus,
    IndexStore,
    StoredChunk,
    file_signature,
)
from localai_desktop.core.documents.indexer import Indexer, IndexingState, IndexReport
from localai_desktop.core.documents.ocr import shared_recogniser
from localai_desktop.core.documents.page_view import PageImage, render_page
from localai_desktop.core.documents.parsers import SUPPORTED_SUFFIXES
from localai_desktop.core.documents.recognised_pages import RecognisedPageStore
from localai_desktop.core.documents.retrieval import Retriever, SearchHit
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.storage.db import Database

log = logging.getLogger(__name__)

# Files a folder scan picks up: what can be indexed, plus old .doc files so that the person
# sees why they were left out instead of wondering.
_FOLDER_SUFFIXES = SUPPORTED_SUFFIXES | {".doc"}


@dataclass(frozen=True)
class AddResult:
    """What adding paths did: files now waiting for indexing, files dropped, paths not found."""

    pending: tuple[DocumentFile, ...] = ()
    removed: tuple[Path, ...] = ()
    not_found: tuple[Path, ...] = ()


@dataclass(frozen=True)
class PassageContext:
    """A passage inside its surrounding text: ``text[start:end]`` is the passage itself."""

    passage: StoredChunk
    text: str
    start: int
    end: int
    chunks: tuple[StoredChunk, ...] = field(default=())


def conversation_collection_name(conversation_id: int) -> str:
    """The inner name of a conversation's own collection of attached files (never shown)."""
    return f"Files attached to conversation {conversation_id}"


class DocumentLibrary:
    """Document collections: create, add files, index, search. Thread-safe."""

    def __init__(
        self, db: Database, registry: ModelRegistry, audit: AuditTrail | None = None
    ) -> None:
        self.store = IndexStore(db)
        self.registry = registry
        self._audit = audit  # records deleted collections and removed documents
        self._embedders: dict[Path, Embedder] = {}
        self._lock = threading.Lock()
        self._indexing: set[int] = set()
        self.pages = RecognisedPageStore(db)
        self.indexer = Indexer(self.store, self.embedder_for, pages=self.pages)
        self.retriever = Retriever(self.store, self.embedder_for)

    # -- collections --------------------------------------------------------------------------

    def embedding_models(self) -> list[LocalModel]:
        return [m for m in self.registry.list() if m.is_embedding_model]

    def create(self, name: str, *, embedding_model: str | int | None = None) -> CollectionInfo:
        """A new, empty collection; the embedding model defaults to the only one there is."""
        model = self._choose_embedding_model(embedding_model)
        return self.store.create_collection(
            name,
            model_id=model.id,
            model_name=model.name,
            model_sha256=model.sha256,
            chunk_tokens=chunk_tokens_for(model.context_length or 512),
        )

    def get(self, name_or_id: str | int) -> CollectionInfo:
        return self.store.get_collection(name_or_id)

    def conversation_collection(self, conversation_id: int) -> CollectionInfo:
        """The conversation's own collection of attached files (made when first needed; not
        listed among collections, and gone with the conversation's attachments)."""
        name = conversation_collection_name(conversation_id)
        try:
            return self.get(name)
        except NotFoundError:
            pass
        collection = self.create(name)
        self.store.mark_conversation_collection(collection.id, conversation_id)
        return collection

    def list(self) -> list[CollectionInfo]:
        return self.store.list_collections()

    def rename(self, name_or_id: str | int, new_name: str) -> CollectionInfo:
        """Give a collection another name; its index and the chats using it stay as they are."""
        return self.store.rename_collection(self.get(name_or_id).id, new_name)

    def delete(self, name_or_id: str | int) -> CollectionInfo:
        """Forget a collection and its index; the documents themselves are never touched."""
        collection = self.get(name_or_id)
        documents = self.store.files(collection.id)
        self.store.delete_collection(collection.id)
        self.retriever.forget(collection.id)
        if self._audit is not None:
            self._audit.record(
                COLLECTION_DELETED,
                collection_id=collection.id,
                documents=len(documents),
                file_sha256s=sorted({f.sha256 for f in documents if f.sha256}),
            )
        return collection

    def files(self, name_or_id: str | int) -> builtins.list[DocumentFile]:
        return self.store.files(self.get(name_or_id).id)

    # -- files --------------------------------------------------------------------------------

    def add_paths(
        self, name_or_id: str | int, paths: Iterable[str | os.PathLike[str]]
    ) -> AddResult:
        """Register files and folders (searched recursively) for indexing.

        Files already in the collection are re-checked when indexed (an unchanged file costs a
        hash); files that disappeared from an added folder are dropped with their passages.
        """
        collection = self.get(name_or_id)
        pending: list[DocumentFile] = []
        removed: list[Path] = []
        not_found: list[Path] = []
        for raw in paths:
            path = Path(raw).expanduser().resolve()
            if path.is_dir():
                found = set(_scan_folder(path))
                for file_path in sorted(found):
                    pending.append(self.store.upsert_file(collection.id, file_path, path))
                for known in self.store.files(collection.id):
                    if known.is_attachment:
                        continue  # it goes with its e-mail
                    gone = known.path not in found and not known.path.exists()
                    if gone and _is_under(known.path, path):
                        self.store.remove_file(known.id)
                        removed.append(known.path)
            elif path.is_file():
                pending.append(self.store.upsert_file(collection.id, path, None))
            else:
                not_found.append(path)
        return AddResult(tuple(pending), tuple(removed), tuple(not_found))

    def refresh(self, name_or_id: str | int) -> AddResult:
        """Look again at every file: drop deleted ones, queue changed ones and new folder files."""
        collection = self.get(name_or_id)
        removed: list[Path] = []
        pending: list[DocumentFile] = []
        folders: set[Path] = set()
        for file in self.store.files(collection.id):
            if file.is_attachment:
                continue  # looked at again with its e-mail
            if file.folder is not None:
                folders.add(file.folder)
            if not file.path.exists():
                self.store.remove_file(file.id)
                removed.append(file.path)
                continue
            try:
                signature = file_signature(file.path)
            except OSError:
                signature = (-1, -1)
            if file.status != FileStatus.INDEXED or signature != (file.size, file.mtime_ns):
                pending.append(self.store.upsert_file(collection.id, file.path, file.folder))
        known = {f.path for f in self.store.files(collection.id)}
        for folder in sorted(folders):
            if folder.is_dir():
                for path in _scan_folder(folder):
                    if path not in known:
                        pending.append(self.store.upsert_file(collection.id, path, folder))
        return AddResult(tuple(pending), tuple(removed), ())

    def remove_file(self, name_or_id: str | int, path: str | os.PathLike[str]) -> DocumentFile:
        collection = self.get(name_or_id)
        wanted = Path(path).expanduser().resolve()
        for file in self.store.files(collection.id):
            if file.path == wanted or str(file.id) == str(path):
                self.store.remove_file(file.id)
                if self._audit is not None:
                    self._audit.record(
                        DOCUMENT_REMOVED,
                        collection_id=collection.id,
                        file_id=file.id,
                        file_sha256=file.sha256,
                    )
                return file
        raise NotFoundError(
            f"'{path}' is not in the collection '{collection.name}'.",
            f"See its files with 'localai docs status {collection.name}'.",
        )

    def remove_files(
        self, name_or_id: str | int, files: Sequence[int | str | os.PathLike[str]]
    ) -> builtins.list[DocumentFile]:
        """Take files out of a collection: their passages, vectors and keyword index go with
        them, all in one transaction. The files on disk are never touched.

        Each of `files` is a file id (int), a path, or a file name as the collection lists it.
        Nothing is removed unless every one is found. An indexing run of the collection skips
        them (the index store refuses passages of a removed file); answers that quoted them
        keep their quotes, which are stored with the answer.
        """
        collection = self.get(name_or_id)
        chosen = _find_files(collection, self.store.files(collection.id), files)
        removed = self.store.remove_files([f.id for f in chosen], audit=self._audit)
        if removed:
            log.info("Removed %d document(s) from collection %d", len(removed), collection.id)
        return removed

    def index(self, name_or_id: str | int, state: IndexingState | None = None) -> IndexReport:
        """Index what is pending (blocking; cancel through ``state``).

        One run per collection at a time: a second one while the first runs is refused. Files
        added while a run is going wait for the next run.
        """
        collection = self.get(name_or_id)
        with self._one_run(collection):
            return self.indexer.run(collection.id, state)

    def index_saved_text(
        self,
        name_or_id: str | int,
        path: Path,
        blocks: Iterable[TextBlock],
        *,
        kind: str,
        pages: int,
        sha256: str,
        state: IndexingState | None = None,
    ) -> IndexReport:
        """Index text kept in the database (a file attached to a question, which may exist
        nowhere on disk) under the name `path`; one run per collection at a time, as `index`."""
        collection = self.get(name_or_id)
        with self._one_run(collection):
            file = self.store.upsert_file(collection.id, path, None)
            return self.indexer.index_text(
                collection.id, file.id, blocks, kind=kind, pages=pages, sha256=sha256, state=state
            )

    @contextmanager
    def _one_run(self, collection: CollectionInfo) -> Iterator[None]:
        """One indexing run per collection at a time: a second one while the first runs is
        refused."""
        with self._lock:
            if collection.id in self._indexing:
                raise LocalAIError(
                    f"The collection '{collection.name}' is already being indexed.",
                    "Wait for it to finish; new files are picked up by the next run.",
                )
            self._indexing.add(collection.id)
        try:
            yield
        finally:
            with self._lock:
                self._indexing.discard(collection.id)

    # -- search -------------------------------------------------------------------------------

    def search(
        self,
        names_or_ids: Sequence[str | int],
        query: str,
        *,
        k: int = 5,
        mode: str = "hybrid",
    ) -> builtins.list[SearchHit]:
        collections = [self.store.get_collection(n, counts=False) for n in names_or_ids]
        return self.retriever.search(collections, query, k=k, mode=mode)

    def passage_context(self, chunk_id: int, *, around: int = 2) -> PassageContext:
        """The passage with up to `around` passages of its file before and after it."""
        chunks = self.store.neighbours(chunk_id, around, around)
        parts: list[str] = []
        start = end = 0
        passage = next(c for c in chunks if c.id == chunk_id)
        position = 0
        for chunk in chunks:
            if parts:
                position += 2
            if chunk.id == chunk_id:
                start, end = position, position + len(chunk.text)
            parts.append(chunk.text)
            position += len(chunk.text)
        return PassageContext(passage, "\n\n".join(parts), start, end, tuple(chunks))

    def page_image(self, chunk_id: int) -> PageImage | None:
        """The page a recognised passage sits on, rendered now, with the passage's box; None for
        a passage read from a text layer or a file without pages. Slow (tens of milliseconds to
        a second): call it off the GUI thread."""
        chunk = self.store.chunks([chunk_id]).get(chunk_id)
        if chunk is None or chunk.page is None or chunk.box is None:
            return None
        file = self.store.file(chunk.file_id)
        try:
            image = render_page(self.store, file, chunk.page)
        except (OSError, ValueError, LocalAIError) as error:
            log.info("The page of passage %d could not be rendered: %s", chunk_id, error)
            return None
        except Exception:  # a damaged file the parser libraries choke on: no picture, no crash
            log.exception("Rendering the page of passage %d failed", chunk_id)
            return None
        return PageImage(image, chunk.page, chunk.box)

    # -- embedding models ---------------------------------------------------------------------

    def embedder_for(self, collection: CollectionInfo) -> Embedder:
        """The loaded (or loadable) embedding model a collection was indexed with."""
        return self.embedder_for_model(self._collection_model(collection))

    def embedder_for_model(self, model: LocalModel) -> Embedder:
        """The loaded (or loadable) embedder of an embedding model, shared with searches."""
        with self._lock:
            embedder = self._embedders.get(model.path)
            if embedder is None:
                embedder = Embedder(model.path)
                self._embedders[model.path] = embedder
            return embedder

    def close(self) -> None:
        with self._lock:
            embedders = list(self._embedders.values())
            self._embedders.clear()
        for embedder in embedders:
            embedder.close()
        self.retriever.close()
        shared_recogniser().close()  # ends the text-recognition child, if one was started

    def _collection_model(self, collection: CollectionInfo) -> LocalModel:
        candidates = [
            m for m in self.registry.list() if m.sha256 == collection.embedding_model_sha256
        ]
        if not candidates:
            raise NotFoundError(
                f"The embedding model '{collection.embedding_model_name}' of the collection "
                f"'{collection.name}' is no longer in your models.",
                "Import the same model file again to search or add to this collection.",
            )
        present = [m for m in candidates if m.file_exists]
        if not present:
            raise NotFoundError(
                f"The file of the embedding model '{collection.embedding_model_name}' is "
                f"missing ({candidates[0].path}).",
                "Put the file back, or import the same model file again.",
            )
        return present[0]

    def _choose_embedding_model(self, wanted: str | int | None) -> LocalModel:
        if wanted is not None:
            model = self.registry.get(wanted)
            if not model.is_embedding_model:
                raise LocalAIError(
                    f"'{model.name}' is a chat model, not an embedding model.",
                    "Choose an embedding model (for example all-MiniLM-L6-v2 or BGE Small); "
                    "see them with 'localai models list'.",
                )
            return model
        models = self.embedding_models()
        if len(models) == 1:
            return models[0]
        if not models:
            raise LocalAIError(
                "Searching documents needs an embedding model, and you have none yet.",
                "Download one (for example BGE Small English) or import a GGUF embedding model.",
            )
        names = ", ".join(m.name for m in models)
        raise LocalAIError(
            f"You have several embedding models ({names}).",
            "Say which one this collection should use (--embedding-model NAME).",
        )


def _find_files(
    collection: CollectionInfo,
    known: Sequence[DocumentFile],
    wanted: Sequence[int | str | os.PathLike[str]],
) -> list[DocumentFile]:
    """The collection's files that `wanted` names (ids, paths or names), each once."""
    by_id = {f.id: f for f in known}
    found: dict[int, DocumentFile] = {}
    for ref in wanted:
        if isinstance(ref, int):
            match = by_id.get(ref)
            matches = [match] if match is not None else []
        else:
            path = Path(ref).expanduser()
            matches = [f for f in known if f.path == path.resolve()]
            if not matches:
                matches = [f for f in known if f.name == str(ref)]
        if not matches and isinstance(ref, int):
            raise NotFoundError(
                f"A document you chose is no longer in the collection '{collection.name}'; "
                "nothing was removed.",
                "Look at the collection's list of documents again and choose anew.",
            )
        if not matches:
            raise NotFoundError(
                f"'{ref}' is not in the collection '{collection.name}'; nothing was removed.",
                f"See its files with 'localai docs status \"{collection.name}\"'.",
            )
        if len(matches) > 1:
            places = ", ".join(str(f.path) for f in matches)
            raise LocalAIError(
                f"Several files of '{collection.name}' are called '{ref}' ({places}); "
                "nothing was removed.",
                "Give the full path of the one to remove.",
            )
        found[matches[0].id] = matches[0]
    return list(found.values())


def _scan_folder(folder: Path) -> Iterable[Path]:
    for root, dirs, names in os.walk(folder):
        # Hidden folders (.git, .venv) and Office's "~$" lock files are not documents.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith((".", "~$")):
                continue
            path = Path(root) / name
            if path.suffix.lower() in _FOLDER_SUFFIXES and path.is_file():
                yield path.resolve()


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True
