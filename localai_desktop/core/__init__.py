"""Qt-free core: every capability as plain Python, shared by the CLI and the GUI.

One package per capability, layered from the bottom up: `common` (errors, units, files, child
processes, logs, clock, cancellation), `storage` (SQLite tables, migrations, the database),
`models` (GGUF files, hardware, the registry, adapters), `inference` (the llama.cpp engine and
prompts), `hub` (catalog, Hugging Face, downloads), `chat`, `documents` and `finetune` (the
three things people do with models), and `datafolder` on top (paths, settings, backups, and
the `Workspace` that opens a data folder and owns its services). A package may import the ones
below it, never one above; `pyproject.toml` holds the contracts and CI checks them.
"""
