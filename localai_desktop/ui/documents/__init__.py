"""The Documents tab: collections, their files, and indexing with progress.

`tab` assembles `collection_list`, `collection_view` (`document_table`, `indexing_panel`) and
`collection_dialog` (a new collection); the EmbeddingWorker does the work off the GUI thread.
"""
