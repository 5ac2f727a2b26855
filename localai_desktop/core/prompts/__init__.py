"""The prompt library: reusable prompts with fields in braces, kept in the workspace database.

- ``fields``: finding the fields of a prompt ("{reading level}") and filling them in; a field
  left without a value is a ``MissingFieldError`` that names it.
- ``starter``: the prompts shipped for legal and medical work (drafting help only: they claim
  no legal or medical authority), offered once per workspace.
- ``library``: ``PromptLibrary(db)``: list, get, add, edit, duplicate, delete, and import and
  export as JSON; the starter prompts are added on first use.
"""
