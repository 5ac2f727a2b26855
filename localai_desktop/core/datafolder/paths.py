"""Where the app keeps its data: resolved in one explicit call, never at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from localai_desktop.core.common.private_files import make_private_folder
from localai_desktop.core.datafolder.config import APP_NAME, AppConfigStore
from localai_desktop.core.storage.library import LIBRARY_FILE

DATA_DIR_ENV = "LOCALAI_DATA_DIR"

# The data folder's well-known names, spelled here only.
DATABASE_FILE = "localai.db"  # a workspace's own database (encrypted when protected)
# Models and downloads, shared by every workspace of the folder (core/storage/library.py).
LIBRARY_DATABASE_FILE = LIBRARY_FILE
# The list of workspaces and their names (core/datafolder/workspaces.py); the default one
# lives in the data folder itself, every other in workspaces/<id>/.
WORKSPACES_FILE = "workspaces.json"
WORKSPACES_FOLDER = "workspaces"
KEY_FILE = "key.json"  # a protected workspace's wrapped data key (core/vault/keys.py)
SETTINGS_FILE = "settings.json"  # app-wide settings, core/datafolder/settings.py
# The window's own state (QSettings): per workspace, as it names the workspace's conversations.
WINDOW_STATE_FILE = "settings.ini"
# What the window remembers that may name a person's files (the fine-tune tab's examples file),
# sealed in a protected workspace (core/datafolder/private_state.py).
PRIVATE_STATE_FILE = "private-state.json"
MODELS_FOLDER = "models"
LOGS_FOLDER = "logs"
ADAPTERS_FOLDER = "adapters"
FINETUNE_FOLDER = "finetune"
# Held by the desktop app while it has the folder open (core/datafolder/desktop_app_lock.py).
DESKTOP_APP_LOCK_FILE = "desktop-app.lock"
# How the temporary files of writes in the data folder start (core/common/atomic_files.py):
# settings, backups exported into it, the audit trail's export, vault keys.
TEMP_FILE_PREFIXES = (".settings-", ".backup-", ".audit-", ".key-", ".tmp-")


@dataclass(frozen=True)
class DataPaths:
    """The data folder and the well-known places inside it. `workspace` is the folder of the
    open workspace (the data folder itself for the default one): its database, key, adapters
    and fine-tuning jobs are there; models, settings and logs are the folder's, shared."""

    root: Path
    workspace_folder: Path | None = None

    @property
    def workspace(self) -> Path:
        return self.workspace_folder or self.root

    def for_workspace(self, folder: Path) -> DataPaths:
        return DataPaths(self.root, folder)

    @property
    def database(self) -> Path:
        return self.workspace / DATABASE_FILE

    @property
    def key_file(self) -> Path:
        return self.workspace / KEY_FILE

    @property
    def library(self) -> Path:
        return self.root / LIBRARY_DATABASE_FILE

    @property
    def workspaces_file(self) -> Path:
        return self.root / WORKSPACES_FILE

    @property
    def workspaces_folder(self) -> Path:
        return self.root / WORKSPACES_FOLDER

    @property
    def settings(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def desktop_app_lock(self) -> Path:
        return self.root / DESKTOP_APP_LOCK_FILE

    @property
    def window_state(self) -> Path:
        return self.workspace / WINDOW_STATE_FILE

    @property
    def private_state(self) -> Path:
        return self.workspace / PRIVATE_STATE_FILE

    @property
    def models(self) -> Path:
        return self.root / MODELS_FOLDER

    @property
    def logs(self) -> Path:
        return self.root / LOGS_FOLDER

    @property
    def adapters(self) -> Path:
        return self.workspace / ADAPTERS_FOLDER

    @property
    def finetune(self) -> Path:
        """Fine-tuning jobs: their datasets, checkpoints and event logs."""
        return self.workspace / FINETUNE_FOLDER


def default_data_dir() -> Path:
    """The platform's usual place for app data (~/.local/share/LocalAI Desktop on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def data_dir_source(explicit: str | os.PathLike[str] | None = None) -> str:
    """Who picks the data folder: "option" (--data-dir), "environment" ($LOCALAI_DATA_DIR),
    "chosen" (the folder the person chose in the app) or "default"."""
    if explicit:
        return "option"
    if os.environ.get(DATA_DIR_ENV):
        return "environment"
    return "chosen" if AppConfigStore().load().data_dir else "default"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: the explicit one, else $LOCALAI_DATA_DIR, else the one chosen in the
    app (a pointer in the per-user config folder), else the platform's default."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser().resolve()
    chosen = AppConfigStore().load().data_dir
    if chosen:
        return Path(chosen).expanduser().resolve()
    return default_data_dir()


def init_data_paths(explicit: str | os.PathLike[str] | None = None) -> DataPaths:
    """Resolve the data folder and create it and its subfolders."""
    paths = DataPaths(resolve_data_dir(explicit))
    make_private_folder(paths.root)  # readable by this user alone, and so is all inside
    for folder in (paths.models, paths.logs):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return paths
