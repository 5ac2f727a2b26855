"""Loaded by every Python child process of the privacy test (PYTHONPATH): records each attempt
to open a network connection in $LOCALAI_PRIVACY_LOG and refuses it; notes the child's start
in the same folder, so the test knows the children really ran under this guard."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

_LOG = os.environ.get("LOCALAI_PRIVACY_LOG")


def _note(file_name: str, line: str) -> None:
    assert _LOG is not None
    with open(os.path.join(os.path.dirname(_LOG), file_name), "a", encoding="utf-8") as f:
        f.write(line.replace("\n", " ") + "\n")


def _refuse(what: str) -> OSError:
    _note(os.path.basename(_LOG or "attempts.log"), f"{sys.orig_argv!r}: {what}")
    return ConnectionRefusedError(f"network blocked by the privacy test: {what}")


def _install() -> None:
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_sendto = socket.socket.sendto

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family == socket.AF_UNIX:
            return real_connect(sock, address)
        raise _refuse(f"connect {address}")

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if sock.family == socket.AF_UNIX:
            return real_connect_ex(sock, address)
        raise _refuse(f"connect_ex {address}")

    def sendto(sock: socket.socket, data: bytes, *args: Any) -> int:
        if sock.family == socket.AF_UNIX:
            return real_sendto(sock, data, *args)
        raise _refuse(f"sendto {args[-1]!r}")

    def resolve(name: str) -> Any:
        def refuse_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
            raise _refuse(f"{name} {host}")

        return refuse_lookup

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign]
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        setattr(socket, name, resolve(name))
    _note("children.log", repr(sys.orig_argv))


if _LOG:
    _install()
