"""Delete all my data: what there is, and removing it with a plain account of what went.

Conversations, document indexes, adapters, downloads and settings live in the workspaces'
databases and a few known files and folders of the data folder; those are removed (the
database files themselves, their write-ahead logs and backups, so no deleted text stays behind
in free pages), and every other workspace with them (a protected one's key destroyed first).
Models are kept unless asked: the shared library keeps their records, only its unfinished
downloads go. The audit trail
lives in the database too and goes with it: nothing is left to record the deletion in (a
person who must keep the trail exports it first, with `localai audit export`).

Nothing may have the database open while `delete_all_data` runs (the GUI closes its window,
which stops the chat worker and unloads the model; the CLI closes its connection first).
Files that the app did not make are never touched, even inside the data folder.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localai_desktop.core.common.logs import delete_log_files, log_files
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.datafolder.desktop_app_lock import desktop_app_closed
from localai_desktop.core.datafolder.paths import (
    ADAPTERS_FOLDER,
    FINETUNE_FOLDER,
    KEY_FILE,
    PRIVATE_STATE_FILE,
    SETTINGS_FILE,
    WINDOW_STATE_FILE,
    WORKSPACES_FILE,
    DataPaths,
)
from localai_desktop.core.datafolder.workspaces import DEFAULT_ID
from localai_desktop.core.hub.download_transfer import PARTIAL_SUFFIX
from localai_desktop.core.remotes.keychain_keys import RemoteKeychain
from localai_desktop.core.storage.connections import open_raw
from localai_desktop.core.storage.db import Database
from localai_desktop.core.vault.keys import KeyFile, Vault

log = logging.getLogger(__name__)

# Files of the data folder that the app writes: the Qt window settings and the app settings.
SETTINGS_FILES = (WINDOW_STATE_FILE, PRIVATE_STATE_FILE, SETTINGS_FILE, WORKSPACES_FILE)
# Folders of the data folder that hold only what the app made from people's data.
APP_FOLDERS = (ADAPTERS_FOLDER, FINETUNE_FOLDER)
# How tables are counted in the account (one, many); tables not listed are counted by name.
_TABLE_WORDS = {
    "conversations": ("conversation", "conversations"),
    "messages": ("message", "messages"),
    "downloads": ("unfinished download", "unfinished downloads"),
    "doc_collections": ("document collection", "document collections"),
    "doc_files": ("indexed document", "indexed documents"),
    "adapters": ("fine-tuned adapter", "fine-tuned adapters"),
    "finetune_jobs": ("fine-tuning job", "fine-tuning jobs"),
    "audit_entries": ("audit trail entry", "audit trail entries"),
    "workspaces": ("other workspace (all it holds)", "other workspaces (all they hold)"),
}
_NOT_COUNTED = {"models", "doc_chunks"}  # models: counted apart; chunks: parts of documents


@dataclass(frozen=True)
class DataInventory:
    """What the data folder holds now, for the confirmation ("this deletes ...")."""

    root: Path
    row_counts: dict[str, int]  # table -> rows, models and internal tables left out
    models: int
    model_files_inside: tuple[Path, ...]  # model files in the data folder (deleted with models)
    model_files_elsewhere: tuple[Path, ...]  # imported in place: never deleted, only forgotten
    files: tuple[Path, ...]  # database, backups, settings, logs, adapters, partial downloads

    def lines(self, *, include_models: bool) -> list[str]:
        """Plain sentences: one per kind of thing that would be deleted."""
        lines = [count_of(table, n) for table, n in self.row_counts.items() if n]
        if include_models and self.models:
            lines.append(plural(self.models, "model", "models"))
        lines.append(
            plural(len(self.files), "file", "files") + " (database, backups, settings, logs)"
        )
        return lines


@dataclass(frozen=True)
class ResetReport:
    """What `delete_all_data` removed, and what it deliberately left."""

    root: Path
    row_counts: dict[str, int]
    models_removed: int
    models_kept: int
    removed_files: tuple[Path, ...]
    bytes_freed: int
    kept_files: tuple[Path, ...] = field(default=())  # model files outside the data folder

    def summary(self) -> str:
        """The account shown to the person, one line per item."""
        removed = [count_of(table, n) for table, n in self.row_counts.items() if n]
        if self.models_removed:
            removed.append(plural(self.models_removed, "model", "models"))
        removed.append(
            plural(len(self.removed_files), "file", "files")
            + f" ({format_bytes(self.bytes_freed)}): the database and its backups, settings, "
            "logs and partial downloads"
        )
        text = "Removed from " + str(self.root) + ":\n" + "\n".join(f"- {r}" for r in removed)
        if self.models_kept:
            text += f"\n\nKept: {plural(self.models_kept, 'model', 'models')}, as you asked."
        if self.kept_files:
            text += (
                "\nThese model files were used where they are, outside the app's folder; the app "
                "forgot them but did not delete them:\n"
                + "\n".join(f"- {p}" for p in self.kept_files)
            )
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.root),
            "records_removed": self.row_counts,
            "models_removed": self.models_removed,
            "models_kept": self.models_kept,
            "files_removed": [str(p) for p in self.removed_files],
            "bytes_freed": self.bytes_freed,
            "model_files_left_in_place": [str(p) for p in self.kept_files],
        }


def take_inventory(paths: DataPaths, vault: Vault | None = None) -> DataInventory:
    """Count what is there, reading the databases without changing them (the default
    workspace's with `vault` when it is protected; other workspaces are counted as such)."""
    paths = DataPaths(paths.root)
    counts = _read_database(paths.database, vault) if _readable(paths, vault) else {}
    library_counts = _read_database(paths.library, None)
    counts["downloads"] = library_counts.get("downloads", 0)
    others = _other_workspaces(paths)
    if others:
        counts["workspaces"] = len(others)
    model_paths = _model_paths(paths.library)
    inside = tuple(p for p in model_paths if _is_inside(p, paths.root))
    elsewhere = tuple(p for p in model_paths if not _is_inside(p, paths.root))
    return DataInventory(
        root=paths.root,
        row_counts=counts,
        models=len(model_paths),
        model_files_inside=inside,
        model_files_elsewhere=elsewhere,
        files=tuple(_app_files(paths)),
    )


def delete_all_data(
    paths: DataPaths, *, include_models: bool = False, vault: Vault | None = None
) -> ResetReport:
    """Delete conversations, indexes, adapters, downloads, settings and logs (and models).

    The database is recreated empty; kept models are registered again, unchanged. Refused
    with DataFolderInUseError while the desktop app has the folder open (a `localai` command
    beside it): the app would go on writing into files that are gone.
    """
    with desktop_app_closed(paths, "deleted"):
        return _delete_all_data(DataPaths(paths.root), include_models, vault)


def _delete_all_data(paths: DataPaths, include_models: bool, vault: Vault | None) -> ResetReport:
    inventory = take_inventory(paths, vault)
    # Crypto-erase first: without their keys, whatever the disk keeps of them is noise.
    KeyFile(paths.key_file).destroy()
    RemoteKeychain(paths.root, DEFAULT_ID).forget_all()  # remote engines' API keys
    for folder in _other_workspaces(paths):
        KeyFile(folder / KEY_FILE).destroy()
        RemoteKeychain(paths.root, folder.name).forget_all()  # a workspace's folder is its id
    kept_models = 0 if include_models else inventory.models
    doomed = list(inventory.files)
    if include_models:
        doomed += [
            p
            for p in (
                paths.library,
                *(paths.library.with_name(paths.library.name + s) for s in ("-wal", "-shm")),
            )
            if p.is_file()
        ]
    if include_models:
        doomed += [p for p in _files_under(paths.models) if p not in doomed]
    sizes = {p: _size(p) for p in doomed}
    removed: list[Path] = []
    removed += delete_log_files(paths.logs)
    for path in doomed:
        if path in removed or not path.exists():
            continue
        path.unlink()
        removed.append(path)
    for name in APP_FOLDERS:
        shutil.rmtree(paths.root / name, ignore_errors=True)
    shutil.rmtree(paths.workspaces_folder, ignore_errors=True)
    if include_models:
        _remove_empty_folders(paths.models)
    elif paths.library.is_file():
        library = open_raw(paths.library, None, timeout=15.0)
        try:
            library.execute("DELETE FROM downloads")
        finally:
            library.close()
    Database(paths.database, library=paths.library).close()
    log.info("Deleted all data in %s (%s files)", paths.root, len(removed))
    return ResetReport(
        root=paths.root,
        row_counts=inventory.row_counts,
        models_removed=inventory.models if include_models else 0,
        models_kept=kept_models,
        removed_files=tuple(removed),
        bytes_freed=sum(sizes.get(p, 0) for p in removed),
        kept_files=inventory.model_files_elsewhere if include_models else (),
    )


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def count_of(table: str, count: int) -> str:
    """ "1 conversation", "3 messages", or "2 records in <table>" for a table not listed."""
    one, many = _TABLE_WORDS.get(table, (f"record in {table}", f"records in {table}"))
    return plural(count, one, many)


# -- helpers --------------------------------------------------------------------------------


def _readable(paths: DataPaths, vault: Vault | None) -> bool:
    return vault is not None or not KeyFile(paths.key_file).exists()


def _other_workspaces(paths: DataPaths) -> list[Path]:
    folder = paths.workspaces_folder
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _read_database(database: Path, vault: Vault | None) -> dict[str, int]:
    if not database.is_file():
        return {}
    # Read-only, and without creating a WAL file for a database that has none.
    key = vault.sqlcipher_key_pragma if vault is not None else None
    raw = open_raw(f"{database.as_uri()}?mode=ro", key, timeout=15.0, uri=True)
    try:
        rows = raw.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        ).fetchall()
        # Virtual tables (FTS5, vector indexes) keep their data in "<name>_..." shadow tables:
        # the virtual table's documents are counted where they came from, not twice.
        virtual = [n for n, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL")]
        tables = [
            name
            for name, _sql in rows
            if name not in virtual and not any(name.startswith(f"{v}_") for v in virtual)
        ]
        return {
            table: int(raw.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
            for table in tables
            if table not in _NOT_COUNTED
        }
    finally:
        raw.close()


def _model_paths(library: Path) -> list[Path]:
    if not library.is_file():
        return []
    raw = open_raw(f"{library.as_uri()}?mode=ro", None, timeout=15.0, uri=True)
    try:
        return [Path(p) for (p,) in raw.execute("SELECT path FROM models")]
    finally:
        raw.close()


def _app_files(paths: DataPaths) -> list[Path]:
    root = paths.root
    names = (paths.database.name, KEY_FILE, *SETTINGS_FILES)
    files = [root / n for n in names if (root / n).is_file()]
    files += _files_under(paths.workspaces_folder)
    for suffix in ("-wal", "-shm", "-journal"):
        extra = paths.database.with_name(paths.database.name + suffix)
        if extra.is_file():
            files.append(extra)
    files += sorted(root.glob(f"{paths.database.stem}.backup-*.db"))
    files += log_files(paths.logs)
    for name in APP_FOLDERS:
        files += _files_under(root / name)
    files += sorted(paths.models.rglob(f"*{PARTIAL_SUFFIX}")) if paths.models.is_dir() else []
    return files


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def _remove_empty_folders(folder: Path) -> None:
    if not folder.is_dir():
        return
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        # A folder that is not empty holds something the app did not make: it stays.
        with contextlib.suppress(OSError):
            sub.rmdir()


def _is_inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
