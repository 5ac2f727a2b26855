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

from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.atomic_files import remove_stale_temp_files
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.paths import TEMP_FILE_PREFIXES, DataPaths, init_data_paths
from localai_desktop.core.datafolder.settings import (
    DEFAULT_HUB_ENDPOINT,
    AppSettings,
    AppSettingsStore,
    resolve_hub_endpoint,
)
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.finetune.jobs import JobStore
from localai_desktop.core.finetune.runner import FineTuneService
from localai_desktop.core.hub.catalog import Catalog, load_catalog
from localai_desktop.core.hub.downloads import DownloadManager
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.speed.measurement import MachineSpeed, measure_machine
from localai_desktop.core.speed.prediction import estimated_speed
from localai_desktop.core.storage import Database

if TYPE_CHECKING:
    from localai_desktop.core.hub.client import HubClient  # imports httpx: only when asked

log = logging.getLogger(__name__)

OfflineObserver = Callable[[bool], None]


class Workspace:
    """The database, stores and services of one data folder; `close()` ends them in order."""

    def __init__(self, paths: DataPaths) -> None:
        self.paths = paths
        # What an earlier process killed mid-write left (a half-written settings file).
        remove_stale_temp_files(paths.root, TEMP_FILE_PREFIXES)
        self.db = Database(paths.database)
        self.settings = AppSettingsStore(paths.settings)
        # Kept in the folder's own database: it moves with the folder's data.
        self.audit = AuditTrail(self.db)
        self.conversations = ConversationStore(self.db, audit=self.audit)
        self.registry = ModelRegistry(self.db, paths.models, audit=self.audit)
        self.adapters = AdapterRegistry(self.db, paths.adapters, audit=self.audit)
        self.documents = DocumentLibrary(self.db, self.registry, audit=self.audit)
        self.jobs = JobStore(self.db)
        self.finetune = FineTuneService(self.db, self.registry, self.adapters, paths.finetune)
        self._offline = self.settings.load().offline_mode
        self._offline_observers: list[OfflineObserver] = []
        self._lock = threading.Lock()
        self._downloads: DownloadManager | None = None
        self._catalog: tuple[Catalog | None, str | None] | None = None
        self._closed = False

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str] | None = None) -> Workspace:
        """Resolve the data folder (see `resolve_data_dir`), create it if needed, and open it."""
        return cls(init_data_paths(data_dir))

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
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
