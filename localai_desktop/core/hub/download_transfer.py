"""One file from the Hub to disk: ranged GETs that resume from the partial file, sha256 checked.

The partial file's size is the only progress record: it is what a killed process leaves
behind, and a restart continues from exactly there (`Range: bytes=<size>-`). The file gets
its real name only after its sha256 matched the Hub's, so a partial or damaged file can
never be mistaken for a model.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.common.units import format_bytes

if TYPE_CHECKING:
    import httpx2  # imported where a download runs: not needed to start the app

log = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".downloading"
_HASH_CHUNK = 4 * 1024 * 1024
_RETRY_WAITS_S = (1.0, 2.0, 4.0, 8.0)  # after 1, 2, 3, 4 failures in a row; then give up
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
SPEED_WINDOW_S = 5.0  # speed is averaged over this many seconds
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


class DownloadError(LocalAIError):
    """A download failed in a way the person can act on."""


class ChecksumMismatchError(DownloadError):
    """The bytes that arrived are not the file the Hub published; they were deleted."""


class DownloadStopped(Exception):
    """The transfer stopped because someone asked it to (pause, cancel, shutdown)."""


class _TransientError(Exception):
    """The server had a hiccup (5xx, 429, a short body): worth another try."""


@dataclass(frozen=True)
class RemoteFile:
    url: str
    name: str  # for messages
    size: int
    sha256: str | None
    target: Path


class SpeedMeter:
    """Bytes per second over the last few seconds."""

    def __init__(self) -> None:
        self.samples: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, done: int) -> None:
        now = time.monotonic()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > SPEED_WINDOW_S:
            self.samples.popleft()

    def speed(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 and b1 >= b0 else None


def partial_path(target: Path) -> Path:
    return target.with_name(target.name + PARTIAL_SUFFIX)


def bytes_on_disk(target: Path) -> int:
    """How much of a file is already here: all of it when finished, else the partial's size."""
    if target.is_file():
        return target.stat().st_size
    partial = partial_path(target)
    return partial.stat().st_size if partial.is_file() else 0


class _PartialFile:
    """The partial download on disk and the sha256 of exactly the bytes it holds."""

    def __init__(self, path: Path, stop: Cancellation) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.size = 0
        if path.is_file():
            with open(path, "rb") as f:
                while chunk := f.read(_HASH_CHUNK):
                    if stop.is_set():
                        raise DownloadStopped
                    self.digest.update(chunk)
                    self.size += len(chunk)

    def restart(self) -> None:
        self.path.unlink(missing_ok=True)
        self.digest = hashlib.sha256()
        self.size = 0

    def append(self, out: BinaryIO, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            written = out.write(view) or 0
            view = view[written:]
        # Only now: a chunk that failed to write is not in the digest (the disk-full path
        # stops the download, and the next run hashes what is really on disk).
        self.digest.update(chunk)
        self.size += len(chunk)


def fetch_file(
    remote: RemoteFile,
    client: httpx2.Client,
    stop: Cancellation,
    on_progress: Callable[[int], None],
) -> None:
    """Make remote.target a verified copy of the remote file, resuming any partial download.

    on_progress(bytes_on_disk) is called as bytes arrive. Raises DownloadStopped when `stop`
    is set (the partial file stays), ChecksumMismatchError (the partial file is deleted),
    StorageError when the disk fills (the partial file stays, for a later resume) and
    DownloadError when the server cannot deliver.
    """
    import httpx2  # already imported by whoever made `client`

    if remote.target.is_file() and _already_verified(remote, stop):
        on_progress(remote.size)
        return
    remote.target.parent.mkdir(parents=True, exist_ok=True)
    partial = _PartialFile(partial_path(remote.target), stop)
    if partial.size > remote.size:
        partial.restart()
    on_progress(partial.size)
    failed_attempts = 0
    while partial.size < remote.size:
        before = partial.size
        try:
            _stream_into(remote, client, partial, stop, on_progress)
            if partial.size < remote.size:
                raise _TransientError("the server closed the connection early")
        except (httpx2.TransportError, _TransientError) as error:
            if stop.is_set():
                raise DownloadStopped from error
            failed_attempts = 0 if partial.size > before else failed_attempts + 1
            log.info("Download of %s interrupted at %s: %r", remote.name, partial.size, error)
            if failed_attempts > len(_RETRY_WAITS_S):
                raise DownloadError(
                    f"The connection to Hugging Face was lost while downloading {remote.name} "
                    f"({format_bytes(partial.size)} of {format_bytes(remote.size)} saved).",
                    "Check your internet connection, then resume: the download continues "
                    "where it stopped.",
                ) from error
            if failed_attempts and _wait_or_stop(stop, _RETRY_WAITS_S[failed_attempts - 1]):
                raise DownloadStopped from error
    _verify_and_finish(remote, partial)


def _stream_into(
    remote: RemoteFile,
    client: httpx2.Client,
    partial: _PartialFile,
    stop: Cancellation,
    on_progress: Callable[[int], None],
) -> None:
    """One GET from the partial's end to the file's end, or until the connection drops."""
    # identity: a compressed body would not match Content-Range or the sha256.
    headers = {"Accept-Encoding": "identity"}
    if partial.size:
        headers["Range"] = f"bytes={partial.size}-"
    with client.stream("GET", remote.url, headers=headers) as response:
        status = response.status_code
        if status == 416 and partial.size >= remote.size:
            return
        if status in (408, 429, 500, 502, 503, 504):
            raise _TransientError(f"HTTP {status}")
        if status >= 400:
            raise _refused(remote, status)
        if partial.size and status == 200:
            log.info("The server ignored the range request for %s; starting over", remote.name)
            partial.restart()
        elif partial.size and status == 206:
            _check_content_range(response.headers.get("Content-Range", ""), partial.size, remote)
        with _disk_errors(remote, partial.path), open(partial.path, "ab", buffering=0) as out:
            for chunk in response.iter_raw():
                if stop.is_set():
                    raise DownloadStopped
                partial.append(out, chunk)
                if partial.size > remote.size:
                    partial.restart()
                    raise DownloadError(
                        f"Hugging Face sent more data than {remote.name} should have.",
                        "Try the download again; if it happens again, choose another repo.",
                    )
                on_progress(partial.size)
            os.fsync(out.fileno())


@contextlib.contextmanager
def _disk_errors(remote: RemoteFile, path: Path) -> Iterator[None]:
    """Turn a write failure into a StorageError that says the partial file is kept."""
    try:
        yield
    except OSError as error:
        saved = path.stat().st_size if path.is_file() else 0
        progress = f"{format_bytes(saved)} of {format_bytes(remote.size)} are saved"
        if error.errno in _DISK_FULL_ERRNOS:
            raise StorageError(
                f"The disk is full, so the download of {remote.name} stopped ({progress}).",
                "Free some disk space, then resume: the download continues where it stopped.",
            ) from error
        raise StorageError(
            f"The download of {remote.name} could not be saved "
            f"({error.strerror or error}; {progress}).",
            "Check that the models folder exists and that you may write to it, then resume.",
        ) from error


def _check_content_range(header: str, offset: int, remote: RemoteFile) -> None:
    match = _CONTENT_RANGE.match(header.strip())
    if not match or int(match[1]) != offset:
        raise _TransientError(f"unexpected Content-Range {header!r} for offset {offset}")
    if match[3] != "*" and int(match[3]) != remote.size:
        raise DownloadError(
            f"{remote.name} changed on Hugging Face while it was downloading.",
            "Cancel this download and look the model up again.",
        )


def _refused(remote: RemoteFile, status: int) -> DownloadError:
    if status in (401, 403):
        return DownloadError(
            f"Hugging Face refused to send {remote.name} (the repo may be gated or private).",
            "Choose another repo with the same model.",
        )
    if status == 404:
        return DownloadError(
            f"{remote.name} is no longer on Hugging Face at the version this download started.",
            "Cancel this download and look the model up again.",
        )
    return DownloadError(
        f"Hugging Face answered the download of {remote.name} with error {status}.",
        "Try again later.",
    )


def _already_verified(remote: RemoteFile, stop: Cancellation) -> bool:
    """A finished file from an earlier run that is still what the Hub published."""
    if remote.target.stat().st_size != remote.size:
        return False
    if remote.sha256 is None:
        return True
    digest = hashlib.sha256()
    with open(remote.target, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            if stop.is_set():
                raise DownloadStopped
            digest.update(chunk)
    return digest.hexdigest() == remote.sha256.lower()


def _verify_and_finish(remote: RemoteFile, partial: _PartialFile) -> None:
    if remote.sha256 is not None and partial.digest.hexdigest() != remote.sha256.lower():
        partial.restart()
        raise ChecksumMismatchError(
            f"The downloaded file {remote.name} is damaged: its fingerprint (SHA-256) does not "
            "match the one Hugging Face published, so it was deleted and not added.",
            "Try the download again. If it fails again, choose another quantization or repo.",
        )
    if remote.sha256 is None:
        log.info("%s has no published sha256; checked its size only", remote.name)
    os.replace(partial.path, remote.target)


def _wait_or_stop(stop: Cancellation, seconds: float) -> bool:
    """Sleep, waking early when stopped; True when stopped."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stop.is_set():
            return True
        time.sleep(min(0.1, deadline - time.monotonic()))
    return stop.is_set()
