"""Workspace: one open data folder and the services over it, for the CLI and the GUI alike.

The command line opens one per command; the desktop app opens one per window and hands it to
the main window, which only assembles the tabs. The workspace builds every store and service
of the folder once (and the audit trail, handed to those that record answers and deletions),
owns the offline switch (saved in the settings, applied to downloads, and told to whoever
observes it), and closes what it opened in order.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from localai_desktop.core.audit.entries import UNLOCKED
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.atomic_files import remove_stale_temp_files
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.logs import set_content_protected
from localai_desktop.core.datafolder import keychain
from localai_desktop.core.datafolder.paths import TEMP_FILE_PREFIXES, DataPaths, init_data_paths
from localai_desktop.core.datafolder.protection import finish_protection, needs_finishing
from localai_desktop.core.datafolder.settings import (
    DEFAULT_HUB_ENDPOINT,
    AppSettings,
    AppSettingsStore,
    resolve_hub_endpoint,
)
from localai_desktop.core.datafolder.workspaces import (
    WorkspaceDirectory,
    WorkspaceInfo,
)
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.finetune.jobs import JobStore
from localai_desktop.core.finetune.runner import FineTuneService
from localai_desktop.core.hub.catalog import Catalog, load_catalog
from localai_desktop.core.hub.downloads import DownloadManager
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.prompts.library import PromptLibrary
from localai_desktop.core.quantize.runner import remove_abandoned_copies
from localai_desktop.core.remotes.keychain_keys import RemoteKeychain
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.speed.measurement import MachineSpeed, measure_machine
from localai_desktop.core.speed.prediction import estimated_speed
from localai_desktop.core.storage import Database
from localai_desktop.core.vault.keys import Vault

if TYPE_CHECKING:
    from localai_desktop.core.hub.client import HubClient  # imports httpx: only when asked

log = logging.getLogger(__name__)

OfflineObserver = Callable[[bool], None]
# Asked for a protected workspace's passphrase; None when there is no way to get one.
PassphraseSource = Callable[[WorkspaceInfo], "str | None"]


class PassphraseNeededError(LocalAIError):
    """A protected workspace was opened with no passphrase to unlock it."""


def passphrase_needed(info: WorkspaceInfo) -> PassphraseNeededError:
    return PassphraseNeededError(
        f"The workspace '{info.name}' is protected with a passphrase, and none was given.",
        "Type it when asked, or set LOCALAI_PASSPHRASE, or pass it on standard input with "
        "--passphrase-stdin.",
    )


def unlock(paths: DataPaths, info: WorkspaceInfo, passphrase: PassphraseSource | None) -> Vault:
    """The workspace's Vault: the keychain's passphrase first, then `passphrase`'s."""
    saved = keychain.remembered(paths.root, info.id)
    if saved is not None:
        try:
            return info.key_file.unlock(saved)
        except LocalAIError:
            log.warning("The keychain's passphrase for %s no longer unlocks it", info.id)
    given = passphrase(info) if passphrase is not None else None
    if given is None:
        raise passphrase_needed(info)
    return info.key_file.unlock(given)


class Workspace:
    """The database, stores and services of one data folder; `close()` ends them in order."""

    def __init__(
        self, paths: DataPaths, *, vault: Vault | None = None, info: WorkspaceInfo | None = None
    ) -> None:
        self.paths = paths
        self.info = info or WorkspaceDirectory(paths).find(None)
        self.vault = vault
        set_content_protected(vault is not None)
        # What an earlier process killed mid-write left (a half-written settings file).
        remove_stale_temp_files(paths.root, TEMP_FILE_PREFIXES)
        if paths.workspace != paths.root:
            remove_stale_temp_files(paths.workspace, TEMP_FILE_PREFIXES)
        remove_abandoned_copies(paths.models)  # a quantization killed mid-way
        if vault is not None and needs_finishing(paths):
            finish_protection(paths, vault)  # protection was stopped mid-way: complete it
        self.db = Database(paths.database, vault=vault, library=paths.library)
        self.settings = AppSettingsStore(paths.settings)
        # Kept in the folder's own database: it moves with the folder's data.
        self.audit = AuditTrail(self.db)
        self.conversations = ConversationStore(self.db, audit=self.audit)
        self.registry = ModelRegistry(self.db, paths.models, audit=self.audit)
        # Adapters and fine-tuning files are sealed with the key when the workspace is protected.
        self.adapters = AdapterRegistry(self.db, paths.adapters, audit=self.audit, vault=vault)
        self.adapters.hide_file_names()  # those named before the workspace was protected
        self.documents = DocumentLibrary(self.db, self.registry, audit=self.audit)
        self.jobs = JobStore(self.db)
        self.prompts = PromptLibrary(self.db)
        # API keys: in the encrypted database when protected, else in the OS keychain (never
        # in a plaintext database); keys left where the other kind keeps them are moved.
        self.remotes = Remotes(
            self.db,
            is_offline=lambda: self.offline,
            keychain=RemoteKeychain(paths.root, self.info.id),
            keys_in_database=vault is not None,
        )
        self.remotes.store.take_keys_from_keychain()
        self.remotes.store.keep_keys_in_keychain()
        self.finetune = FineTuneService(
            self.db, self.registry, self.adapters, paths.finetune, vault=vault
        )
        self._offline = self.settings.load().offline_mode
        self._offline_observers: list[OfflineObserver] = []
        self._lock = threading.Lock()
        self._downloads: DownloadManager | None = None
        self._catalog: tuple[Catalog | None, str | None] | None = None
        self._closed = False

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        workspace: str | None = None,
        passphrase: PassphraseSource | None = None,
        vault: Vault | None = None,
    ) -> Workspace:
        """Resolve the data folder (see `resolve_data_dir`), create it if needed, and open the
        named workspace (default: the default one), unlocking it if it is protected. `vault`:
        already unlocked (the desktop app unwraps the key off its GUI thread)."""
        root = init_data_paths(data_dir)
        info = WorkspaceDirectory(root).find(workspace)
        paths = root.for_workspace(info.folder)
        if not info.protected:
            return cls(paths, info=info)
        if vault is None:
            vault = unlock(paths, info, passphrase)
        opened = cls(paths, vault=vault, info=info)
        opened.audit.record(UNLOCKED, workspace=info.id)
        return opened

    @property
    def protected(self) -> bool:
        return self.vault is not None

    @property
    def export_passphrase(self) -> str | None:
        """What encrypts exports (age format: the standard tool opens them with the same
        passphrase); kept in memory with the key while the workspace is open."""
        return self.vault.passphrase if self.vault is not None else None

    @property
    def default_vault(self) -> Vault | None:
        """The default workspace's key when it is the one open (what 'delete all data' and
        the data folder's inventory need to read it)."""
        return self.vault if self.info.is_default else None

    # -- settings and the Hub ---------------------------------------------------------------------

    def load_settings(self) -> AppSettings:
        return self.settings.load()

    def machine_speed(self) -> MachineSpeed | None:
        """This computer's speed as measured last (kept in the settings); None if never."""
        return MachineSpeed.from_json(self.settings.load().machine_speed)

    def speed_for_predictions(self) -> MachineSpeed:
        """The measured speed, or a typical one for this many cores until it is measured."""
        return self.machine_speed() or estimated_speed(os.cpu_count() or 1)

    def measure_machine_speed(self) -> MachineSpeed:
        """Measure this computer (a few seconds, on the calling thread) and keep the result."""
        speed = measure_machine()
        self.settings.update(machine_speed=speed.to_json())
        return speed

    def hub_endpoint(self, explicit: str | None = None, *, strict: bool = True) -> str:
        """The Hub address: `explicit`, else $HF_ENDPOINT, else the saved one. With
        strict=False a bad saved address falls back to the default (the window must open)."""
        try:
            return resolve_hub_endpoint(explicit, self.settings.load())
        except LocalAIError as error:
            if strict:
                raise
            log.warning("Using %s: %s", DEFAULT_HUB_ENDPOINT, error.message)
            return DEFAULT_HUB_ENDPOINT

    def catalog(self) -> tuple[Catalog | None, str | None]:
        """The curated catalog shipped with the app, or None and why it could not be read."""
        if self._catalog is None:
            try:
                self._catalog = (load_catalog(), None)
            except LocalAIError as error:
                log.error("The catalog could not be loaded: %s", error.message)
                self._catalog = (None, error.message)
        return self._catalog

    def hub_client(
        self,
        explicit_endpoint: str | None = None,
        *,
        offline: bool = False,
        timeout_s: float | None = None,
    ) -> HubClient:
        """A Hugging Face client for one task; offline if asked or if the workspace is."""
        from localai_desktop.core.hub.client import HubClient

        catalog, _ = self.catalog()
        endpoint = self.hub_endpoint(explicit_endpoint)
        # HubClient's own default timeout unless one is asked for.
        timeout = {} if timeout_s is None else {"timeout_s": timeout_s}
        return HubClient(endpoint, offline=offline or self.offline, catalog=catalog, **timeout)

    @property
    def downloads(self) -> DownloadManager:
        """The download queue, made on first use with the saved address and parallelism."""
        with self._lock:
            if self._downloads is None:
                settings = self.settings.load()
                self._downloads = DownloadManager(
                    self.db,
                    self.registry,
                    self.paths.models,
                    endpoint=self.hub_endpoint(strict=False),
                    offline=self._offline,
                    max_parallel=settings.max_parallel_downloads,
                )
            return self._downloads

    # -- offline mode -----------------------------------------------------------------------------

    @property
    def offline(self) -> bool:
        return self._offline

    def set_offline(self, offline: bool) -> None:
        """Switch offline mode: applied to downloads, told to every observer, and saved. It
        applies even when saving fails (a StorageError is raised after): a person who turns
        connections off must get that at once, remembered or not."""
        if offline == self._offline:
            return
        unsaved: LocalAIError | None = None
        try:
            self.settings.update(offline_mode=offline)
        except LocalAIError as error:
            unsaved = error
        self._apply_offline(offline)
        if unsaved is not None:
            raise unsaved

    def reload_offline(self) -> None:
        """Apply the saved offline mode after the settings file was replaced (an import)."""
        saved = self.settings.load().offline_mode
        if saved != self._offline:
            self._apply_offline(saved)

    def _apply_offline(self, offline: bool) -> None:
        self._offline = offline
        if self._downloads is not None:
            self._downloads.set_offline(offline)
        for observer in list(self._offline_observers):
            observer(offline)

    def observe_offline(self, observer: OfflineObserver) -> Callable[[], None]:
        """Call `observer(offline)` on every switch; returns a function that stops it."""
        self._offline_observers.append(observer)

        def stop() -> None:
            if observer in self._offline_observers:
                self._offline_observers.remove(observer)

        return stop

    # -- closing ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop downloads where they are (they resume at the next open), then the database."""
        if self._closed:
            return
        self._closed = True
        self._offline_observers.clear()
        if self._downloads is not None:
            self._downloads.shutdown()
        self.conversations.close()  # its search connection
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
