"""Which remote addresses are accepted, and how a remote model is named (`NAME/MODEL_ID`)."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from localai_desktop.core.common.errors import LocalAIError

# Names that only make sense on a local network (RFC 6762 .local, RFC 8375 .home.arpa, and
# the private suffixes practices use); a single-label name ("gpu-server") is local too.
_LOCAL_SUFFIXES = (".local", ".lan", ".home.arpa", ".internal", ".localdomain")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RemoteAddressError(LocalAIError):
    """A remote's address is refused (not https to a public address, malformed, ...)."""


@dataclass(frozen=True)
class BaseUrl:
    """A checked base URL: scheme, host and port, and the path the API lives under."""

    scheme: str  # "https" or "http"
    host: str
    port: int
    path: str  # "" or "/something", without the trailing "/v1"

    @property
    def url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = host if self.port == default else f"{host}:{self.port}"
        return urlunsplit((self.scheme, netloc, self.path, "", ""))

    def api_path(self, endpoint: str) -> str:
        """The request path of an endpoint such as "/chat/completions" (under /v1)."""
        return f"{self.path}/v1{endpoint}"


def checked_name(name: str) -> str:
    """A remote's name: letters, digits, '.', '-' and '_' (no '/', which separates the model)."""
    name = name.strip()
    if not _NAME.match(name):
        raise LocalAIError(
            f"'{name}' cannot name a remote engine.",
            "Use letters, digits, '.', '-' or '_' (no spaces or '/'), for example gpu-server.",
        )
    return name


def is_local_ip(address: str) -> bool:
    """True for this computer (loopback) and private or link-local network addresses."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def looks_local(host: str) -> bool:
    """True when the host names this computer or the local network by its very form: a
    loopback or private address, localhost, a single-label name or a local-only suffix."""
    host = host.lower().rstrip(".")
    if is_local_ip(host):
        return True
    try:
        ipaddress.ip_address(host)
        return False  # a public address
    except ValueError:
        pass
    return host == "localhost" or "." not in host or host.endswith(_LOCAL_SUFFIXES)


def check_base_url(url: str) -> BaseUrl:
    """The base URL a person typed, checked: https anywhere; http only to this computer or
    the local network (a key or a question in plain text must never cross the internet)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise RemoteAddressError(
            f"'{text}' is not a web address ({error}).",
            "Write it like https://gpu-server.clinic.lan:8000 (the engine's base URL).",
        ) from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("https", "http") or not host:
        raise RemoteAddressError(
            f"'{text}' is not a web address the app can use.",
            "Write it like https://gpu-server.clinic.lan:8000 (https, or http on your own "
            "network).",
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise RemoteAddressError(
            f"'{text}' has a user name, password, query or fragment in it.",
            "Give only the base URL; an API key goes in its own field (--api-key-stdin).",
        )
    if scheme == "http" and not looks_local(host):
        raise RemoteAddressError(
            f"'{text}' would send your text unencrypted (http) across the internet.",
            "Use https, or http only to this computer or an address on your own network.",
        )
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return BaseUrl(scheme, host, port or (443 if scheme == "https" else 80), path)


def resolved_addresses(host: str, port: int) -> list[str]:
    """The IP addresses a host name stands for (DNS or the hosts file)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise ConnectionError(f"the name {host} was not found ({error})") from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class ModelReference:
    """`NAME/MODEL_ID`: a model of the remote engine NAME (the id may itself contain '/')."""

    remote: str
    model_id: str

    @property
    def text(self) -> str:
        return f"{self.remote}/{self.model_id}"


def parse_reference(reference: str) -> ModelReference | None:
    """The remote and model of `NAME/MODEL_ID`, or None when it has no such form."""
    remote, sep, model_id = reference.strip().partition("/")
    if not sep or not remote or not model_id or not _NAME.match(remote):
        return None
    return ModelReference(remote, model_id)
