"""Chat with your documents: collections of local files, indexed for hybrid search, offline.

The package is Qt-free; the CLI and the Documents tab share it. The pieces, in the order data
flows through them:

- ``parsers`` (with ``markup`` for Markdown and HTML): a file becomes a stream of ``TextBlock``
  (text, page, heading); bad input raises ``UnreadableFileError`` carrying a plain reason and
  whether it is a skip or a failure.
- ``chunking``: blocks become ``Chunk`` objects sized for the embedding model, never crossing a
  page or a heading, so every passage has an exact page for its citation.
- ``embedder``: ``Embedder`` owns one llama.cpp embedding model (use it from one thread).
- ``index_store``: the SQLite side (collections, files, chunks, FTS5, float32 vectors);
  ``records`` holds the plain records it returns (``CollectionInfo``, ``DocumentFile``).
- ``indexer``: ``Indexer.run(collection, state)`` indexes pending files with progress,
  cancellation and resume after a kill; ``IndexingState`` is the hook a GUI wraps.
- ``retrieval``: ``Retriever.search`` fuses BM25 and vector ranks (reciprocal rank fusion).
- ``grounding``: retrieved passages into the chat prompt as numbered sources ([1], [2]).
- ``collections``: ``DocumentLibrary``, the facade the CLI, the chat and the GUI call.
"""
