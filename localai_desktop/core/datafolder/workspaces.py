"""The workspaces of a data folder: their names, folders and whether each is protected.

A workspace keeps one client's or patient group's material apart: its own database
(conversations, collections and their index, fine-tuning jobs, adapters, audit trail) and its
own folders. The default workspace is the data folder itself (where a folder made before
workspaces existed keeps its data); every other lives in `workspaces/<id>/`, named by a random
id so that a client's name never appears in a path. `workspaces.json` maps ids to the names a
person sees. Models and downloads are shared by all (core/storage/library.py).

A protected workspace has a key file (core/vault/keys.py) and an encrypted database. Removing
one destroys its key first (crypto-erase: what is left on the disk is unreadable), then its
folder.
"""

from __future__ import annotations

import json
import secrets
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.common.private_files import make_private_folder
from localai_desktop.core.datafolder.paths import KEY_FILE, DataPaths
from localai_desktop.core.remotes.keychain_keys import RemoteKeychain
from localai_desktop.core.vault.keys import KeyFile

DEFAULT_ID = "default"
DEFAULT_NAME = "Default"
MAX_NAME_CHARS = 80


@dataclass(frozen=True)
class WorkspaceInfo:
    """One workspace as listed: its id, the name a person sees, and its folder."""

    id: str
    name: str
    folder: Path

    @property
    def is_default(self) -> bool:
        return self.id == DEFAULT_ID

    @property
    def key_file(self) -> KeyFile:
        return KeyFile(self.folder / KEY_FILE)

    @property
    def protected(self) -> bool:
        """Protected with a passphrase: its data is encrypted at rest."""
        return self.key_file.exists()


def check_name(name: str) -> str:
    """The name, tidied; or a plain error saying what is wrong with it."""
    clean = unicodedata.normalize("NFC", " ".join(name.split()))
    if not clean:
        raise LocalAIError("A workspace needs a name.", "Type a name, for example 'Smith v Jones'.")
    if len(clean) > MAX_NAME_CHARS:
        raise LocalAIError(
            f"That name is {len(clean)} characters long; a workspace name may have at most "
            f"{MAX_NAME_CHARS}.",
            "Choose a shorter name.",
        )
    if any(unicodedata.category(c).startswith("C") for c in clean):
        raise LocalAIError(
            "A workspace name cannot hold control characters.", "Choose another name."
        )
    return clean


class WorkspaceDirectory:
    """Reads and changes the list of workspaces of one data folder."""

    def __init__(self, paths: DataPaths) -> None:
        self._paths = DataPaths(paths.root)

    # -- reading ----------------------------------------------------------------------------------

    def list(self) -> list[WorkspaceInfo]:
        """The default workspace first, then the others by name."""
        names = self._load()
        default = WorkspaceInfo(DEFAULT_ID, names.get(DEFAULT_ID, DEFAULT_NAME), self._paths.root)
        others = [
            WorkspaceInfo(wid, name, self._paths.workspaces_folder / wid)
            for wid, name in names.items()
            if wid != DEFAULT_ID and (self._paths.workspaces_folder / wid).is_dir()
        ]
        return [default, *sorted(others, key=lambda w: w.name.casefold())]

    def find(self, name: str | None) -> WorkspaceInfo:
        """The workspace of that name (or id); None means the default one."""
        listed = self.list()
        if name is None:
            return listed[0]
        wanted = " ".join(name.split()).casefold()
        for info in listed:
            if info.name.casefold() == wanted or info.id == name:
                return info
        raise LocalAIError(
            f"There is no workspace named '{name}'.",
            "These exist: " + ", ".join(f"'{w.name}'" for w in listed) + ".",
        )

    # -- changing ---------------------------------------------------------------------------------

    def create(self, name: str) -> WorkspaceInfo:
        """A new, empty workspace folder and its name (protecting it is the caller's next step,
        before anything is written into it)."""
        clean = check_name(name)
        self._refuse_taken(clean)
        wid = "w-" + secrets.token_hex(6)
        folder = self._paths.workspaces_folder / wid
        make_private_folder(self._paths.workspaces_folder)
        make_private_folder(folder)
        names = self._load()
        names[wid] = clean
        self._save(names)
        return WorkspaceInfo(wid, clean, folder)

    def rename(self, old: str, new: str) -> WorkspaceInfo:
        info = self.find(old)
        clean = check_name(new)
        if clean.casefold() != info.name.casefold():
            self._refuse_taken(clean)
        names = self._load()
        names[info.id] = clean
        self._save(names)
        return WorkspaceInfo(info.id, clean, info.folder)

    def remove(self, name: str) -> WorkspaceInfo:
        """Destroy the key first (crypto-erase), then the folder, then the name."""
        info = self.find(name)
        if info.is_default:
            raise LocalAIError(
                "The default workspace cannot be removed.",
                "To delete what it holds, use 'localai data delete-all' (or Settings > Delete "
                "all data).",
            )
        info.key_file.destroy()
        RemoteKeychain(self._paths.root, info.id).forget_all()  # its remotes' API keys
        shutil.rmtree(info.folder, ignore_errors=True)
        if info.folder.exists():
            raise StorageError(
                f"Some files of the workspace '{info.name}' could not be removed ({info.folder}).",
                "Close other programs that may use them and try again."
                + (" Its key is already destroyed: they cannot be read." if info.protected else ""),
            )
        names = self._load()
        names.pop(info.id, None)
        self._save(names)
        return info

    def _refuse_taken(self, name: str) -> None:
        if any(w.name.casefold() == name.casefold() for w in self.list()):
            raise LocalAIError(
                f"A workspace named '{name}' already exists.", "Choose another name."
            )

    # -- the file ---------------------------------------------------------------------------------

    def _load(self) -> dict[str, str]:
        try:
            document: Any = json.loads(self._paths.workspaces_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise StorageError(
                "The list of workspaces (workspaces.json in the data folder) is damaged.",
                "Restore it from a backup, or remove it: the workspaces' folders are kept and "
                "the default workspace opens.",
            ) from error
        names = document.get("names") if isinstance(document, dict) else None
        if not isinstance(names, dict):
            return {}
        return {str(k): str(v) for k, v in names.items() if isinstance(v, str)}

    def _save(self, names: dict[str, str]) -> None:
        data = json.dumps({"version": 1, "names": names}, indent=2, ensure_ascii=False) + "\n"
        try:
            write_atomically(self._paths.workspaces_file, data.encode(), temp_prefix=".tmp-")
        except OSError as error:
            raise StorageError(
                f"The list of workspaces could not be saved ({error.strerror or error}).",
                "Check that the disk is not full and that you may write to the data folder.",
            ) from error
