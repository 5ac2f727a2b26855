"""HubWorker: Hugging Face search, repo details and hardware detection off the GUI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal, Slot

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.hub.catalog import Catalog
from localai_desktop.core.hub.client import HubClient, HubError, OfflineModeError
from localai_desktop.core.models.hardware import detect_machine
from localai_desktop.ui.workers.base import RequestCancellations, ThreadWorker

log = logging.getLogger(__name__)

UNEXPECTED_HUB_ERROR = (
    "Something went wrong inside the app while asking Hugging Face. Try again; if it keeps "
    "happening, the log file in the app's data folder says more."
)


class HubWorker(ThreadWorker):
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

    thread_name = "hub-worker"
    # A request in flight cannot be interrupted: the client's own timeout, plus a bit.
    shutdown_wait_ms = 25_000

    def __init__(self, endpoint: str, *, offline: bool, catalog: Catalog | None) -> None:
        super().__init__()
        self._client = HubClient(endpoint, offline=offline, catalog=catalog)
        # Only the newest request of each kind counts; an older one is skipped when its turn
        # comes, without going online.
        self._requests_by_kind = {kind: RequestCancellations() for kind in ("search", "details")}

    @property
    def endpoint(self) -> str:
        return self._client.endpoint

    # -- called from the GUI thread -----------------------------------------------------------

    def note_request(self, kind: str, request_id: int) -> None:
        """Say that `request_id` is now the newest request of `kind` ("search", "details")."""
        self._requests_by_kind[kind].supersede(request_id)

    def _stop_work(self) -> None:
        # The request in flight ends by itself; everything still queued is skipped.
        super()._stop_work()
        for requests in self._requests_by_kind.values():
            requests.close()

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
        if self._requests_by_kind["search"].is_cancelled(request_id):
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
        if self._requests_by_kind["details"].is_cancelled(request_id):
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

    def _fail(self, request_id: int, error: LocalAIError) -> None:
        self.request_failed.emit(request_id, error.message, isinstance(error, OfflineModeError))
