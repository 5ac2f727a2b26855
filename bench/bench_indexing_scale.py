"""Indexing time and peak memory against file size: do they grow linearly?

Run by hand: `.venv/bin/python bench/bench_indexing_scale.py` (1 and 10 MB, about 3 minutes
on 2 cores; `--sizes 1 10 100` adds 100 MB, about 15 more minutes and 2 GB of memory).

For each size, two text files of the same words: one single paragraph (the hard case: one
block that chunking must cut by sentences) and, as the baseline, the same text in paragraphs
of 100 words. Each file is indexed by the app's own `Indexer` (sha256, parsing, chunking with
MiniLM's real tokenizer counting every passage, storing passages and FTS5 rows in batches of
16) in a fresh child process, so its peak memory (ru_maxrss) is its own. Only the model's
forward pass is left out: at ~500 words/s on 2 cores it would take hours at 100 MB and says
nothing about scaling (every passage costs the same); instead its time per passage is
measured on 16 passages and the full indexing time is estimated from it.

Reported per file: seconds, MB/s, the peak memory the indexing added above the loaded model,
and the ratio to the size before it (time and memory: 10.0 is linear for a 10x larger file).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib

MINILM = benchlib.SHARED_MODELS / "all-MiniLM-L6-v2-Q8_0.gguf"
WORDS = [
    "patient",
    "ward",
    "doctor",
    "nurse",
    "bed",
    "morning",
    "evening",
    "dose",
    "tablet",
    "fever",
    "pain",
    "sleep",
    "breakfast",
    "lunch",
    "dinner",
    "visit",
    "family",
    "record",
    "note",
    "chart",
    "blood",
    "pressure",
    "pulse",
    "oxygen",
    "walk",
    "rest",
    "water",
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "with",
    "for",
    "on",
    "at",
    "from",
    "after",
    "before",
    "during",
    "while",
    "quietly",
    "slowly",
    "well",
]
PARAGRAPH_WORDS = 100


def write_text(path: Path, megabytes: float, *, paragraphs: bool) -> int:
    """Sentences of 8-20 words up to the size; one paragraph or paragraphs of 100 words."""
    rng = random.Random(7)
    target = int(megabytes * 1024**2)
    written = words = 0
    in_paragraph = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            sentence = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
            text = " ".join(sentence).capitalize() + ". "
            words += len(sentence)
            in_paragraph += len(sentence)
            if paragraphs and in_paragraph >= PARAGRAPH_WORDS:
                text = text.rstrip() + "\n\n"
                in_paragraph = 0
            handle.write(text)
            written += len(text)
    return words


def child(path: Path) -> dict[str, Any]:
    """Index one file in this (fresh) process; what it took."""
    import numpy as np

    from localai_desktop.core.documents.collections import DocumentLibrary
    from localai_desktop.core.documents.embedder import Embedder
    from localai_desktop.core.models.registry import ModelRegistry
    from localai_desktop.core.storage import Database

    benchlib.quiet_llama_logs()

    class TokenizerOnlyEmbedder(Embedder):
        """The real model and tokenizer; vectors of ones instead of the forward pass."""

        def _embed(self, texts: list[str], *, threads: int | None = None) -> np.ndarray:
            vector = np.full(self.dimension, 1 / np.sqrt(self.dimension), dtype=np.float32)
            return np.tile(vector, (len(texts), 1))

    with tempfile.TemporaryDirectory() as work:
        db = Database(Path(work) / "localai.db")
        registry = ModelRegistry(db, Path(work) / "models")
        registry.import_model(MINILM, name="minilm", probe=False)
        library = DocumentLibrary(db, registry)
        embedder = TokenizerOnlyEmbedder(MINILM)
        library.indexer.embedder_for = lambda _collection: embedder
        collection = library.create("Scale")
        library.add_paths(collection.id, [path])
        embedder.load()
        before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        report = library.index(collection.id)
        seconds = time.perf_counter() - started
        after_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        [file] = library.files(collection.id)
        sample = [c.text for c in library.store.neighbours(_first_chunk_id(db), 0, 15)]
        real = Embedder(MINILM)
        real.embed_documents(sample[:4])  # load and warm up
        started_embed = time.perf_counter()
        real.embed_documents(sample)
        per_chunk = (time.perf_counter() - started_embed) / len(sample)
        real.close()
        db.close()
    return {
        "status": file.status,
        "chunks": report.chunks,
        "words": report.words,
        "seconds": seconds,
        "peak_added_mb": max(0, after_kb - before_kb) / 1024,
        "embed_s_per_chunk": per_chunk,
    }


def _first_chunk_id(db: Any) -> int:
    with db.session() as session:
        return int(session.execute(_sql("SELECT min(id) FROM doc_chunks")).scalar())


def _sql(text: str) -> Any:
    from sqlalchemy import text as sql

    return sql(text)


def run_child(path: Path) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        raise SystemExit(f"indexing {path.name} failed:\n{process.stderr}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10], metavar="MB")
    parser.add_argument("--quiet-wait", type=float, default=15)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    print(benchlib.machine_line())
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        for megabytes in args.sizes:
            for shape, paragraphs in (("1 paragraph", False), ("paragraphs of 100 words", True)):
                path = Path(folder) / f"text-{megabytes:g}MB-{int(paragraphs)}.txt"
                words = write_text(path, megabytes, paragraphs=paragraphs)
                benchlib.wait_for_quiet(max_wait_s=args.quiet_wait)
                load = benchlib.ForeignLoad()
                measured = run_child(path)
                measured.update(
                    megabytes=megabytes, shape=shape, file_words=words, foreign_load=load.stop()
                )
                results.append(measured)
                path.unlink()
                print(
                    f"{megabytes:g} MB, {shape}: {measured['seconds']:.1f} s, "
                    f"+{measured['peak_added_mb']:.0f} MB, {measured['chunks']} passages",
                    flush=True,
                )
    print()
    print(table(results))
    print(f"\nSaved {benchlib.save_json('indexing_scale', results)}")


def table(results: list[dict[str, Any]]) -> str:
    rows = []
    previous: dict[str, dict[str, Any]] = {}
    for r in results:
        before = previous.get(r["shape"])
        size_ratio = r["megabytes"] / before["megabytes"] if before else None
        time_ratio = r["seconds"] / before["seconds"] if before else None
        memory_ratio = (
            r["peak_added_mb"] / before["peak_added_mb"]
            if before and before["peak_added_mb"] > 0
            else None
        )
        estimate = r["seconds"] + r["chunks"] * r["embed_s_per_chunk"]
        rows.append(
            [
                f"{r['megabytes']:g} MB",
                r["shape"],
                f"{r['words']:,}",
                f"{r['chunks']:,}",
                f"{r['seconds']:.1f}",
                f"{r['megabytes'] / r['seconds']:.2f}",
                f"{r['peak_added_mb']:.0f}",
                f"x{time_ratio:.1f} / x{memory_ratio:.1f} (size x{size_ratio:g})"
                if time_ratio and memory_ratio and size_ratio
                else "",
                benchlib.fmt(estimate / 60, 0),
                f"{r['foreign_load']:.0%}",
            ]
        )
        previous[r["shape"]] = r
    header = [
        "file",
        "shape",
        "words",
        "passages",
        "indexing s (no forward pass)",
        "MB/s",
        "peak memory added (MB)",
        "time / memory vs the size before",
        "with MiniLM's forward pass (min, est.)",
        "foreign load",
    ]
    return benchlib.markdown_table(header, rows)


if __name__ == "__main__":
    if "--child" not in sys.argv:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
