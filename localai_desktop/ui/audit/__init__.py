"""The Audit trail dialog (File > Audit trail…): the data folder's trail, checked and exported.

- ``entry_table``: ``AuditEntryTable``, the entries as a flat table model, newest first (time,
  what, conversation and message, model, short hashes).
- ``trail_jobs``: ``TrailJobs``, which reads, verifies and exports the trail on a helper thread
  so the window never waits on it; results come back as signals carrying plain data.
- ``dialog``: ``AuditDialog``, the table with Verify (the verdict in plain words) and Export…
  (CSV or JSON).
"""
