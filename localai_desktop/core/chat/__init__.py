"""Conversations: their records, and one chat turn end to end.

`conversations` stores conversations and messages as plain records, committed at once;
`service` runs one turn (load the model, fit the prompt, stream, save as it streams), with
document passages from `core.documents` when a conversation has collections.
"""
