"""Asking the Hub within limits: each answer whole within a deadline and under a size.

httpx's timeouts bound each read, not the whole answer: a server that sends one byte at a
time never trips them, and one that sends gigabytes of "model info" fills memory. Every
answer the Hub client reads goes through `get_bounded`, which reads the body in pieces and
stops at the deadline or the size limit. The errors here are plain exceptions; the client
turns them into messages for people (`hub_error_from` in client.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# Far above any real answer: the model info of a repo with hundreds of files is a few MB.
MAX_ANSWER_BYTES = 32 * 1024**2
# Error answers are short; their text only goes into a message.
MAX_ERROR_BYTES = 64 * 1024


class AnswerTooSlowError(Exception):
    """The whole answer did not arrive within the deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer within {seconds:.0f} s")
        self.seconds = seconds


class AnswerTooLargeError(Exception):
    """The answer was larger than any real one."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"answer larger than {limit} bytes")
        self.limit = limit


def get_bounded(
    url: str,
    *,
    headers: dict[str, str],
    timeout_s: float,
    params: dict[str, Any] | None = None,
    max_bytes: int = MAX_ANSWER_BYTES,
    enough: Callable[[bytearray], bool] | None = None,
) -> bytes:
    """The body of a GET, read within `timeout_s` in all and at most `max_bytes` long.

    `enough(body)` may end the reading early (a file's first bytes). An error status raises
    what huggingface_hub raises for it (RepositoryNotFoundError, ...), from a body read within
    the same limits.
    """
    import httpx2
    from huggingface_hub.utils import get_session, hf_raise_for_status

    deadline = time.monotonic() + timeout_s
    body = bytearray()
    with get_session().stream(
        "GET", url, params=params, headers=headers, timeout=timeout_s
    ) as response:
        failed = response.status_code >= 400
        limit = MAX_ERROR_BYTES if failed else max_bytes
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                if failed:
                    break  # the status says enough
                raise AnswerTooLargeError(max_bytes)
            if time.monotonic() > deadline:
                raise AnswerTooSlowError(timeout_s)
            if enough is not None and enough(body):
                break
        if failed:
            # A copy that holds the body already: huggingface_hub would otherwise read the
            # rest of the stream, without limits, to word its error.
            kept = ("Content-Type", "X-Error-Code", "X-Error-Message")
            read = httpx2.Response(
                response.status_code,
                headers={k: response.headers[k] for k in kept if k in response.headers},
                content=bytes(body[:MAX_ERROR_BYTES]),
                request=response.request,
            )
            hf_raise_for_status(read)
    return bytes(body)
