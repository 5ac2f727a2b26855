"""A GGUF embedding model run by llama.cpp: texts in, unit-length float32 vectors out.

``Embedder`` owns one ``Llama(embedding=True)``. Every call into it holds the embedder's lock,
so the indexer (a background thread) and a chat's query (the chat worker's thread) can share one
loaded model: a query waits at most for one batch of the indexer (a fraction of a second).
Loading is lazy, on the first call.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import ModelLoadError
from localai_desktop.core.inference.llama_runtime import (
    default_thread_count,
    llama_cpp_module,
    model_params_for_load,
)

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are used: 0.15 s at start-up
    from llama_cpp import Llama

log = logging.getLogger(__name__)
llama_log = logging.getLogger("llama.cpp")

# A query is a dozen tokens: splitting that work across threads costs more in synchronisation
# than it saves, and when another process holds a core (a chat answering, an indexing run) the
# waiting threads spin. Measured on 2 busy cores with MiniLM: p50 53 ms on one thread against
# 861 ms on two.
QUERY_THREADS = 1
# Tokens per llama.cpp batch. Encoder models attend across the whole batch (other sequences
# are masked out, but still computed), so a bigger batch costs more per token, not less.
DEFAULT_BATCH_TOKENS = 512

# Some embedding models were trained with a prefix telling queries from passages; without it
# their search quality drops. Keyed by a part of the model's file name.
_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("nomic", "search_query: ", "search_document: "),
    ("bge", "Represent this sentence for searching relevant passages: ", ""),
    (
        "qwen3",
        "Instruct: Given a question, retrieve passages that answer it\nQuery: ",
        "",
    ),
    ("e5-", "query: ", "passage: "),  # multilingual-e5-small, e5-base-v2
)


# How long indexing holds back for waiting search queries at most, so it is never starved.
QUERY_PRIORITY_WAIT_S = 2.0


class EmbeddingCancelled(Exception):
    """Raised inside ``embed_documents`` when its cancellation was set between batches."""


def prefixes_for(model_path: Path) -> tuple[str, str]:
    """(query prefix, document prefix) for the model, from its file name."""
    name = model_path.name.lower()
    for key, query_prefix, document_prefix in _PREFIXES:
        if key in name:
            return query_prefix, document_prefix
    return "", ""


class Embedder:
    """One embedding model; thread-safe through its lock, loaded on first use."""

    def __init__(
        self,
        model_path: Path,
        *,
        n_threads: int | None = None,
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
    ) -> None:
        self.model_path = Path(model_path)
        self.n_threads = n_threads
        self.batch_tokens = batch_tokens
        self._lock = threading.RLock()
        # Queries waiting for the model: indexing lets them go first between its batches
        # (the lock alone is not fair, and a chat's search would wait for a whole run).
        self._turn = threading.Condition()
        self._queries_waiting = 0
        self._llm: Llama | None = None
        self._dimension = 0
        self._context_length = 0
        self._query_prefix, self._document_prefix = prefixes_for(self.model_path)
        self._threads = 1
        self.embed_seconds = 0.0  # time spent inside the model, for throughput reports
        self.embedded_tokens = 0

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        with self._lock:
            if self._llm is not None:
                return
            if not self.model_path.is_file():
                raise ModelLoadError(
                    f"The embedding model file is missing ({self.model_path}).",
                    "Put the file back, or import the embedding model again.",
                )
            llama_cpp = llama_cpp_module()
            threads = self.n_threads or default_thread_count()
            self._threads = threads
            captured = io.StringIO()
            started = time.perf_counter()
            try:
                # Plain weight buffers: on CPUs with AMX (Intel Xeon 4th generation and later)
                # llama.cpp repacks Q8_0 weights for AMX, and encoding with a BERT model then
                # crashes the process (llama-cpp-python 0.3.36). As fast for a model this small.
                with (
                    model_params_for_load(llama_cpp, plain_buffers=True),
                    contextlib.redirect_stderr(captured),
                ):
                    llm: Llama = llama_cpp.Llama(
                        model_path=str(self.model_path),
                        embedding=True,
                        n_ctx=self.batch_tokens,
                        # Encoder (non-causal) models need the whole batch in one micro-batch,
                        # or llama.cpp aborts the process.
                        n_batch=self.batch_tokens,
                        n_ubatch=self.batch_tokens,
                        n_threads=threads,
                        n_threads_batch=threads,
                        n_gpu_layers=-1,
                        verbose=True,  # keeps llama-cpp-python off its racy fd redirection
                    )
            except (ValueError, RuntimeError, OSError) as error:
                raise ModelLoadError(
                    f"The embedding model '{self.model_path.name}' could not be loaded.",
                    "The file may be damaged; import the embedding model again or choose "
                    "another one.",
                ) from error
            finally:
                for line in captured.getvalue().splitlines():
                    llama_log.debug(line)
            llm.verbose = False
            self._llm = llm
            self._dimension = int(llm.n_embd())
            self._context_length = int(llm._model.n_ctx_train())
            log.info(
                "Loaded embedding model %s (%d dims) in %.2f s",
                self.model_path.name,
                self._dimension,
                time.perf_counter() - started,
            )

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
            self._llm = None

    @property
    def dimension(self) -> int:
        self.load()
        return self._dimension

    @property
    def context_length(self) -> int:
        """The model's training context, which bounds the chunk size."""
        self.load()
        return self._context_length

    # -- embedding --------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for this passage (with its special tokens)."""
        with self._lock:
            llm = self._require()
            return len(llm.tokenize(text.encode("utf-8"), add_bos=True))

    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of a search query (on one thread: see QUERY_THREADS)."""
        with self._turn:
            self._queries_waiting += 1
        try:
            return self._embed([self._query_prefix + text], threads=QUERY_THREADS)[0]
        finally:
            with self._turn:
                self._queries_waiting -= 1
                self._turn.notify_all()

    def embed_documents(
        self,
        texts: Sequence[str],
        *,
        cancel: Cancellation | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Unit vectors (one row per text), embedded in batches; cancel is checked between them.

        ``on_batch(n)`` is called after each batch with the number of texts done so far.
        """
        prefixed = [self._document_prefix + t for t in texts]
        return self.embed_texts(prefixed, cancel=cancel, on_batch=on_batch)

    def embed_texts(
        self,
        texts: Sequence[str],
        *,
        cancel: Cancellation | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """As ``embed_documents``, but the texts exactly as given, with no query or document
        prefix (for API clients, who add their model's prefix themselves)."""
        import numpy as np

        rows: list[np.ndarray] = []
        start = 0
        for group in self._groups(texts):
            if cancel is not None and cancel.is_set():
                raise EmbeddingCancelled
            with self._turn:
                self._turn.wait_for(lambda: self._queries_waiting == 0, QUERY_PRIORITY_WAIT_S)
            rows.append(self._embed(group))
            start += len(group)
            if on_batch is not None:
                on_batch(start)
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(rows)

    def _groups(self, texts: Sequence[str]) -> Iterator[list[str]]:
        # Several passages per llama.cpp batch; a rough size keeps this cheap (llama-cpp-python
        # itself starts a new batch when the exact tokens would overflow).
        group: list[str] = []
        used = 0
        for text in texts:
            size = len(text) // 3 + 2
            if group and used + size > self.batch_tokens:
                yield group
                group, used = [], 0
            group.append(text)
            used += size
        if group:
            yield group

    def _embed(self, texts: list[str], *, threads: int | None = None) -> np.ndarray:
        import numpy as np

        with self._lock:
            llm = self._require()
            started = time.perf_counter()
            if threads is not None:
                self._set_threads(threads)
            try:
                raw, tokens = llm.embed(texts, truncate=True, return_count=True)
            except (RuntimeError, ValueError) as error:
                raise ModelLoadError(
                    "The embedding model failed while reading the text.",
                    "Try again; if it keeps failing, choose another embedding model.",
                ) from error
            finally:
                if threads is not None:
                    self._set_threads(self._threads)
            self.embed_seconds += time.perf_counter() - started
            self.embedded_tokens += int(tokens)
        vectors = np.asarray(raw, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def _set_threads(self, threads: int) -> None:
        llama_cpp_module().llama_set_n_threads(self._require()._ctx.ctx, threads, threads)

    def _require(self) -> Llama:
        if self._llm is None:
            self.load()
        assert self._llm is not None
        return self._llm
