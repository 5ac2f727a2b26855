"""ApiServerWorker: starts and stops the local server (core/server) off the GUI thread.

Listening is quick, but stopping waits for open connections to end, so both happen on this
worker's thread. The server answers each connection on a thread of its own; the work itself
goes to the `WorkerModelOwner` (the app's chat and embedding workers).
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass

from PySide6.QtCore import Signal, Slot

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.generation import DEFAULT_CONTEXT_LENGTH
from localai_desktop.core.server.api import ApiService, audit_recorder
from localai_desktop.core.server.http_server import ApiServer
from localai_desktop.core.server.owner import ModelOwner
from localai_desktop.ui.workers.base import ThreadWorker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    """Where to listen, and the context length chat models are loaded with for the API."""

    host: str
    port: int
    context_length: int = DEFAULT_CONTEXT_LENGTH


@dataclass(frozen=True)
class ServerAddress:
    """Where a started server listens (plain data for the GUI)."""

    host: str
    port: int
    base_url: str


class ApiServerWorker(ThreadWorker):
    """Owns the running `ApiServer`, if any. `serve` (re)starts it, `stop` stops it; both
    return at once and answer by signal. Requests are recorded in the workspace's audit trail
    (hashes, never text)."""

    serving_started = Signal(object)
    """The server listens: (ServerAddress)."""
    serving_stopped = Signal()
    """The server stopped (or was not running)."""
    serving_failed = Signal(str)
    """The server could not start: (message for the user, with what to do)."""

    _serve_requested = Signal(object)
    """To this worker's thread: (ServerConfig)."""
    _stop_requested = Signal()

    thread_name = "api-server"
    shutdown_wait_ms = 30_000

    def __init__(self, workspace: Workspace, owner: ModelOwner) -> None:
        super().__init__()
        self._workspace = workspace
        self._owner = owner
        self._server: ApiServer | None = None
        self._serve_requested.connect(self._on_self_serve_requested)
        self._stop_requested.connect(self._on_self_stop_requested)

    # -- called from the GUI thread -----------------------------------------------------------

    def serve(self, config: ServerConfig) -> None:
        """Start the server as `config` says (stopping the one running first)."""
        self._serve_requested.emit(config)

    def stop(self) -> None:
        self._stop_requested.emit()

    def _release(self) -> None:
        # The thread has ended: nothing else touches the server now.
        self._close_server()

    # -- this worker's thread -----------------------------------------------------------------

    @Slot(object)
    def _on_self_serve_requested(self, config: ServerConfig) -> None:
        self._close_server()
        if self._shut_down:
            return
        workspace = self._workspace
        try:
            workspace.settings.server_token()  # made on first use, so clients can be given it
            api = ApiService(
                workspace.registry,
                self._owner,
                context_length=config.context_length,
                recorder=audit_recorder(workspace.audit),
            )
            server = ApiServer(api, self._access_token, host=config.host, port=config.port)
            server.start()
        except LocalAIError as error:
            self.serving_failed.emit(_start_failure(error, config))
            return
        except Exception:
            log.exception("Starting the local server failed unexpectedly")
            self.serving_failed.emit(
                "The server could not start because of a problem inside the app. Try again; "
                "the log file in the app's data folder says more."
            )
            return
        self._server = server
        log.info("Local server listening on %s:%s", server.host, server.port)
        self.serving_started.emit(ServerAddress(server.host, server.port, server.base_url))

    @Slot()
    def _on_self_stop_requested(self) -> None:
        self._close_server()
        self.serving_stopped.emit()

    def _access_token(self) -> str:
        # Asked on every request, so a regenerated token applies at once (on any thread).
        return self._workspace.settings.load().server_token

    def _close_server(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            log.info("Local server stopped")


def _start_failure(error: LocalAIError, config: ServerConfig) -> str:
    """The start error in the settings' words (the core's hints name command-line options)."""
    cause = error.__cause__
    code = cause.errno if isinstance(cause, OSError) else None
    if code == errno.EADDRINUSE:
        return (
            f"Port {config.port} is already used by another program (perhaps 'localai serve' "
            "or another server). Choose another port, or stop the other program."
        )
    if code in (errno.EACCES, errno.EPERM):
        return f"This account may not use port {config.port}. Choose a port above 1023."
    return error.message
