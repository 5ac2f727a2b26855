"""One HTTP connection's requests: the token, the body, the job, and its answer (JSON or SSE).

Kept thin: the handler checks the token, reads the body, lets `parsing` and `ApiService` turn
it into a job, then waits for the job's events and writes them, as one JSON answer or as
server-sent events. While it waits it watches the connection: a client that hangs up cancels
its job at once, whether it was still queued, reading the prompt, or streaming.
"""

from __future__ import annotations

import json
import logging
import queue
import select
import socket
import struct
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from localai_desktop import __version__
from localai_desktop.core.server.access import bearer_token, token_matches
from localai_desktop.core.server.errors import (
    AUTHENTICATION,
    NOT_FOUND,
    SERVER_ERROR,
    ApiError,
    bad_request,
    unexpected_error,
)
from localai_desktop.core.server.jobs import (
    CANCELLED,
    EmbeddingJob,
    Embeddings,
    Failed,
    Finished,
    GenerationJob,
    JobEvent,
    Piece,
    Started,
)
from localai_desktop.core.server.parsing import (
    parse_chat_request,
    parse_completion_request,
    parse_embedding_request,
    read_json_object,
)
from localai_desktop.core.server.responses import (
    Answer,
    Usage,
    chat_chunk,
    chat_completion,
    embedding_list,
    text_completion,
    usage_chunk,
)

if TYPE_CHECKING:
    from localai_desktop.core.server.http_server import ApiServer

log = logging.getLogger(__name__)

# A body somewhat over the limit is read and dropped, so the client reads the 413 rather than
# a reset connection; a far bigger one is not worth reading.
_DRAIN_LIMIT_BYTES = 32 * 1024 * 1024
# How often a waiting handler looks whether its client is still there.
_POLL_S = 0.05
# A connection silent this long (a stalled upload, an idle keep-alive) is closed.
SOCKET_TIMEOUT_S = 120.0
# After a client left, how long the handler waits for its job to end before recording it.
_RECORD_WAIT_S = 10.0

CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"
EMBEDDINGS_PATH = "/v1/embeddings"
MODELS_PATH = "/v1/models"
_ENDPOINTS = (
    "GET /v1/models, POST /v1/chat/completions, POST /v1/completions and POST /v1/embeddings"
)


class _ClientGone(Exception):
    """The client closed the connection; its job was cancelled."""


class ApiHandler(BaseHTTPRequestHandler):
    """One connection: its requests, one after another (keep-alive)."""

    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streams
    server_version = f"LocalAI-Desktop/{__version__}"
    timeout = SOCKET_TIMEOUT_S
    server: ApiServer

    # -- requests ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_POST

    def _handle(self) -> None:
        self._unread_body = self._has_body()
        self._streaming = False
        self._held: JobEvent | None = None
        try:
            self._route()
        except ApiError as error:
            self._send_error(error)
        except (_ClientGone, OSError) as error:
            log.debug("Client went away: %s", error)
            self.close_connection = True
        except Exception:
            log.exception("The API failed on %s", self.requestline)
            self._send_error(unexpected_error())

    def _route(self) -> None:
        path = unquote(urlsplit(self.path).path).rstrip("/")
        if path == MODELS_PATH or path.startswith(MODELS_PATH + "/"):
            self._authenticate()
            self._expect("GET", path)
            name = path[len(MODELS_PATH) + 1 :]
            api = self.server.api
            self._send_json(200, api.model_info(name) if name else api.model_list())
        elif path in (CHAT_PATH, COMPLETIONS_PATH, EMBEDDINGS_PATH):
            self._authenticate()
            self._expect("POST", path)
            body = self._read_body()
            if path == CHAT_PATH:
                self._chat(body)
            elif path == COMPLETIONS_PATH:
                self._completion(body)
            else:
                self._embeddings(body)
        else:
            raise ApiError(
                404,
                f"There is no {path or '/'} here. This server offers {_ENDPOINTS}, under the "
                "base URL http://HOST:PORT/v1.",
                type=NOT_FOUND,
                code="unknown_url",
            )

    def _authenticate(self) -> None:
        sent = bearer_token(self.headers.get("Authorization"))
        if sent is None:
            raise ApiError(
                401,
                "This server needs its access token: send it as 'Authorization: Bearer TOKEN' "
                "(an OpenAI client's api_key). The app shows it in Settings > Other programs; "
                "'localai server token' prints it.",
                type=AUTHENTICATION,
                code="missing_api_key",
            )
        if not token_matches(sent, self.server.access_token()):
            raise ApiError(
                401,
                "The access token is wrong (it changes when it is regenerated). Use the one the "
                "app shows in Settings > Other programs, or that 'localai server token' prints.",
                type=AUTHENTICATION,
                code="invalid_api_key",
            )

    def _expect(self, method: str, path: str) -> None:
        if self.command != method:
            raise ApiError(
                405, f"{path} answers {method} requests only.", code="method_not_allowed"
            )

    def _has_body(self) -> bool:
        return bool(self.headers.get("Transfer-Encoding")) or self.headers.get(
            "Content-Length", "0"
        ).strip() not in ("", "0")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(
                411, "Send the request body with a Content-Length header.", code="length_required"
            )
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise bad_request("The Content-Length header is not a number.") from None
        if length < 0:
            raise bad_request("The Content-Length header is negative.")
        limit = self.server.max_body_bytes
        if length > limit:
            if length <= _DRAIN_LIMIT_BYTES:
                self._drop_body(length)
            raise ApiError(
                413,
                f"The request is {length:,} bytes, more than the {limit:,} this server accepts. "
                "Send fewer or shorter texts per request.",
                code="request_too_large",
            )
        body = self.rfile.read(length)
        if len(body) < length:
            raise _ClientGone("the body ended early")
        self._unread_body = False
        return body

    def _drop_body(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)
        self._unread_body = False

    # -- endpoints --------------------------------------------------------------------------

    def _chat(self, body: bytes) -> None:
        request = parse_chat_request(read_json_object(body))
        job = self.server.api.start_chat(request)
        answer = Answer.new("chatcmpl", job.model.name)
        self._serve_generation(CHAT_PATH, body, job, answer, request.stream, request.include_usage)

    def _completion(self, body: bytes) -> None:
        request = parse_completion_request(read_json_object(body))
        job = self.server.api.start_completion(request)
        answer = Answer.new("cmpl", job.model.name)
        self._serve_generation(
            COMPLETIONS_PATH, body, job, answer, request.stream, request.include_usage
        )

    def _embeddings(self, body: bytes) -> None:
        request = parse_embedding_request(read_json_object(body))
        job = self.server.api.start_embedding(request)
        result: Embeddings | None = None
        try:
            result = self._wait_for_embeddings(job)
            self._send_json(
                200,
                embedding_list(
                    job.model.name,
                    result.vectors,
                    prompt_tokens=result.prompt_tokens,
                    encoding=request.encoding_format,
                ),
            )
        finally:
            self._record_embeddings(body, job, result)

    # -- generation -------------------------------------------------------------------------

    def _serve_generation(
        self,
        endpoint: str,
        body: bytes,
        job: GenerationJob,
        answer: Answer,
        stream: bool,
        include_usage: bool,
    ) -> None:
        try:
            first = self._next_event(job)
            if isinstance(first, Failed):
                raise first.error
            if not isinstance(first, Started):
                raise _stopping()
            if stream:
                self._stream(job, answer, include_usage, chat=endpoint == CHAT_PATH)
            else:
                self._answer_whole(job, answer, chat=endpoint == CHAT_PATH)
        finally:
            self._record_generation(endpoint, body, job)

    def _answer_whole(self, job: GenerationJob, answer: Answer, *, chat: bool) -> None:
        while True:
            event = self._next_event(job)
            if isinstance(event, Failed):
                raise event.error
            if isinstance(event, Finished):
                if event.finish_reason == CANCELLED:
                    raise _stopping()
                usage = Usage(event.prompt_tokens, event.completion_tokens, event.cached_tokens)
                if chat:
                    self._send_json(
                        200, chat_completion(answer, job.text, event.finish_reason, usage)
                    )
                else:
                    self._send_json(
                        200, text_completion(answer, job.text, event.finish_reason, usage)
                    )
                return

    def _stream(
        self, job: GenerationJob, answer: Answer, include_usage: bool, *, chat: bool
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._streaming = True
        try:
            if chat:
                self._send_event(chat_chunk(answer, content="", role=True))
            while True:
                event = self._next_event(job)
                if isinstance(event, Piece):
                    text = event.text + self._more_text(job)
                    if chat:
                        self._send_event(chat_chunk(answer, content=text))
                    else:
                        self._send_event(text_completion(answer, text, None, None))
                elif isinstance(event, Failed):
                    self._send_event(event.error.body())
                    break
                elif isinstance(event, Finished):
                    if event.finish_reason == CANCELLED:  # the server is stopping
                        self.close_connection = True
                        return
                    self._finish_stream(answer, event, include_usage, chat=chat)
                    break
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
        except OSError as error:
            job.cancel.set()
            raise _ClientGone(str(error)) from error

    def _finish_stream(
        self, answer: Answer, event: Finished, include_usage: bool, *, chat: bool
    ) -> None:
        reason = event.finish_reason
        if chat:
            self._send_event(chat_chunk(answer, finish_reason=reason))
        else:
            self._send_event(text_completion(answer, "", reason, None))
        if include_usage:
            usage = Usage(event.prompt_tokens, event.completion_tokens, event.cached_tokens)
            kind = "chat.completion.chunk" if chat else "text_completion"
            self._send_event(usage_chunk(answer, usage, object_name=kind))

    def _next_event(self, job: GenerationJob) -> JobEvent:
        """The job's next event; cancels the job and raises _ClientGone if the client left."""
        if self._held is not None:
            event, self._held = self._held, None
            return event
        while True:
            try:
                return job.events.get(timeout=_POLL_S)
            except queue.Empty:
                if self._client_gone():
                    job.cancel.set()
                    raise _ClientGone("closed while waiting") from None

    def _more_text(self, job: GenerationJob) -> str:
        """Text pieces already waiting, joined: one chunk instead of many when the client is
        slower than the model."""
        parts: list[str] = []
        while True:
            try:
                event = job.events.get_nowait()
            except queue.Empty:
                break
            if not isinstance(event, Piece):
                self._held = event
                break
            parts.append(event.text)
        return "".join(parts)

    def _record_generation(self, endpoint: str, body: bytes, job: GenerationJob) -> None:
        if not job.done.wait(_RECORD_WAIT_S):
            # Still waiting its turn behind a long answer: it ends (cancelled) when it comes up.
            log.debug("An API job had not ended %.0f s after its client left", _RECORD_WAIT_S)
        outcome = job.outcome
        if isinstance(outcome, Finished):
            self.server.api.record(
                endpoint,
                job.model,
                body,
                job.text.encode("utf-8"),
                outcome=outcome.finish_reason,
                prompt_tokens=outcome.prompt_tokens,
                completion_tokens=outcome.completion_tokens,
            )
        else:  # failed, or cancelled while it still waited its turn
            outcome_name = CANCELLED if job.cancel.is_set() else "error"
            self.server.api.record(endpoint, job.model, body, b"", outcome=outcome_name)

    # -- embeddings -------------------------------------------------------------------------

    def _wait_for_embeddings(self, job: EmbeddingJob) -> Embeddings:
        while True:
            try:
                result = job.result.result(timeout=_POLL_S)
            except FutureTimeout:
                if self._client_gone():
                    job.cancel.set()
                    raise _ClientGone("closed while waiting") from None
                continue
            if result is None:
                raise _stopping()
            return result

    def _record_embeddings(self, body: bytes, job: EmbeddingJob, result: Embeddings | None) -> None:
        if result is None:
            self.server.api.record(EMBEDDINGS_PATH, job.model, body, b"", outcome="error")
            return
        vectors = b"".join(struct.pack(f"<{len(v)}f", *v) for v in result.vectors)
        self.server.api.record(
            EMBEDDINGS_PATH,
            job.model,
            body,
            vectors,
            outcome="stop",
            prompt_tokens=result.prompt_tokens,
        )

    # -- writing ----------------------------------------------------------------------------

    def _client_gone(self) -> bool:
        """Whether the client closed its end (readable, and reading would return nothing)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _send_json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self._unread_body:  # the rest of the request is still on the line: start afresh
            self.close_connection = True
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: ApiError) -> None:
        if self._streaming:  # too late for a status: end the stream where it is
            self.close_connection = True
            return
        headers: dict[str, str] = {}
        if error.retry_after_s is not None:
            headers["Retry-After"] = str(error.retry_after_s)
        if error.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if error.status >= 500:
            log.warning("API error %s: %s", error.status, error.message)
        try:
            self._send_json(error.status, error.body(), headers)
        except OSError:
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a malformed request line, an unknown method), as JSON."""
        self._unread_body = True
        self._streaming = False
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
        self.close_connection = True
        kind = SERVER_ERROR if code >= 500 else "invalid_request_error"
        self._send_error(ApiError(code, f"{message or phrase}. {explain or ''}".strip(), type=kind))

    def _send_event(self, data: dict[str, Any]) -> None:
        self._write_chunk(
            b"data: " + json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n\n"
        )

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _stopping() -> ApiError:
    return ApiError(
        503,
        "The server is stopping, so the request was not answered. Try again once it runs again.",
        type=SERVER_ERROR,
        code="server_stopping",
    )
