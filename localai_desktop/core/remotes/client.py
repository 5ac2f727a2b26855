"""HTTP to a remote engine: TLS always verified, short timeouts, a stream a cancel closes."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from localai_desktop import __version__
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.remotes.addresses import BaseUrl, is_local_ip, resolved_addresses
from localai_desktop.core.remotes.store import Remote

LIST_TIMEOUT_S = 3.0  # `remotes list`, and the check before a turn
# A remote may load its model before the first token, and a long prompt takes a while.
STREAM_TIMEOUT_S = 120.0


class RemoteError(LocalAIError):
    """A remote engine could not be used: unreachable, refused the key, TLS, unknown model."""


class RemoteUnreachableError(RemoteError):
    """Nothing answered at the remote's address (or the name was not found)."""


def _ssl_context(remote: Remote) -> ssl.SSLContext:
    # The system's trusted authorities plus the remote's own CA file; hostname and chain are
    # always checked (create_default_context), with no switch to turn that off.
    context = ssl.create_default_context()
    if remote.ca_file:
        try:
            context.load_verify_locations(cafile=remote.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise RemoteError(
                f"The CA file of the remote engine '{remote.name}' cannot be read ({error}).",
                "Choose the authority's certificate (PEM) again: localai remotes rm, then add.",
            ) from None
    return context


class RemoteClient:
    """Requests to one remote engine. Plain http goes only to local addresses: the host is
    resolved first and refused if any of its addresses is public (no silent fallback)."""

    def __init__(self, remote: Remote, *, local_only: bool = False) -> None:
        self.remote = remote
        self.local_only = local_only
        self.address: BaseUrl = remote.address

    # -- connections ------------------------------------------------------------------------

    def _connection(self, timeout: float) -> tuple[http.client.HTTPConnection, dict[str, str]]:
        address = self.address
        headers = {"User-Agent": f"LocalAI-Desktop/{__version__}", "Accept": "application/json"}
        if self.remote.api_key:
            headers["Authorization"] = f"Bearer {self.remote.api_key}"
        if address.scheme == "https":
            context = _ssl_context(self.remote)
            if self.local_only:
                self._refuse_public(resolved_addresses(address.host, address.port))
            return (
                http.client.HTTPSConnection(
                    address.host, address.port, timeout=timeout, context=context
                ),
                headers,
            )
        ips = resolved_addresses(address.host, address.port)
        self._refuse_public(ips)
        # Connect to an address just checked (each in turn: "localhost" may be ::1 first while
        # the server listens on 127.0.0.1 only); the Host header keeps the name.
        headers["Host"] = address.host if address.port == 80 else f"{address.host}:{address.port}"
        failure: OSError | None = None
        for ip in ips:
            connection = http.client.HTTPConnection(ip, address.port, timeout=timeout)
            try:
                connection.connect()
            except OSError as error:
                connection.close()
                failure = error
                continue
            return connection, headers
        raise ConnectionError(str(failure or "no address"))

    def _refuse_public(self, ips: list[str]) -> None:
        public = [ip for ip in ips if not is_local_ip(ip)]
        if not public:
            return
        host = self.address.host
        if self.local_only:
            raise RemoteError(
                f"Offline mode is on and '{host}' leads to a public internet address "
                f"({public[0]}), so the remote engine '{self.remote.name}' is not used.",
                "Turn offline mode off to use it.",
            )
        raise RemoteError(
            f"'{host}' leads to a public internet address ({public[0]}); the app does not "
            "send text there without encryption.",
            "Use the server's https address, or its address on your own network.",
        )

    @contextmanager
    def _response(
        self, method: str, endpoint: str, body: dict[str, Any] | None, timeout: float
    ) -> Iterator[http.client.HTTPResponse]:
        where = f"the remote engine '{self.remote.name}' at {self.remote.base_url}"
        try:
            connection, headers = self._connection(timeout)
        except ConnectionError as error:
            raise self._unreachable(str(error)) from None
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            try:
                connection.request(method, self.address.api_path(endpoint), data, headers)
                response = connection.getresponse()
            except ssl.SSLCertVerificationError as error:
                raise RemoteError(
                    f"The certificate of {where} is not trusted ({error.verify_message}).",
                    "If your practice signs its own certificates, choose its CA file "
                    "(--ca-file). The app never skips this check.",
                ) from None
            except ssl.SSLError as error:
                raise RemoteError(
                    f"A secure (TLS) connection to {where} failed ({error.reason or error}).",
                    "Check that the address is the server's https address and port.",
                ) from None
            except TimeoutError:
                raise self._unreachable("it did not answer in time") from None
            except (ConnectionError, OSError, http.client.HTTPException) as error:
                raise self._unreachable(str(error) or type(error).__name__) from None
            if response.status >= 400:
                raise self._refused(response)
            yield response
        finally:
            connection.close()

    def _unreachable(self, why: str) -> RemoteUnreachableError:
        return RemoteUnreachableError(
            f"The remote engine '{self.remote.name}' at {self.remote.base_url} cannot be "
            f"reached ({why}).",
            "Check that the server is running and that this computer can reach it (network, "
            "VPN), then try again.",
        )

    def _refused(self, response: http.client.HTTPResponse) -> RemoteError:
        try:
            detail = _error_detail(response.read(4096))
        except (OSError, http.client.HTTPException):
            detail = ""
        name = self.remote.name
        if response.status in (401, 403):
            if self.remote.api_key:
                return RemoteError(
                    f"The remote engine '{name}' refused the API key.",
                    "Ask whoever runs the server for a valid key, then add the remote again "
                    "with it (localai remotes rm, then add --api-key-stdin).",
                )
            return RemoteError(
                f"The remote engine '{name}' needs an API key.",
                "Add the remote again with its key (localai remotes rm, then add --api-key-stdin).",
            )
        if response.status == 404:
            return RemoteError(
                f"The remote engine '{name}' does not know this request or model"
                + (f" ({detail})." if detail else "."),
                "Check the base URL (it is the address before /v1) and the model's id "
                "(localai remotes list).",
            )
        return RemoteError(
            f"The remote engine '{name}' answered with an error ({response.status}"
            + (f": {detail}" if detail else "")
            + ").",
            "Try again; if it keeps failing, ask whoever runs the server.",
        )

    # -- requests ---------------------------------------------------------------------------

    def models(self, timeout: float = LIST_TIMEOUT_S) -> list[str]:
        """The ids of the remote's models (GET /v1/models)."""
        with self._response("GET", "/models", None, timeout) as response:
            payload = _json(response.read())
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise RemoteError(
                f"The remote engine '{self.remote.name}' did not list its models as an "
                "OpenAI-compatible server does.",
                "Check the base URL: it is the server's address before /v1.",
            )
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]

    def stream(
        self,
        endpoint: str,
        body: dict[str, Any],
        cancel: Cancellation,
        timeout: float = STREAM_TIMEOUT_S,
    ) -> Iterator[dict[str, Any]]:
        """The events of a server-sent-event stream, as JSON objects, until [DONE].

        A cancel shuts the socket down at once (from whichever thread sets it), which ends a
        read that is waiting for the next event; the generator then simply stops.
        """
        with self._response("POST", endpoint, body, timeout) as response:
            sock = _socket_of(response)
            lock = threading.Lock()

            def close_now() -> None:
                with lock:
                    if sock is not None:
                        with suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)

            remove = cancel.add_callback(close_now)
            try:
                while not cancel.is_set():
                    try:
                        line = response.readline()
                    except (OSError, ValueError, http.client.HTTPException) as error:
                        if cancel.is_set():
                            return
                        if isinstance(error, TimeoutError):
                            raise self._unreachable("it stopped answering") from None
                        raise self._unreachable(str(error) or type(error).__name__) from None
                    if not line:
                        return
                    text = line.decode("utf-8", "replace").strip()
                    if not text.startswith("data:"):
                        continue
                    data = text[len("data:") :].strip()
                    if data == "[DONE]":
                        return
                    event = _json(data.encode("utf-8"))
                    if isinstance(event, dict) and "error" in event:
                        raise RemoteError(
                            f"The remote engine '{self.remote.name}' stopped with an error "
                            f"({_error_detail(data.encode('utf-8'))}).",
                            "Try again; if it keeps failing, ask whoever runs the server.",
                        )
                    if isinstance(event, dict):
                        yield event
            finally:
                remove()


def _socket_of(response: http.client.HTTPResponse) -> socket.socket | None:
    raw = getattr(response.fp, "raw", None)
    return getattr(raw, "_sock", None)


def _json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _error_detail(data: bytes) -> str:
    """The message of an OpenAI-shaped (or FastAPI-shaped) error body, short."""
    payload = _json(data)
    message: Any = None
    if isinstance(payload, dict):
        error = payload.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        message = message or payload.get("detail") or payload.get("message")
    if message is None:
        message = data.decode("utf-8", "replace")
    return str(message).strip()[:300]
