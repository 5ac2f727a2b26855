"""Who may use the server: the access token, and where it listens (this computer or network)."""

from __future__ import annotations

import hmac
import ipaddress

LOOPBACK_HOST = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"
DEFAULT_PORT = 8000

NETWORK_WARNING = (
    "The server accepts connections from other computers (listening on {host}:{port}). "
    "Anyone on your network who has the access token can use your models, and requests and "
    "answers travel unencrypted (plain HTTP), so others on the network could read them and the "
    "token. Allow this only on a network you trust; stop the server when you no longer need it."
)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header (what OpenAI clients send)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_matches(sent: str | None, expected: str) -> bool:
    """Whether the sent token is the access token, in constant time; no token matches ''."""
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the server reachable from this computer only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
