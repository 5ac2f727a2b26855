"""Hybrid search over collections: FTS5 BM25 plus vector similarity, fused by rank (RRF).

Keyword search finds exact names, numbers and rare terms (a case number, a drug code); vector
search finds paraphrases ("kidney function" for "renal impairment"). Reciprocal rank fusion
adds 1 / (k + rank) from each list, so a passage both lists like rises to the top without
comparing their incomparable scores. Each hit also carries its cosine similarity to the query,
which decides whether it is relevant at all: when nothing is, the chat tells the model so.
Similarities mean different things for different models (unrelated text scores about 0.15 with
MiniLM and about 0.5 with BGE), so relevance is measured above each collection's noise floor:
what a set of off-topic probe questions reach in it.

Vectors are float32 blobs in SQLite, read once per collection into one numpy matrix and kept
in memory until the collection's revision changes; a search is one matrix-vector product.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localai_desktop.core.documents.embedder import Embedder
from localai_desktop.core.documents.index_store import CollectionInfo, IndexStore, phrase

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are used: 0.15 s at start-up

MODES = ("hybrid", "bm25", "vector")
# The fusion constant. The RRF paper's 60 suits long TREC runs; with 50 candidates a list and
# the top 5 used, a smaller constant lets each list's first places count for more. On
# bench/documents_eval (60 questions) k=10 gives recall@5 0.92 against 0.85 with k=60.
RRF_K = 10
# Candidates taken from each list before fusing.
CANDIDATES = 50
# Questions no document collection is likely to answer (and unlike the bench's unrelated
# questions). The second-highest similarity they reach in a collection is its noise floor (the
# highest is ignored in case one probe happens to be on topic).
OFF_TOPIC_PROBES = (
    "What is the capital of Australia?",
    "Who painted the Mona Lisa?",
    "How tall is Mount Everest?",
    "Which film should I watch tonight?",
    "How do I reset my wifi router?",
    "What is a good recipe for pancakes?",
    "Which is the largest planet in the solar system?",
    "How do I learn to play the guitar?",
    "What did the dinosaurs eat?",
    "Where can I buy cheap running shoes?",
    "How many legs does a spider have?",
    "What is the best way to learn Spanish?",
)
# A passage is relevant when it clears the noise floor by this much; a keyword match only has
# to reach the floor, since the question's own words are in it. On bench/documents_eval with
# MiniLM: the floor is about 0.17, unrelated questions stay below 0.2, answers mostly above.
RELEVANCE_MARGIN = 0.06
KEYWORD_RELEVANCE_MARGIN = 0.0
# BM25 scores every passage that holds any of the query's words, about 1.5 microseconds each:
# at 100k passages a question with a few everyday words matches 20,000 of them. Above this many
# matches in all, words found in more than COMMON_WORD_SHARE of all passages only add to the
# score of passages that hold a rarer word of the question (see bm25_ranked).
SPLIT_ABOVE_MATCHES = 5_000
COMMON_WORD_SHARE = 0.01

# Words too common to help keyword search; leaving them out keeps FTS5 fast on big
# collections.
_STOPWORD_TEXT = """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more
    most my no nor not now of off on once only or other our ours out over own same she should so
    some such than that the their theirs them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would
    you your yours"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchHit:
    """One passage found for a query, with everything a citation or a source card shows."""

    rank: int  # 1 = best
    chunk_id: int
    collection_id: int
    collection_name: str
    file_id: int
    file_path: Path
    page: int | None
    heading: str | None
    text: str
    score: float  # fused score (higher is better)
    similarity: float  # cosine similarity to the query
    keyword_rank: int | None
    vector_rank: int | None
    relevant: bool
    file_sha256: str | None = None  # the file as indexed (an answer's audit entry cites it)
    display_name: str | None = None  # an attachment: "lab.pdf, in e-mail Results (date)"
    noise_floor: float = 0.0  # what off-topic questions reach in its collection (see search)

    @property
    def file_name(self) -> str:
        return self.display_name or self.file_path.name

    @property
    def location(self) -> str:
        """ "report.pdf, page 7" or "notes.md, section 'Dosage'"."""
        if self.display_name:
            page = f", page {self.page}" if self.page is not None else ""
            return f"{self.display_name}{page}"
        if self.page is not None:
            return f"{self.file_name}, page {self.page}"
        if self.heading:
            return f"{self.file_name}, section '{self.heading}'"
        return self.file_name

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "chunk_id": self.chunk_id,
            "collection": self.collection_name,
            "file": str(self.file_path),
            "file_name": self.file_name,
            "page": self.page,
            "heading": self.heading,
            "text": self.text,
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 4),
            "keyword_rank": self.keyword_rank,
            "vector_rank": self.vector_rank,
            "relevant": self.relevant,
        }


def keyword_terms(text: str) -> list[str]:
    """The meaningful words of free text, once each, in order."""
    terms: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()) or word in terms:
            continue
        terms.append(word)
    return terms


def any_of(terms: Sequence[str]) -> str:
    """An FTS5 query matching passages with any of the words."""
    return " OR ".join(phrase(term) for term in terms)


def keyword_query(text: str) -> str:
    """An FTS5 query from free text: each meaningful word quoted, any of them may match."""
    return any_of(keyword_terms(text))


@dataclass
class _Vectors:
    revision: int
    ids: np.ndarray
    matrix: np.ndarray
    noise_floor: float


class Retriever:
    """Searches collections; safe to call from any thread."""

    def __init__(
        self, store: IndexStore, embedder_for: Callable[[CollectionInfo], Embedder]
    ) -> None:
        self.store = store
        self.embedder_for = embedder_for
        self._vectors: dict[int, _Vectors] = {}
        self._probes: dict[int, np.ndarray] = {}
        self._helper: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.last_timings: dict[str, float] = {}

    def search(
        self,
        collections: Sequence[CollectionInfo],
        query: str,
        *,
        k: int = 5,
        mode: str = "hybrid",
        candidates: int = CANDIDATES,
    ) -> list[SearchHit]:
        """The best `k` passages for `query` across `collections`, best first."""
        import numpy as np

        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        query = query.strip()
        if not query or not collections:
            return []
        started = time.perf_counter()
        by_id = {c.id: c for c in collections}
        candidates = max(candidates, k)
        loaded = {c.id: self._collection_vectors(c) for c in collections}
        # Keyword search (SQLite) runs on a helper thread while the query is embedded and the
        # vectors scanned (llama.cpp, BLAS): all three release the GIL, so on two cores the
        # search takes about as long as the longer of the two paths instead of their sum.
        keyword_task = self._keyword_helper().submit(
            self._timed_keyword_ranked, keyword_terms(query), loaded, candidates
        )
        similarities: dict[int, float] = {}
        vector_ranked: list[int] = []
        query_vectors: dict[int, np.ndarray] = {}
        by_embedder: dict[int, np.ndarray] = {}
        for collection in collections:
            # Collections sharing a model share the query's vector.
            embedder = self.embedder_for(collection)
            if id(embedder) not in by_embedder:
                by_embedder[id(embedder)] = embedder.embed_query(query)
            query_vectors[collection.id] = by_embedder[id(embedder)]
        embedded = time.perf_counter()
        pooled: list[tuple[float, int]] = []
        for collection in collections:
            vectors = loaded[collection.id]
            if not len(vectors.ids):
                continue
            scores = vectors.matrix @ query_vectors[collection.id]
            take = min(candidates, len(scores))
            top = np.argpartition(-scores, take - 1)[:take]
            pooled.extend((float(scores[i]), int(vectors.ids[i])) for i in top)
        pooled.sort(reverse=True)
        for score, chunk_id in pooled[:candidates]:
            similarities[chunk_id] = score
            vector_ranked.append(chunk_id)
        vector_done = time.perf_counter()
        keyword_ranked, keyword_seconds = keyword_task.result()
        if mode == "bm25":
            vector_ranked = []
        elif mode == "vector":
            keyword_ranked = []
        fused: dict[int, float] = {}
        for ranking in (keyword_ranked, vector_ranked):
            for position, chunk_id in enumerate(ranking, start=1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + position)
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        stored = self.store.chunks(best)
        keyword_rank = {cid: i for i, cid in enumerate(keyword_ranked, start=1)}
        vector_rank = {cid: i for i, cid in enumerate(vector_ranked, start=1)}
        hits: list[SearchHit] = []
        for chunk_id in best:
            chunk = stored.get(chunk_id)
            if chunk is None:  # deleted between the ranking and now
                continue
            collection = by_id[chunk.collection_id]
            similarity = similarities.get(chunk_id)
            if similarity is None:
                similarity = _similarity(
                    loaded[collection.id], chunk_id, query_vectors[collection.id]
                )
            floor = loaded[collection.id].noise_floor
            relevant = similarity >= floor + RELEVANCE_MARGIN or (
                chunk_id in keyword_rank and similarity >= floor + KEYWORD_RELEVANCE_MARGIN
            )
            hits.append(
                SearchHit(
                    rank=len(hits) + 1,
                    chunk_id=chunk_id,
                    collection_id=collection.id,
                    collection_name=collection.name,
                    file_id=chunk.file_id,
                    file_path=chunk.file_path,
                    page=chunk.page,
                    heading=chunk.heading,
                    text=chunk.text,
                    score=fused[chunk_id],
                    similarity=similarity,
                    keyword_rank=keyword_rank.get(chunk_id),
                    vector_rank=vector_rank.get(chunk_id),
                    relevant=relevant,
                    file_sha256=chunk.file_sha256,
                    display_name=chunk.display_name,
                    noise_floor=floor,
                )
            )
        self.last_timings = {
            "embed_query_ms": (embedded - started) * 1000,
            "vector_ms": (vector_done - embedded) * 1000,
            "keyword_ms": keyword_seconds * 1000,
            "total_ms": (time.perf_counter() - started) * 1000,
        }
        return hits

    def _timed_keyword_ranked(
        self, terms: list[str], loaded: dict[int, _Vectors], candidates: int
    ) -> tuple[list[int], float]:
        started = time.perf_counter()
        ranked = self._keyword_ranked(terms, loaded, candidates)
        return ranked, time.perf_counter() - started

    def close(self) -> None:
        """Stop the helper threads (a later search starts them again)."""
        with self._lock:
            helper, self._helper = self._helper, None
        if helper is not None:
            helper.shutdown(wait=True)

    def _keyword_helper(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._helper is None:
                self._helper = ThreadPoolExecutor(
                    max_workers=2, thread_name_prefix="keyword-search"
                )
            return self._helper

    def _keyword_ranked(
        self, terms: list[str], loaded: dict[int, _Vectors], candidates: int
    ) -> list[int]:
        """The best keyword matches in the collections searched, best first.

        FTS5 ranks the matches of the whole index quickly; joining every match to its chunk
        row to filter by collection costs three times as much at 100k chunks. So the ranking
        comes from the index alone and is filtered against the chunk ids already in memory;
        only when other collections crowd out these does SQLite filter instead.
        """
        import numpy as np

        if not terms:
            return []
        counts, passages = self.store.passages_with_terms(terms)
        fetch = candidates * 4
        ranked = bm25_ranked(self.store.keyword_search_everywhere, terms, counts, passages, fetch)
        found = np.asarray([chunk_id for chunk_id, _ in ranked], dtype=np.int64)
        member = np.zeros(len(found), dtype=bool)
        for vectors in loaded.values():
            if len(vectors.ids):
                # The ids are sorted: a binary search per match, not a pass over 100k ids.
                at = np.minimum(np.searchsorted(vectors.ids, found), len(vectors.ids) - 1)
                member |= vectors.ids[at] == found
        inside = found[member]
        if len(inside) >= candidates or len(ranked) < fetch:
            return [int(i) for i in inside[:candidates]]

        def in_collections(fts_query: str, limit: int) -> list[tuple[int, float]]:
            return self.store.keyword_search(list(loaded), fts_query, limit)

        ranked = bm25_ranked(in_collections, terms, counts, passages, candidates)
        return [chunk_id for chunk_id, _ in ranked]

    def forget(self, collection_id: int) -> None:
        """Drop a collection's cached vectors (after it was deleted)."""
        with self._lock:
            self._vectors.pop(collection_id, None)

    def _collection_vectors(self, collection: CollectionInfo) -> _Vectors:
        revision = self.store.revision(collection.id)
        with self._lock:
            cached = self._vectors.get(collection.id)
            if cached is not None and cached.revision == revision:
                return cached
        ids, matrix = self.store.load_vectors(collection.id, collection.embedding_dimension)
        loaded = _Vectors(revision, ids, matrix, self._noise_floor(collection, matrix))
        with self._lock:
            self._vectors[collection.id] = loaded
        return loaded

    def _noise_floor(self, collection: CollectionInfo, matrix: np.ndarray) -> float:
        import numpy as np

        if not len(matrix):
            return 0.0
        embedder = self.embedder_for(collection)
        with self._lock:
            probes = self._probes.get(id(embedder))
        if probes is None:
            probes = np.vstack([embedder.embed_query(p) for p in OFF_TOPIC_PROBES])
            with self._lock:
                self._probes[id(embedder)] = probes
        # In slices, so a big collection never needs a big temporary matrix.
        best = np.full(len(probes), -1.0, dtype=np.float32)
        for start in range(0, len(matrix), 20_000):
            block = matrix[start : start + 20_000] @ probes.T
            best = np.maximum(best, block.max(axis=0))
        return float(np.sort(best)[-2])


def bm25_ranked(
    search: Callable[[str, int], list[tuple[int, float]]],
    terms: Sequence[str],
    counts: Sequence[int],
    passages: int,
    limit: int,
) -> list[tuple[int, float]]:
    """The `limit` best BM25 matches for any of `terms`: (chunk id, score; lower is better).

    When the words match few passages in all, this is one query. Otherwise the words split
    into rare and common ones (held by more than COMMON_WORD_SHARE of the passages), as in
    Lucene's "common terms" query: only passages with a rare word are ranked, by the score of
    all the words, so a passage holding just everyday words of the question is left out. BM25
    adds one part per word, so two cheap queries give exactly the full query's scores:
    passages with rare and common words are scored by "(rare) AND (common)", the others by
    "rare" alone. A passage that has a common word too but is not among the first of the AND
    query scores lower there than all of those, so taking its rare-words score cannot lift it
    into the result.
    """
    # A word no passage holds adds nothing to any score; left in, it would count as rare.
    held = [(term, count) for term, count in zip(terms, counts, strict=True) if count]
    if not held:
        return []
    if sum(count for _, count in held) <= SPLIT_ABOVE_MATCHES:
        return search(any_of([term for term, _ in held]), limit)
    cutoff = COMMON_WORD_SHARE * passages
    rare = [term for term, count in held if count <= cutoff]
    common = [term for term, count in held if count > cutoff]
    if not rare or not common:
        return search(any_of([term for term, _ in held]), limit)
    scores = dict(search(any_of(rare), limit))
    scores.update(search(f"({any_of(rare)}) AND ({any_of(common)})", limit))
    return sorted(scores.items(), key=lambda item: (item[1], item[0]))[:limit]


def _similarity(vectors: _Vectors, chunk_id: int, query: np.ndarray) -> float:
    import numpy as np

    index = int(np.searchsorted(vectors.ids, chunk_id))
    if index < len(vectors.ids) and vectors.ids[index] == chunk_id:
        return float(vectors.matrix[index] @ query)
    return 0.0
