"""Conversations: their records, and one chat turn end to end.

`conversations` stores conversations and messages as plain records, committed at once;
`service` runs one turn (load the model, fit the prompt, stream, save as it streams), with
document passages from `core.documents` when a conversation has collections.
`versions` says which message follows which (edited questions and regenerated answers are
versions of one another) and which path is shown; `search` is the full-text search over every
message; `organise` holds the trash, pins, folders, tags and suggested titles.
"""
