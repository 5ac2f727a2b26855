"""Errors in the OpenAI shape: an HTTP status, a type, a code, and a message a person can act on."""

from __future__ import annotations

from typing import Any

from localai_desktop.core.common.errors import (
    LocalAIError,
    ModelTooLargeError,
    NotFoundError,
)

INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
NOT_FOUND = "not_found_error"
RATE_LIMIT = "rate_limit_error"
SERVER_ERROR = "server_error"


# The longest Retry-After a busy model's 429 asks for.
MAX_RETRY_AFTER_S = 60


class ServerBusy(Exception):
    """Too many requests wait for this model; try again after `retry_after_s` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"busy; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class ApiError(Exception):
    """A request the server answers with an error; `body()` is what the client reads."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.retry_after_s = retry_after_s

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def from_local_error(error: LocalAIError) -> ApiError:
    """The API's answer to an error the core raised (its message already says what to do)."""
    if isinstance(error, NotFoundError):
        return ApiError(404, error.message, type=NOT_FOUND, code="model_not_found")
    if isinstance(error, ModelTooLargeError):
        return ApiError(507, error.message, type=SERVER_ERROR, code="model_too_large")
    return ApiError(500, error.message, type=SERVER_ERROR)


def unexpected_error() -> ApiError:
    return ApiError(
        500,
        "The server failed unexpectedly while answering. Try again; if it keeps happening, "
        "look at the app's log files for the cause.",
        type=SERVER_ERROR,
    )
