"""A local fake of the Hugging Face Hub on 127.0.0.1, and a guard that fails tests on real network.

It answers what huggingface_hub and our downloader ask (see FACTS.md): search, model info with
file sizes and sha256, and file downloads with ranged requests, redirected like the real Hub
to a "CDN" path. It serves real GGUF bytes, and can throttle, drop a connection part-way,
serve wrong bytes or claim a wrong size, to test how the app copes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
_PIECE = 8 * 1024


@dataclass
class FakeRepo:
    repo_id: str
    files: dict[str, bytes]
    license: str | None = "apache-2.0"
    downloads: int = 0
    likes: int = 0
    last_modified: str = "2025-01-01T00:00:00.000Z"
    gguf: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=lambda: ["gguf"])

    @property
    def commit(self) -> str:
        return hashlib.sha1(self.repo_id.encode()).hexdigest()

    def sha256(self, path: str) -> str:
        return hashlib.sha256(self.files[path]).hexdigest()


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    range_start: int | None


class FakeHub:
    """The server and its knobs; tests change the knobs between (or during) requests."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[SeenRequest] = []
        self.bytes_per_second: float | None = None  # throttle file downloads
        self.drop_after: dict[str, int] = {}  # file path -> bytes to send before hanging up once
        self.wrong_bytes: set[str] = set()  # file paths served with damaged content
        self.claimed_sizes: dict[str, int] = {}  # file path -> size the metadata announces
        # A malicious or broken Hub for the API answers: "redirect-loop" (each answer sends
        # the client back to the same address), "endless" (an answer that never ends) or
        # "drip" (the real answer, one byte every 50 ms).
        self.hostile: str | None = None
        self.bytes_sent = 0  # by the hostile answers
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_repo(self, repo_id: str, files: dict[str, bytes | Path], **kwargs: Any) -> FakeRepo:
        data = {
            name: Path(v).read_bytes() if isinstance(v, Path) else v for name, v in files.items()
        }
        repo = FakeRepo(repo_id, data, **kwargs)
        self.repos[repo_id] = repo
        return repo

    def range_starts(self, path: str) -> list[int | None]:
        """The Range start of every GET of a file's bytes (None: no Range header)."""
        with self._lock:
            return [r.range_start for r in self.requests if r.method == "GET" and r.path == path]

    def record(self, request: SeenRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> FakeHub:
        hub = self

        class Handler(_HubHandler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        threading.Thread(target=serve, name="fake-hub", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextlib.contextmanager
def running_fake_hub() -> Iterator[FakeHub]:
    hub = FakeHub().start()
    try:
        yield hub
    finally:
        hub.stop()


class _HubHandler(BaseHTTPRequestHandler):
    fake: FakeHub

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read hub.requests instead

    def do_GET(self) -> None:
        self._route(send_body=True)

    def do_HEAD(self) -> None:
        self._route(send_body=False)

    def _route(self, send_body: bool) -> None:
        parts = urlsplit(self.path)
        path, query = unquote(parts.path), parse_qs(parts.query)
        if path.startswith("/api/") and self.fake.hostile is not None:
            return self._hostile(path, query)
        if path == "/api/models":
            self.fake.record(SeenRequest(self.command, path, None))
            return self._json(200, self._search(query))
        if path.startswith("/api/models/"):
            self.fake.record(SeenRequest(self.command, path, None))
            repo_id = path.removeprefix("/api/models/").split("/revision/")[0]
            repo = self.fake.repos.get(repo_id)
            if repo is None:
                return self._error(404, "RepoNotFound", "Repository not found")
            return self._json(200, self._info(repo, blobs="blobs" in query))
        match = re.match(
            r"^/(?P<cdn>_cdn/)?(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$", path
        )
        if match is None:
            return self._error(404, "RepoNotFound", "Not found")
        repo = self.fake.repos.get(match["repo"])
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        if match["file"] not in repo.files:
            return self._error(404, "EntryNotFound", "Entry not found")
        if not match["cdn"]:
            # Like the real Hub: the resolve URL redirects large files to a CDN, and a ranged
            # request must keep its Range header across the redirect.
            self.fake.record(SeenRequest(self.command, path, None))
            self.send_response(302)
            self.send_header("Location", "/_cdn" + self.path)
            self._file_headers(repo, match["file"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self._send_file(repo, match["file"], send_body)

    def _hostile(self, path: str, query: dict[str, list[str]]) -> None:
        self.fake.record(SeenRequest(self.command, path, None))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if self.fake.hostile == "redirect-loop":
                self.send_response(302)
                self.send_header("Location", self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.fake.hostile == "endless":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()  # no length: the answer ends when the connection does
                self.wfile.write(b'{"id": "test/endless", "padding": "')
                while True:
                    self.wfile.write(b"x" * _PIECE * 8)
                    self.fake.bytes_sent += _PIECE * 8
            elif self.fake.hostile == "drip":
                repo = next(iter(self.fake.repos.values()))
                body = json.dumps(self._info(repo, blobs="blobs" in query)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    self.fake.bytes_sent += 1
                    time.sleep(0.05)

    def _search(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        wanted = (query.get("search") or [""])[0].lower()
        filters = query.get("filter") or []
        repos = [
            r
            for r in self.fake.repos.values()
            if wanted in r.repo_id.lower() and all(f in r.tags for f in filters)
        ]
        sort = (query.get("sort") or ["downloads"])[0]
        keys = {"downloads": "downloads", "likes": "likes", "lastModified": "last_modified"}
        repos.sort(key=lambda r: getattr(r, keys.get(sort, "downloads")), reverse=True)
        limit = int((query.get("limit") or ["1000"])[0])
        return [
            {
                "id": r.repo_id,
                "author": r.repo_id.split("/")[0],
                "downloads": r.downloads,
                "likes": r.likes,
                "lastModified": r.last_modified,
                "gated": False,
                "tags": [*r.tags, *([f"license:{r.license}"] if r.license else [])],
            }
            for r in repos[:limit]
        ]

    def _info(self, repo: FakeRepo, blobs: bool) -> dict[str, Any]:
        siblings = []
        for name, data in repo.files.items():
            sibling: dict[str, Any] = {"rfilename": name}
            if blobs:
                size = self.fake.claimed_sizes.get(name, len(data))
                sibling["size"] = size
                sibling["lfs"] = {"sha256": repo.sha256(name), "size": size, "pointerSize": 134}
            siblings.append(sibling)
        return {
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": repo.commit,
            "downloads": repo.downloads,
            "likes": repo.likes,
            "lastModified": repo.last_modified,
            "gated": False,
            "tags": [*repo.tags, *([f"license:{repo.license}"] if repo.license else [])],
            "cardData": {"license": repo.license} if repo.license else {},
            "gguf": repo.gguf,
            "siblings": siblings,
        }

    def _file_headers(self, repo: FakeRepo, name: str) -> None:
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("ETag", f'"{repo.sha256(name)}"')
        self.send_header("Accept-Ranges", "bytes")

    def _send_file(self, repo: FakeRepo, name: str, send_body: bool) -> None:
        data = repo.files[name]
        if name in self.fake.wrong_bytes:
            data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
        header = self.headers.get("Range")
        match = _RANGE.fullmatch(header.strip()) if header else None
        start = int(match[1]) if match else 0
        self.fake.record(SeenRequest(self.command, name, start if match else None))
        if start >= len(data) and match:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        end = int(match[2]) if match and match[2] else len(data) - 1
        end = min(end, len(data) - 1)
        body = data[start : end + 1]
        self.send_response(206 if match else 200)
        self._file_headers(repo, name)
        self.send_header("Content-Length", str(len(body)))
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if send_body:
            self._stream(name, body)

    def _stream(self, name: str, body: bytes) -> None:
        drop_at = self.fake.drop_after.pop(name, None)
        sent = 0
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while sent < len(body):
                piece = body[sent : sent + _PIECE]
                if drop_at is not None and sent + len(piece) > drop_at:
                    self.wfile.write(piece[: max(0, drop_at - sent)])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(piece)
                sent += len(piece)
                rate = self.fake.bytes_per_second
                if rate:
                    time.sleep(len(piece) / rate)

    def _json(self, status: int, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class NetworkGuard:
    """Records every attempt to open a connection; the test fails if one was not allowed.

    With allow_loopback, connections to 127.0.0.1 (the fake Hub) pass; without, none do —
    offline mode must not even contact the local server. Attempts are recorded rather than
    only raised, because some libraries swallow connection errors.
    """

    def __init__(self, *, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback
        self.refused: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
        guard = self
        real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def allowed(host: object) -> bool:
            return guard.allow_loopback and str(host) in ("127.0.0.1", "localhost", "::1")

        def refuse(what: str) -> OSError:
            guard.refused.append(what)
            return ConnectionRefusedError(f"network blocked by the test: {what}")

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family != socket.AF_UNIX and not allowed(address[0]):
                raise refuse(f"connect {address}")
            return real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            if sock.family != socket.AF_UNIX and not allowed(address[0]):
                raise refuse(f"connect_ex {address}")
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not allowed(host):
                raise refuse(f"getaddrinfo {host}")
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return self

    def check(self) -> None:
        assert not self.refused, f"the code tried to use the network: {self.refused}"
