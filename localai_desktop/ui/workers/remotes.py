"""RemoteModelsWorker: asks the remote engines for their models, off the GUI thread."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Signal, Slot

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.remotes.service import OfflineBlockedError, Remotes
from localai_desktop.ui.workers.base import ThreadWorker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteListing:
    """One remote engine as a model picker shows it (plain data, made on the worker)."""

    name: str
    host: str
    where: str  # "runs on HOST: your text is sent there"
    models: tuple[str, ...]
    problem: str | None = None  # why it is unavailable (None: it answered)
    blocked: bool = False  # offline mode is on and this remote is not allowed then

    @property
    def available(self) -> bool:
        return self.problem is None and not self.blocked

    def reference(self, model_id: str) -> str:
        """How the rest of the app names one of its models: NAME/MODEL_ID."""
        return f"{self.name}/{model_id}"


def list_remote_models(
    remotes: Remotes, cancel: Cancellation | None = None
) -> tuple[RemoteListing, ...]:
    """Every remote engine with its models, or why it cannot be used now (never raises for a
    remote's fault; each asks with the client's short timeout). A cancel stops between remotes,
    so a shutdown waits for one of them at most."""
    listings = []
    for remote in remotes.list():
        if cancel is not None and cancel.is_set():
            break
        try:
            remotes.check_allowed(remote)
        except OfflineBlockedError as error:
            listings.append(
                RemoteListing(remote.name, remote.host, remote.where, (), error.message, True)
            )
            continue
        status = remotes.status(remote)
        listings.append(
            RemoteListing(remote.name, remote.host, remote.where, status.models, status.problem)
        )
    return tuple(listings)


class RemoteModelsWorker(ThreadWorker):
    """Lists the remote engines' models on its own thread; only the newest request runs."""

    models_listed = Signal(object)
    """The remote engines and their models: (tuple of RemoteListing)."""
    listing_failed = Signal(str)
    """The remote engines could not be listed at all (the database, a bug): (what to say)."""

    _list_requested = Signal(int)
    """To this object's thread: (request_id)."""

    thread_name = "remote-models-worker"
    # A remote being asked cannot be interrupted: the client's short timeout, plus a bit.
    shutdown_wait_ms = 10_000

    def __init__(self, remotes: Remotes) -> None:
        super().__init__()
        self._remotes = remotes
        self._list_requested.connect(self._on_self_list_requested)

    # -- called from the GUI thread -----------------------------------------------------------

    def refresh(self) -> int:
        """Ask every remote for its models again; an older request still waiting is skipped."""
        request_id = self._requests.next_id()
        self._requests.supersede(request_id)
        self._list_requested.emit(request_id)
        return request_id

    # -- this object's thread -----------------------------------------------------------------

    @Slot(int)
    def _on_self_list_requested(self, request_id: int) -> None:
        with self._requests.running(request_id) as cancel:
            if cancel.is_set():
                return
            try:
                listings = list_remote_models(self._remotes, cancel)
            except LocalAIError as error:
                log.warning("The remote engines could not be listed: %s", error.message)
                if not cancel.is_set():
                    self.listing_failed.emit(error.message)
                return
            except Exception:
                log.exception("Listing the remote engines' models failed unexpectedly")
                if not cancel.is_set():
                    self.listing_failed.emit(
                        "The remote engines could not be listed because of an unexpected "
                        "problem. Try again; if it keeps happening, restart the app."
                    )
                return
            if not cancel.is_set():
                self.models_listed.emit(listings)
