"""A search query is embedded between indexing batches, not after the whole indexing run."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from localai_desktop.core.documents.embedder import Embedder

PASSAGE = (
    "The ward team reviews this section at the monthly governance meeting and records any "
    "deviation in the incident system so that trends can be followed over time. "
)


def test_a_query_waits_for_at_most_the_indexing_batch_in_progress(models_dir: Path) -> None:
    embedder = Embedder(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf")
    try:
        embedder.load()
        passages = [f"{number}. {PASSAGE * 2}" for number in range(36)]
        batches_done: list[float] = []
        first_batch = threading.Event()

        def on_batch(_done: int) -> None:
            batches_done.append(time.perf_counter())
            first_batch.set()

        indexer = threading.Thread(
            target=lambda: embedder.embed_documents(passages, on_batch=on_batch), name="indexer"
        )
        indexer.start()
        assert first_batch.wait(120)
        asked = time.perf_counter()
        vector = embedder.embed_query("How quickly must antibiotics be given in sepsis?")
        answered = time.perf_counter()
        indexer.join()
        assert vector.shape == (embedder.dimension,)
        # Without priority the lock goes to whichever thread grabs it, and the indexer, which
        # asks again at once, wins it batch after batch.
        between = [t for t in batches_done if asked < t < answered]
        assert len(between) <= 1, f"the query waited for {len(between)} batches"
        assert len(batches_done) > len(between) + 2  # the run went on after the query
    finally:
        embedder.close()
