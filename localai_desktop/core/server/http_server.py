"""`ApiServer`: the standard library's threading HTTP server, bound to 127.0.0.1 by default.

The standard library is enough here: one thread per connection (a handler mostly waits on its
job), server-sent events are a few lines by hand, and nothing new needs installing or
auditing. Closing it shuts every open connection, which cancels the jobs behind them.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import sys
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.server.access import ALL_INTERFACES, DEFAULT_PORT, LOOPBACK_HOST
from localai_desktop.core.server.api import ApiService
from localai_desktop.core.server.handler import ApiHandler

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024
# Closing waits this long for the handlers of open connections to end (their jobs cancelled).
_CLOSE_WAIT_S = 15.0


class ApiServer(ThreadingHTTPServer):
    """The OpenAI-compatible server; `start()` serves on a thread, `close()` stops it.

    `access_token` is asked on every request, so a regenerated token applies at once.
    """

    daemon_threads = True
    request_queue_size = 64  # connections accepted at once; a burst of clients must not stall

    def __init__(
        self,
        api: ApiService,
        access_token: Callable[[], str],
        *,
        host: str = LOOPBACK_HOST,
        port: int = DEFAULT_PORT,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.api = api
        self.access_token = access_token
        self.max_body_bytes = max_body_bytes
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_changed = threading.Condition()
        try:
            super().__init__((host, port), ApiHandler)
        except OSError as error:
            raise _listen_error(host, port, error) from error

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        """The address to give an OpenAI client (`base_url`), as reachable from this computer."""
        host = LOOPBACK_HOST if self.host == ALL_INTERFACES else self.host
        return f"http://{host}:{self.port}/v1"

    def start(self) -> None:
        """Serve on a background thread until `close()`."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="api-server"
        )
        self._thread.start()

    def close(self) -> None:
        """Stop accepting, release the port, and end every open connection: a request still
        running is cancelled (as if its client had left) and its handler ends."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()
        with self._connections_changed:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # the client closed it already
                    connection.shutdown(socket.SHUT_RDWR)
            if not self._connections_changed.wait_for(lambda: not self._connections, _CLOSE_WAIT_S):
                log.warning("%d connections still open after closing", len(self._connections))

    @property
    def open_connections(self) -> int:
        with self._connections_changed:
            return len(self._connections)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client resetting an idle keep-alive connection is ordinary, not worth a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("Connection from %s ended: %s", client_address, error)
        else:
            log.exception("A connection from %s failed", client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # Each connection's thread: known while it runs, so close() can end it.
        with self._connections_changed:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_changed:
                self._connections.discard(request)
                self._connections_changed.notify_all()


def _listen_error(host: str, port: int, error: OSError) -> LocalAIError:
    if error.errno == errno.EADDRINUSE:
        return LocalAIError(
            f"Port {port} on {host} is already in use (by another program, or another "
            "'localai serve').",
            "Choose another port with --port, or stop the other program.",
        )
    if error.errno in (errno.EACCES, errno.EPERM):
        return LocalAIError(
            f"This account may not listen on port {port}.", "Choose a port above 1023."
        )
    return LocalAIError(
        f"The server could not listen on {host}:{port} ({error.strerror or error}).",
        "Check the address given with --host, or choose another port with --port.",
    )
