"""The audit trail: an append-only, hash-chained record of what was done in a data folder.

Every answer (its question and answer as sha256, the model and adapter files' sha256, the
settings and seed, each cited source's file sha256 and page, the app version) and every
export, import, deletion and unlock is one entry. Entries record hashes, never content, so
deleting a conversation stays possible, and is itself recorded. The trail is a plain table
(``audit_entries``, migration 7) of the data folder's own database and moves with it.

- ``entries``: ``AuditEntry`` (one entry, as plain data), the kinds of entries, the canonical
  JSON and the sha256 chain (``entry_hash``, ``GENESIS_HASH``), and ``describe`` (an entry in
  plain words, for the Audit view, the CLI and the CSV).
- ``facts``: what an answer's entry records, taken from the answer's provenance.
- ``trail``: ``AuditTrail(db)``: ``record`` / ``append`` (inside a caller's transaction, so an
  event and its entry commit together), ``entries``, ``verify``, ``export``.
- ``verification``: ``VerifyReport`` and the check itself: the chain, then every answered
  message still there against its recorded sha256, and every one gone against a recorded
  deletion.
- ``export``: the trail as CSV or JSON, for the record.
"""
