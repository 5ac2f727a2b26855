"""HubWorker: Hugging Face search, repo details and hardware detection off the GUI thread."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.hub.catalog import Catalog
from localai_desktop.core.hub.client import HubClient, HubError, OfflineModeError
from localai_desktop.core.models.hardware import detect_machine

log = logging.getLogger(__name__)

UNEXPECTED_HUB_ERROR = (
    "Something went wrong inside the app while asking Hugging Face. Try again; if it keeps "
    "happening, the log file in the app's data folder says more."
)
# How long closing the app waits for a request in flight: the client's own timeout, plus a bit.
_SHUTDOWN_WAIT_MS = 25_000


class HubWorker(QObject):
    """Owns one HubClient on its own thread; requests come in queued, results go out as data.

    Every request carries an id chosen by the view, repeated in the result, so the view can drop
    answers to questions it no longer asks. A request already superseded by a newer one of the
    same kind when its turn comes is skipped without touching the network.
    """

    machine_detected = Signal(object)
    """This computer's memory and GPUs are known: (hardware.Machine)."""
    search_finished = Signal(int, object)
    """Search results arrived: (request_id, list of hub_models.HubModelSummary)."""
    details_ready = Signal(int, object, object)
    """A repo's files are known: (request_id, hub_models.RepoDetails, hardware.ModelFacts)."""
    request_failed = Signal(int, str, bool)
    """A search or details request failed: (request_id, message for the user, whether it
    failed because offline mode is on)."""

    def __init__(self, endpoint: str, *, offline: bool, catalog: Catalog | None) -> None:
        super().__init__()
        self._client = HubClient(endpoint, offline=offline, catalog=catalog)
        self._lock = threading.Lock()
        self._newest: dict[str, int] = {}
        self._thread: QThread | None = None

    @classmethod
    def start(cls, endpoint: str, *, offline: bool, catalog: Catalog | None) -> HubWorker:
        """Create a worker on its own, already running thread."""
        worker = cls(endpoint, offline=offline, catalog=catalog)
        thread = QThread()
        thread.setObjectName("hub-worker")
        worker.moveToThread(thread)
        thread.start()
        worker._thread = thread
        return worker

    @property
    def endpoint(self) -> str:
        return self._client.endpoint

    # -- called from the GUI thread -----------------------------------------------------------

    def note_request(self, kind: str, request_id: int) -> None:
        """Say that `request_id` is now the newest request of `kind` ("search", "details")."""
        with self._lock:
            self._newest[kind] = max(request_id, self._newest.get(kind, 0))

    def shutdown(self) -> None:
        """End the thread after the request in flight, if any (it cannot be interrupted)."""
        with self._lock:
            # Everything still queued is now stale: skip it without going online.
            self._newest = {kind: 1 << 62 for kind in ("search", "details")}
        if self._thread is not None:
            self._thread.quit()
            if not self._thread.wait(_SHUTDOWN_WAIT_MS):
                log.error("The Hub worker did not stop within %s ms", _SHUTDOWN_WAIT_MS)
            self._thread = None

    # -- slots, run on the worker's thread ------------------------------------------------------

    @Slot(bool)
    def set_offline(self, offline: bool) -> None:
        """Switch offline mode for the requests that follow (queued after earlier ones)."""
        self._client.offline = offline

    @Slot()
    def detect_machine(self) -> None:
        """Find out RAM, GPUs and whether llama.cpp can offload (runs nvidia-smi: seconds)."""
        try:
            machine = detect_machine()
        except Exception:
            log.exception("Detecting this computer's hardware failed")
            return
        self.machine_detected.emit(machine)

    @Slot(int, str, str)
    def search(self, request_id: int, query: str, sort: str) -> None:
        """Search GGUF repos on the Hub."""
        if self._is_stale("search", request_id):
            return
        try:
            results = self._client.search(query, sort=sort)
        except LocalAIError as error:
            self._fail(request_id, error)
        except Exception:
            log.exception("Searching the Hub failed unexpectedly")
            self.request_failed.emit(request_id, UNEXPECTED_HUB_ERROR, False)
        else:
            self.search_finished.emit(request_id, results)

    @Slot(int, str)
    def fetch_details(self, request_id: int, repo_id: str) -> None:
        """A repo's GGUF files with sizes, and its layer shapes for the memory estimate."""
        if self._is_stale("details", request_id):
            return
        try:
            details = self._client.details(repo_id)
            try:
                facts = self._client.model_facts(details)
            except HubError as error:
                # The file list is what matters; the estimate falls back to the parameter count.
                log.info("Could not read the layer shapes of %s: %s", repo_id, error)
                facts = details.facts
        except LocalAIError as error:
            self._fail(request_id, error)
        except Exception:
            log.exception("Reading %s from the Hub failed unexpectedly", repo_id)
            self.request_failed.emit(request_id, UNEXPECTED_HUB_ERROR, False)
        else:
            self.details_ready.emit(request_id, details, facts)

    def _is_stale(self, kind: str, request_id: int) -> bool:
        with self._lock:
            return request_id < self._newest.get(kind, 0)

    def _fail(self, request_id: int, error: LocalAIError) -> None:
        self.request_failed.emit(request_id, error.message, isinstance(error, OfflineModeError))
