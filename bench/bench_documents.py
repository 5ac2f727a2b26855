"""Document search: quality (recall@5, MRR), indexing overhead, retrieval latency at 10k/100k.

Run by hand: `.venv/bin/python bench/bench_documents.py` (about 10 minutes on 2 cores;
`--sizes 10000` for a quick look). Three parts, each against a baseline measured in this run:

1. Quality on bench/documents_eval.py's set (60 questions, 12 files): BM25 alone, vectors
   alone and hybrid (reciprocal rank fusion), by the app's own `Retriever`.
2. Indexing throughput (pages/s, words/s) of `DocumentLibrary.index` on that set, next to the
   raw throughput of the same embedding model embedding the same passages (measured before and
   after indexing; the mean is the baseline). Overhead = parsing, chunking and storage.
3. Retrieval latency (query embedding + BM25 + vectors + fusion + fetching the passages) at 10k
   and 100k chunks: the eval passages plus synthetic ones (filler text from the eval's
   vocabulary, random unit vectors: the cost of a search does not depend on their values).
   The vector part is also timed with sqlite-vec (vec0, exact KNN) on the same vectors. Without
   --latency-only, recall@5 and MRR of the eval's questions are measured again at each size
   (the answers now compete with the synthetic passages).
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
from documents_eval import Question, write_eval_set

from localai_desktop.core.documents import retrieval
from localai_desktop.core.documents.chunking import Chunk
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database

MINILM = benchlib.SHARED_MODELS / "all-MiniLM-L6-v2-Q8_0.gguf"
UNRELATED = (
    "What is the capital city of Mongolia?",
    "How do I bake sourdough bread at home?",
    "Who won the football world cup in 1966?",
    "What is the boiling point of ethanol?",
    "How many moons does Jupiter have?",
    "Recommend a good novel for a long flight.",
    "How do I change a bicycle tyre?",
    "What time zone is New Zealand in?",
)


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def answer_rank(hits: list[Any], question: Question) -> int | None:
    sentence = _norm(question.sentence)[:80]
    for hit in hits:
        if hit.file_name == question.file and sentence in _norm(hit.text):
            return hit.rank
    return None


def ranking_quality(
    library: DocumentLibrary, questions: list[Question], modes: tuple[str, ...]
) -> dict[str, Any]:
    """recall@5 and MRR@10 of each mode on the eval's questions (top 10 taken)."""
    results: dict[str, Any] = {}
    for mode in modes:
        # The last row is the RRF paper's constant instead of the app's (see retrieval.RRF_K).
        app_k = retrieval.RRF_K
        retrieval.RRF_K = 60 if mode == "hybrid k=60" else app_k
        try:
            ranks = [
                answer_rank(library.search(["Eval"], q.text, k=10, mode=mode.split()[0]), q)
                for q in questions
            ]
        finally:
            retrieval.RRF_K = app_k
        by_kind: dict[str, float] = {}
        for kind in ("keyword", "paraphrase"):
            picked = [r for r, q in zip(ranks, questions, strict=True) if q.kind == kind]
            by_kind[kind] = sum(1 for r in picked if r is not None and r <= 5) / len(picked)
        results[mode] = {
            "recall@5": sum(1 for r in ranks if r is not None and r <= 5) / len(ranks),
            "mrr@10": sum(1 / r for r in ranks if r is not None) / len(ranks),
            "recall@5 keyword": by_kind["keyword"],
            "recall@5 paraphrase": by_kind["paraphrase"],
        }
    return results


def quality(library: DocumentLibrary, questions: list[Question]) -> dict[str, Any]:
    results = ranking_quality(library, questions, ("bm25", "vector", "hybrid", "hybrid k=60"))
    answered = [library.search(["Eval"], q.text, k=5) for q in questions]
    found = [
        next((h for h in hits if h.rank == answer_rank(hits, q)), None)
        for hits, q in zip(answered, questions, strict=True)
    ]
    results["answer marked relevant"] = sum(1 for h in found if h and h.relevant) / len(found)
    unrelated = [library.search(["Eval"], q, k=5) for q in UNRELATED]
    results["unrelated with nothing relevant"] = sum(
        1 for hits in unrelated if not any(h.relevant for h in hits)
    ) / len(unrelated)
    return results


def indexing(library: DocumentLibrary, folder: Path) -> tuple[dict[str, Any], list[str]]:
    collection = library.get("Eval")
    embedder = library.embedder_for(collection)
    embedder.load()
    embedder.embed_documents(["warm up the model"] * 4)
    load = benchlib.ForeignLoad()
    library.add_paths("Eval", [folder])
    report = library.index("Eval")
    index_load = load.stop()
    ids, _ = library.store.load_vectors(collection.id, embedder.dimension)
    stored = library.store.chunks([int(i) for i in ids])
    texts = [Chunk(c.ordinal, c.text, c.page, c.heading, 0).embedding_text for c in stored.values()]
    # The baseline embeds every other passage, twice (the machine's load changes over time);
    # its words/s is compared with indexing's.
    sample = texts[::2]
    sample_words = sum(len(t.split()) for t in sample)
    raw: list[float] = []
    for _ in range(2):
        load.start()
        started = time.perf_counter()
        embedder.embed_documents(sample)
        raw.append(time.perf_counter() - started)
    raw_load = load.stop()
    raw_words_per_s = sample_words / statistics.mean(raw)
    return {
        "files": report.indexed,
        "pages": report.pages,
        "words": report.words,
        "chunks": report.chunks,
        "index_seconds": report.seconds,
        "embed_seconds_inside_indexing": report.embed_seconds,
        "raw_embed_seconds": raw,
        "raw_words_per_s": raw_words_per_s,
        "overhead": raw_words_per_s / (report.words / report.seconds) - 1,
        "overhead_within_run": report.seconds / report.embed_seconds - 1,
        "foreign_load_indexing": index_load,
        "foreign_load_raw": raw_load,
        "tokens": embedder.embedded_tokens,
    }, texts


def zipf_vocabulary(seed_words: list[str], size: int = 30_000) -> tuple[list[str], np.ndarray]:
    """Words and their probabilities, Zipf-distributed like real text (rank r: 1 / r^1.07).

    The eval's own words are spread over the ranks (log-uniformly from rank 50), so queries hit
    common and rare words as they would in real documents; made-up words fill the rest.
    """
    rng = random.Random(7)
    seeds = sorted(set(seed_words))
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["ex", "in", "or", "al"]
    made_up: set[str] = set()
    while len(made_up) < max(size - len(seeds), 1000):
        made_up.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    words = sorted(made_up)
    rng.shuffle(words)
    for word in seeds:
        # Log-uniform ranks from 50 on: some of the eval's words common, most rare.
        rank = int(math.exp(rng.uniform(math.log(50), math.log(len(words)))))
        words.insert(rank, word)
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.07
    return words, weights / weights.sum()


def _synthetic_texts(
    rng: np.random.Generator, vocabulary: tuple[list[str], np.ndarray], count: int
) -> list[str]:
    words, p = vocabulary
    lengths = rng.integers(60, 140, size=count)
    picks = rng.choice(len(words), size=int(lengths.sum()), p=p)
    texts, start = [], 0
    for length in lengths:
        texts.append(" ".join(words[i] for i in picks[start : start + length]))
        start += length
    return texts


def grow(
    library: DocumentLibrary,
    total: int,
    vocabulary: tuple[list[str], np.ndarray],
    seed: int,
) -> None:
    """Add synthetic chunks (one fake file per 1,000) until the collection holds `total`."""
    collection = library.get("Eval")
    vectors_rng = np.random.default_rng(seed)
    have = collection.chunk_count
    batch = 1000
    number = 0
    while have < total:
        size = min(batch, total - have)
        fake = library.store.upsert_file(
            collection.id, Path(f"/synthetic/part-{seed}-{number}.txt"), None
        )
        texts = _synthetic_texts(vectors_rng, vocabulary, size)
        chunks = [Chunk(i, text, None, None, 0) for i, text in enumerate(texts)]
        vectors = vectors_rng.standard_normal((size, collection.embedding_dimension))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        library.store.add_chunks(
            collection.id,
            fake.id,
            chunks,
            vectors.astype(np.float32),
            chunks=size,
            status="indexed",
        )
        have += size
        number += 1


def latency(library: DocumentLibrary, questions: list[Question], rounds: int) -> dict[str, Any]:
    library.search(["Eval"], "warm up", k=5)  # loads the vectors into memory once
    timings: dict[str, list[float]] = {
        "total_ms": [],
        "embed_query_ms": [],
        "vector_ms": [],
        "keyword_ms": [],
    }
    keyword: dict[str, list[float]] = {"app": [], "plain": []}
    store = library.store
    fetch = 4 * retrieval.CANDIDATES  # what the app takes from the whole index
    load = benchlib.ForeignLoad()
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            library.search(["Eval"], question.text, k=5)
            timings["total_ms"].append((time.perf_counter() - started) * 1000)
            for key in ("embed_query_ms", "vector_ms", "keyword_ms"):
                timings[key].append(library.retriever.last_timings[key])
            # The keyword side alone, one after the other: the app's (common words only score
            # passages with a rarer word) against the one plain query it replaces.
            started = time.perf_counter()
            terms = retrieval.keyword_terms(question.text)
            counts, passages = store.passages_with_terms(terms)
            retrieval.bm25_ranked(store.keyword_search_everywhere, terms, counts, passages, fetch)
            keyword["app"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            store.keyword_search_everywhere(retrieval.keyword_query(question.text), fetch)
            keyword["plain"].append((time.perf_counter() - started) * 1000)
    result = {key: _percentiles(values) for key, values in timings.items()}
    result["keyword_alone_ms"] = {key: _percentiles(values) for key, values in keyword.items()}
    result["foreign_load"] = load.stop()
    return result


def sqlite_vec_latency(library: DocumentLibrary, queries: int) -> dict[str, Any] | None:
    """The same KNN with sqlite-vec's vec0 table, for comparison (bench extra: sqlite-vec)."""
    try:
        import sqlcipher3
        import sqlite_vec
    except ImportError:
        return None
    collection = library.get("Eval")
    ids, matrix = library.store.load_vectors(collection.id, collection.embedding_dimension)
    connection = sqlcipher3.connect(":memory:")
    connection.enable_load_extension(True)
    sqlite_vec.load(connection)
    connection.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{matrix.shape[1]}])")
    connection.executemany(
        "INSERT INTO v (rowid, embedding) VALUES (?, ?)",
        ((int(i), row.tobytes()) for i, row in zip(ids, matrix, strict=True)),
    )
    rng = np.random.default_rng(1)
    vec_ms: list[float] = []
    numpy_ms: list[float] = []
    for _ in range(queries):
        query = rng.standard_normal(matrix.shape[1]).astype(np.float32)
        query /= np.linalg.norm(query)
        started = time.perf_counter()
        connection.execute(
            "SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 50", (query.tobytes(),)
        ).fetchall()
        vec_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        scores = matrix @ query
        top = np.argpartition(-scores, 49)[:50]
        _ = ids[top[np.argsort(-scores[top])]]
        numpy_ms.append((time.perf_counter() - started) * 1000)
    connection.close()
    return {"sqlite_vec_ms": _percentiles(vec_ms), "numpy_ms": _percentiles(numpy_ms)}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "max": ordered[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions")
    parser.add_argument("--quiet-wait", type=float, default=15)
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="skip indexing and quality: synthetic chunks only (when the machine is briefly quiet)",
    )
    args = parser.parse_args()
    if not MINILM.is_file():
        print(f"Missing {MINILM}", file=sys.stderr)
        return 1
    print(benchlib.machine_line())
    work = Path(tempfile.mkdtemp(prefix="bench-documents-"))
    questions = write_eval_set(work / "eval")
    db = Database(work / "data" / "localai.db")
    registry = ModelRegistry(db, work / "data" / "models")
    registry.import_model(MINILM, name="minilm", probe=False)
    library = DocumentLibrary(db, registry)
    library.create("Eval")
    speed: dict[str, Any] | None = None
    scores: dict[str, Any] | None = None
    texts = [q.sentence for q in questions]
    if args.latency_only:
        library.store.set_dimension(library.get("Eval").id, 384)
    else:
        benchlib.wait_for_quiet(max_wait_s=args.quiet_wait)
        speed, texts = indexing(library, work / "eval")
        scores = quality(library, questions)
    vocabulary = zipf_vocabulary(re.findall(r"[a-z]+", " ".join(texts).lower()))
    sizes: dict[int, Any] = {}
    for size in sorted(args.sizes):
        grow(library, size, vocabulary, seed=size)
        benchlib.wait_for_quiet(max_wait_s=args.quiet_wait)
        sizes[size] = {
            "app": latency(library, questions, args.rounds),
            "vector_only": sqlite_vec_latency(library, 60),
            # The eval's answers among the synthetic passages: does ranking hold up at size?
            "quality": None
            if args.latency_only
            else ranking_quality(library, questions, ("bm25", "vector", "hybrid")),
        }
    library.close()
    db.close()
    print_report(speed, scores, sizes)
    path = benchlib.save_json("documents", {"indexing": speed, "quality": scores, "latency": sizes})
    print(f"\nRaw numbers: {path}")
    return 0


def print_report(
    speed: dict[str, Any] | None, scores: dict[str, Any] | None, sizes: dict[int, Any]
) -> None:
    if speed is not None and scores is not None:
        print_quality_and_speed(speed, scores)
    print_latency(sizes)


def print_quality_and_speed(speed: dict[str, Any], scores: dict[str, Any]) -> None:
    print("\n### Quality (60 questions: 30 keyword, 30 paraphrase; top 10 taken)\n")
    rows = [
        [
            mode,
            f"{scores[mode]['recall@5']:.3f}",
            f"{scores[mode]['mrr@10']:.3f}",
            f"{scores[mode]['recall@5 keyword']:.3f}",
            f"{scores[mode]['recall@5 paraphrase']:.3f}",
        ]
        for mode in ("bm25", "vector", "hybrid", "hybrid k=60")
    ]
    rows[2][0] = f"hybrid (app: RRF k={retrieval.RRF_K})"
    rows[3][0] = "hybrid, RRF k=60 (the paper's constant)"
    print(
        benchlib.markdown_table(
            ["retrieval", "recall@5", "MRR", "recall@5 keyword q.", "recall@5 paraphrase q."], rows
        )
    )
    marked = scores["answer marked relevant"]
    nothing = scores["unrelated with nothing relevant"]
    print(
        f"\nRelevance gate: answer passage marked relevant {marked:.0%}; "
        f"unrelated questions with nothing relevant {nothing:.0%}."
    )
    raw_words = speed["raw_words_per_s"]
    print("\n### Indexing throughput (same model, same passages)\n")
    rows = [
        [
            "app: DocumentLibrary.index",
            f"{speed['index_seconds']:.1f}",
            f"{speed['pages'] / speed['index_seconds']:.2f}",
            f"{speed['words'] / speed['index_seconds']:.0f}",
            f"{speed['foreign_load_indexing']:.0%}",
        ],
        [
            "baseline: embed every other passage only (twice)",
            " + ".join(f"{s:.1f}" for s in speed["raw_embed_seconds"]),
            f"{speed['pages'] * raw_words / speed['words']:.2f}",
            f"{raw_words:.0f}",
            f"{speed['foreign_load_raw']:.0%}",
        ],
    ]
    print(benchlib.markdown_table(["path", "seconds", "pages/s", "words/s", "foreign load"], rows))
    print(
        f"\n{speed['files']} files, {speed['pages']} PDF pages, {speed['words']} words, "
        f"{speed['chunks']} passages. Parsing, chunking and storage on top of embedding: "
        f"{speed['overhead_within_run']:+.1%} within the indexing run (time inside the model: "
        f"{speed['embed_seconds_inside_indexing']:.1f} s), {speed['overhead']:+.1%} against "
        "the separate baseline's words/s (goal < 15%; the separate figure moves with the "
        "machine's load: see the foreign load column)."
    )


def print_latency(sizes: dict[int, Any]) -> None:
    print("\n### Retrieval latency (query embedding + BM25 + vectors + fusion), ms\n")
    rows = []
    for size, result in sizes.items():
        app = result["app"]
        rows.append(
            [
                f"{size:,}",
                f"{app['total_ms']['p50']:.1f}",
                f"{app['total_ms']['p95']:.1f}",
                f"{app['embed_query_ms']['p95']:.1f}",
                f"{app['keyword_ms']['p95']:.1f}",
                f"{app['vector_ms']['p95']:.1f}",
                f"{app['foreign_load']:.0%}",
            ]
        )
    print(
        benchlib.markdown_table(
            ["chunks", "p50", "p95", "p95 embed", "p95 BM25", "p95 vectors", "foreign load"], rows
        )
    )
    rows = []
    for size, result in sizes.items():
        alone = result["app"]["keyword_alone_ms"]
        rows.append(
            [
                f"{size:,}",
                f"{alone['app']['p50']:.1f}",
                f"{alone['app']['p95']:.1f}",
                f"{alone['plain']['p50']:.1f}",
                f"{alone['plain']['p95']:.1f}",
                f"{alone['app']['p95'] / alone['plain']['p95']:.2f}",
            ]
        )
    print("\nBM25 alone (same questions, interleaved), ms: app vs one plain FTS5 query\n")
    print(
        benchlib.markdown_table(
            ["chunks", "app p50", "app p95", "plain p50", "plain p95", "p95 app ÷ plain"], rows
        )
    )
    rows = [
        [f"{size:,}"]
        + [
            f"{result['quality'][mode]['recall@5']:.3f} / {result['quality'][mode]['mrr@10']:.3f}"
            for mode in ("bm25", "vector", "hybrid")
        ]
        for size, result in sizes.items()
        if result.get("quality")
    ]
    if rows:
        print("\nThe eval's questions among the synthetic passages: recall@5 / MRR@10\n")
        print(benchlib.markdown_table(["chunks", "BM25", "vectors", "hybrid (app)"], rows))
    rows = []
    for size, result in sizes.items():
        other = result["vector_only"]
        if other is None:
            continue
        rows.append(
            [
                f"{size:,}",
                f"{other['numpy_ms']['p50']:.2f}",
                f"{other['numpy_ms']['p95']:.2f}",
                f"{other['sqlite_vec_ms']['p50']:.2f}",
                f"{other['sqlite_vec_ms']['p95']:.2f}",
            ]
        )
    if rows:
        print("\nVector KNN alone (top 50), ms: float32 blobs + numpy (kept) vs sqlite-vec vec0\n")
        print(
            benchlib.markdown_table(
                ["chunks", "numpy p50", "numpy p95", "sqlite-vec p50", "sqlite-vec p95"], rows
            )
        )
    else:
        print("\n(sqlite-vec comparison skipped: pip install sqlite-vec sqlcipher3-wheels)")


if __name__ == "__main__":
    raise SystemExit(main())
