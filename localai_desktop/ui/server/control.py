"""ServerControl: the local server's switch, settings and state, on the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from localai_desktop.core.datafolder.settings import AppSettings
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.server.access import ALL_INTERFACES, LOOPBACK_HOST
from localai_desktop.ui.workers.api_owner import WorkerModelOwner
from localai_desktop.ui.workers.api_server import ApiServerWorker, ServerAddress, ServerConfig
from localai_desktop.ui.workers.chat import ChatWorker
from localai_desktop.ui.workers.embedding import EmbeddingWorker

log = logging.getLogger(__name__)

# New API conversations reach the Chat tab's list at most this often: a busy client must not
# make the window re-read the list for every request.
CONVERSATIONS_REFRESH_MS = 500


@dataclass(frozen=True)
class ServerState:
    """What the settings page and the status line show (plain data)."""

    enabled: bool = False
    """Switched on in the settings."""
    address: ServerAddress | None = None
    """Where it listens; None while it does not run."""
    in_flight: int = 0
    """Requests waiting for a model or being answered."""
    error: str = ""
    """Why it does not run although switched on (a message with what to do)."""
    changing: bool = False
    """Starting or stopping."""

    @property
    def running(self) -> bool:
        return self.address is not None

    @property
    def open_to_network(self) -> bool:
        return self.address is not None and self.address.host == ALL_INTERFACES


def base_url(port: int) -> str:
    """The address programs on this computer use (`base_url` of an OpenAI client)."""
    return f"http://{LOOPBACK_HOST}:{port}/v1"


def network_base_urls(port: int) -> list[str]:
    """The addresses other computers on the local network use, from this computer's own
    network interfaces (read locally: nothing is sent to find them)."""
    import ipaddress

    import psutil

    urls = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            try:
                ip = ipaddress.ip_address(address.address)
            except ValueError:
                continue  # a hardware address, or an IPv6 one with a zone
            if ip.version == 4 and ip.is_private and not ip.is_loopback:
                urls.append(f"http://{ip}:{port}/v1")
    return sorted(set(urls))


class ServerControl(QObject):
    """Starts, restarts and stops the server as the settings say, off the GUI thread; tells
    its state as it changes. One per window: the window's chat and embedding workers answer.

    The setters save at once (LocalAIError when the settings file cannot be written) and
    apply: a new port or network choice restarts a running server.
    """

    state_changed = Signal(object)
    """The server started, stopped, failed or its requests changed: (ServerState)."""
    conversations_added = Signal()
    """API chats were kept as conversations (when that is switched on)."""

    def __init__(self, workspace: Workspace, chat: ChatWorker, embedding: EmbeddingWorker) -> None:
        super().__init__()
        self._settings = workspace.settings
        saved = self._settings.load()
        self.owner = WorkerModelOwner(
            chat, embedding, save_conversations=saved.server_save_conversations
        )
        self.worker = ApiServerWorker.start(workspace, self.owner)
        self._state = ServerState(enabled=saved.server_enabled)
        self._asked: ServerConfig | None = None  # what the worker was last asked to serve
        self._requests_sent = 0  # serve/stop requests the worker has not answered yet
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(CONVERSATIONS_REFRESH_MS)
        self._refresh.timeout.connect(self.conversations_added)
        self.worker.serving_started.connect(self._on_worker_serving_started)
        self.worker.serving_stopped.connect(self._on_worker_serving_stopped)
        self.worker.serving_failed.connect(self._on_worker_serving_failed)
        self.owner.in_flight_changed.connect(self._on_owner_in_flight_changed)
        self.owner.conversation_saved.connect(self._on_owner_conversation_saved)
        self._shut_down = False

    @property
    def state(self) -> ServerState:
        return self._state

    def settings(self) -> AppSettings:
        return self._settings.load()

    def access_token(self) -> str:
        """The token programs send as their API key (made and saved on first use)."""
        return self._settings.server_token()

    def regenerate_token(self) -> str:
        """A new token; programs still sending the old one are refused from now on."""
        return self._settings.server_token(regenerate=True)

    # -- switches (GUI thread) ----------------------------------------------------------------

    def start_if_enabled(self) -> None:
        """At the window's start: serve if the settings say so."""
        if self._settings.load().server_enabled:
            self._apply()

    def set_enabled(self, enabled: bool) -> None:
        self._settings.update(server_enabled=enabled)
        self._apply()

    def set_port(self, port: int) -> None:
        if port == self._settings.load().server_port:
            return
        self._settings.update(server_port=port)
        self._apply()

    def set_allow_network(self, allow: bool) -> None:
        if allow == self._settings.load().server_allow_network:
            return
        self._settings.update(server_allow_network=allow)
        self._apply()

    def set_save_conversations(self, save: bool) -> None:
        self._settings.update(server_save_conversations=save)
        self.owner.save_conversations = save

    def shutdown(self) -> None:
        """Stop the requests, then the server (waits for its thread; the window is closing)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._refresh.stop()
        self.owner.close()
        self.worker.shutdown()

    def _apply(self) -> None:
        settings = self._settings.load()
        wanted: ServerConfig | None = None
        if settings.server_enabled:
            host = ALL_INTERFACES if settings.server_allow_network else LOOPBACK_HOST
            wanted = ServerConfig(host=host, port=settings.server_port)
        self._set(enabled=wanted is not None)
        if wanted == self._asked:
            return
        if self._asked is not None:
            self.owner.cancel_all()  # their connections end with the server they came to
        self._asked = wanted
        self._set(error="")
        if wanted is None:
            self._send(self.worker.stop)
        else:
            self._send(lambda: self.worker.serve(wanted))

    def _send(self, request: Callable[[], None]) -> None:
        if self._shut_down:
            return
        self._requests_sent += 1
        self._set(changing=True)
        request()

    def _answered(self) -> bool:
        """Count one answer of the worker; whether it answers the latest request."""
        self._requests_sent = max(0, self._requests_sent - 1)
        return self._requests_sent == 0

    def _set(self, **changes: Any) -> None:
        state = replace(self._state, **changes)
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    # -- the workers' news --------------------------------------------------------------------

    @Slot(object)
    def _on_worker_serving_started(self, address: ServerAddress) -> None:
        latest = self._answered()
        self._set(address=address, error="", changing=not latest)

    @Slot()
    def _on_worker_serving_stopped(self) -> None:
        latest = self._answered()
        self._set(address=None, changing=not latest)

    @Slot(str)
    def _on_worker_serving_failed(self, message: str) -> None:
        latest = self._answered()
        log.warning("The local server did not start: %s", message)
        self._set(address=None, error=message, changing=not latest)

    @Slot(int)
    def _on_owner_in_flight_changed(self, _count: int) -> None:
        # Signals from many threads may arrive out of order: ask for the count now.
        self._set(in_flight=self.owner.in_flight)

    @Slot(int)
    def _on_owner_conversation_saved(self, _conversation_id: int) -> None:
        if not self._refresh.isActive():
            self._refresh.start()
