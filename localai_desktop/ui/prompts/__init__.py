"""The prompt library window: the workspace's reusable prompts, to add, edit, copy and share.

- ``dialog``: ``PromptLibraryDialog``: the list of prompts beside an editor (name, category,
  what it is for, the text with its {fields}), New, Duplicate, Delete, Import… and Export…
  (JSON files, the same as `localai prompts export|import`).
"""
