"""Background model downloads: a queue, N at a time, pause/resume/cancel, verified, registered.

One thread per running download; progress reaches listeners as `DownloadProgress` values
(plain data, safe to hand to a GUI thread through a queued signal). A download survives a
restart or a killed process: its row stays until the model is registered or it is cancelled,
and the next run continues from the partial files' sizes.
"""

from __future__ import annotations

import builtins
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from localai_desktop import __version__
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.hub.client import offline_mode_error, resolve_url
from localai_desktop.core.hub.download_store import (
    DownloadProgress,
    DownloadRequest,
    DownloadState,
    DownloadStore,
    StoredDownload,
    check_disk_space,
    safe_relative,
)
from localai_desktop.core.hub.download_transfer import (
    DownloadError,
    DownloadStopped,
    RemoteFile,
    SpeedMeter,
    bytes_on_disk,
    fetch_file,
)
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.storage.db import Database

log = logging.getLogger(__name__)

ProgressListener = Callable[[DownloadProgress], None]

_PROGRESS_INTERVAL_S = 0.25
_HTTP_TIMEOUT_S = 30.0
_HTTP_CONNECT_TIMEOUT_S = 15.0


class _RunningDownload:
    def __init__(self, download_id: int) -> None:
        self.download_id = download_id
        self.stop = Cancellation()
        self.stop_reason = ""  # "pause", "cancel" or "shutdown"
        self.resume_when_stopped = False
        self.thread: threading.Thread | None = None


class DownloadManager:
    """Downloads GGUF files from the Hub into the models folder and registers them.

    Listeners are called on download threads: a GUI forwards them through a queued signal.
    """

    def __init__(
        self,
        db: Database,
        registry: ModelRegistry,
        models_dir: Path,
        *,
        endpoint: str,
        offline: bool = False,
        max_parallel: int = 2,
        probe: bool = True,
    ) -> None:
        self._store = DownloadStore(db, Path(models_dir) / "hub")
        self._registry = registry
        self.endpoint = endpoint.rstrip("/")
        self.offline = offline
        self.max_parallel = max(1, max_parallel)
        self._probe = probe
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiting: list[int] = []
        self._running: dict[int, _RunningDownload] = {}
        self._latest: dict[int, DownloadProgress] = {}
        self._listeners: list[ProgressListener] = []
        self._closed = False
        self._store.clean_up_leftovers()

    @property
    def downloads_dir(self) -> Path:
        return self._store.downloads_dir

    # -- what the GUI and the CLI call ------------------------------------------------------

    def add_listener(self, listener: ProgressListener) -> Callable[[], None]:
        """Call `listener(progress)` on every change; returns a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def start(self, request: DownloadRequest) -> int:
        """Queue a download and return its id; the same file again resumes the earlier one."""
        if self.offline:
            raise offline_mode_error()
        existing = self._store.find(request.repo_id, request.files[0].path)
        if existing is not None:
            self.resume(existing)
            return existing
        folder = self._store.folder_for(request.repo_id)
        targets = [folder / safe_relative(f.path) for f in request.files]
        self._check_not_registered(targets[0])
        check_disk_space(request.files, targets, request.repo_id)
        download_id = self._store.create(request)
        self._enqueue(download_id)
        return download_id

    def pause(self, download_id: int) -> None:
        """Stop a download and keep what arrived; resume() continues from there."""
        with self._lock:
            running = self._running.get(download_id)
            if running is not None:
                running.stop_reason, running.resume_when_stopped = "pause", False
                running.stop.set()
                return
            was_waiting = download_id in self._waiting
            if was_waiting:
                self._waiting.remove(download_id)
                self._changed.notify_all()
        if was_waiting:
            self._store.set_status(download_id, DownloadState.PAUSED)
            self._publish(self._store.get(download_id).progress(DownloadState.PAUSED))

    def resume(self, download_id: int) -> None:
        """Queue a paused, failed or interrupted download; it continues where it stopped."""
        if self.offline:
            raise offline_mode_error()
        with self._lock:
            running = self._running.get(download_id)
            if running is not None:
                # Still winding down after a pause: start again as soon as it has stopped.
                running.resume_when_stopped = running.stop_reason == "pause"
                return
        self._enqueue(download_id)

    def cancel(self, download_id: int) -> None:
        """Stop a download and delete its row and everything it wrote."""
        with self._lock:
            running = self._running.get(download_id)
            if running is not None:
                running.stop_reason, running.resume_when_stopped = "cancel", False
                running.stop.set()
                return
            if download_id in self._waiting:
                self._waiting.remove(download_id)
                self._changed.notify_all()
        self._discard(download_id)

    def list(self) -> list[DownloadProgress]:
        """Every unfinished download, oldest first, as it stands now."""
        result = []
        for download_id in self._store.ids():
            with self._lock:
                live = self._latest.get(download_id) if download_id in self._running else None
            result.append(live or self._store.get(download_id).progress())
        return result

    def resume_unfinished(self) -> builtins.list[int]:
        """At start-up: continue the downloads that were running when the app last stopped.

        Paused and failed ones wait for the person; in offline mode nothing happens.
        """
        if self.offline:
            return []
        ids = self._store.ids([DownloadState.QUEUED, DownloadState.DOWNLOADING])
        for download_id in ids:
            self.resume(download_id)
        return ids

    def is_active(self, download_id: int) -> bool:
        """Whether the download is queued or running in this process."""
        with self._lock:
            return download_id in self._running or download_id in self._waiting

    def wait(self, download_id: int, timeout: float | None = None) -> DownloadProgress | None:
        """Block until the download is neither queued nor running; its last progress."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while download_id in self._running or download_id in self._waiting:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._latest.get(download_id)

    def set_offline(self, offline: bool) -> None:
        """Switch offline mode. Going offline stops every download at once; they keep their
        place and continue after going online again (call resume_unfinished())."""
        self.offline = offline
        if offline:
            self._stop_all()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop all downloads for now (they resume at the next start) and wait for threads."""
        with self._lock:
            self._closed = True
        for download in self._stop_all():
            if download.thread is not None:
                download.thread.join(timeout)

    def _stop_all(self) -> builtins.list[_RunningDownload]:
        """Stop running and queued downloads without changing their stored state."""
        with self._lock:
            self._waiting.clear()
            running = list(self._running.values())
            for download in running:
                download.stop_reason, download.resume_when_stopped = "shutdown", False
                download.stop.set()
            self._changed.notify_all()
        return running

    def clean_up_leftovers(self) -> builtins.list[Path]:
        """Delete partial files that no download owns; runs at construction too."""
        return self._store.clean_up_leftovers()

    # -- the work ---------------------------------------------------------------------------

    def _enqueue(self, download_id: int) -> None:
        if self.is_active(download_id):
            return
        self._store.set_status(download_id, DownloadState.QUEUED)
        self._publish(self._store.get(download_id).progress(DownloadState.QUEUED))
        with self._lock:
            if download_id not in self._running and download_id not in self._waiting:
                self._waiting.append(download_id)
            self._start_waiting_downloads()

    def _start_waiting_downloads(self) -> None:
        """With the lock held: start queued downloads while there is a free slot."""
        while self._waiting and len(self._running) < self.max_parallel and not self._closed:
            download = _RunningDownload(self._waiting.pop(0))
            self._running[download.download_id] = download
            download.thread = threading.Thread(
                target=self._run,
                args=(download,),
                name=f"download-{download.download_id}",
                daemon=True,
            )
            download.thread.start()

    def _run(self, download: _RunningDownload) -> None:
        download_id = download.download_id
        try:
            model = self._download_and_register(download)
            self._publish(
                replace(self._latest[download_id], state=DownloadState.DONE, model_id=model.id)
            )
        except DownloadStopped:
            self._on_stopped(download)
        except LocalAIError as error:
            log.warning("Download %s failed: %s", download_id, error.message)
            self._fail(download_id, error.message)
        except Exception as error:
            log.exception("Download %s failed unexpectedly", download_id)
            self._fail(
                download_id,
                f"The download failed unexpectedly ({error}). Resume it to try again; the "
                "details are in the log file.",
            )
        finally:
            with self._changed:
                self._running.pop(download_id, None)
                if download.resume_when_stopped and not self._closed:
                    self._waiting.append(download_id)
                self._start_waiting_downloads()
                self._changed.notify_all()

    def _download_and_register(self, download: _RunningDownload) -> LocalModel:
        stored = self._store.get(download.download_id)
        targets = stored.targets
        check_disk_space(stored.files, targets, stored.repo_id)
        self._store.set_status(stored.id, DownloadState.DOWNLOADING)
        base = stored.progress(DownloadState.DOWNLOADING)
        on_disk = [bytes_on_disk(t) for t in targets]
        speed, last_report = SpeedMeter(), 0.0

        def report(index: int, bytes_in_file: int) -> None:
            nonlocal last_report
            on_disk[index] = bytes_in_file
            done = sum(on_disk)
            speed.add(done)
            now = time.monotonic()
            if now - last_report < _PROGRESS_INTERVAL_S and done < stored.total_bytes:
                return
            last_report = now
            rate = speed.speed()
            left = (stored.total_bytes - done) / rate if rate else None
            self._publish(replace(base, bytes_done=done, bytes_per_second=rate, seconds_left=left))

        import httpx2  # here, not at the top: 14 MiB that starting the app does not need

        user_agent = {"User-Agent": f"localai-desktop/{__version__}"}
        timeout = httpx2.Timeout(_HTTP_TIMEOUT_S, connect=_HTTP_CONNECT_TIMEOUT_S)
        with httpx2.Client(follow_redirects=True, timeout=timeout, headers=user_agent) as http:
            for index, (hub_file, target) in enumerate(zip(stored.files, targets, strict=True)):
                remote = RemoteFile(
                    url=resolve_url(self.endpoint, stored.repo_id, stored.revision, hub_file.path),
                    name=PurePosixPath(hub_file.path).name,
                    size=hub_file.size,
                    sha256=hub_file.sha256,
                    target=target,
                )
                fetch_file(remote, http, download.stop, functools.partial(report, index))
        if download.stop.is_set():
            raise DownloadStopped
        self._publish(replace(base, state=DownloadState.REGISTERING, bytes_done=stored.total_bytes))
        model = self._register(stored, targets[0])
        self._store.delete_row(stored.id)
        return model

    def _register(self, stored: StoredDownload, first_file: Path) -> LocalModel:
        """Add the verified files to the local models (by the first part), with their source."""
        models = self._registry.list()
        for model in models:
            # Registered by an earlier run that was stopped before it could delete its row.
            if model.path in (first_file, first_file.resolve()):
                self._registry.set_source(model.id, stored.source)
                return self._registry.get(model.id)
        names = {m.name for m in models}
        name, counter = stored.name, 2
        while name in names:
            name, counter = f"{stored.name}-{counter}", counter + 1
        try:
            model = self._registry.import_model(first_file, name=name, probe=self._probe)
        except LocalAIError as error:
            raise DownloadError(
                f"{stored.name} was downloaded and verified, but could not be added: {error.what}",
                error.todo,
            ) from error
        self._registry.set_source(model.id, stored.source)
        return self._registry.get(model.id)

    def _on_stopped(self, download: _RunningDownload) -> None:
        download_id = download.download_id
        if download.stop_reason == "cancel":
            self._discard(download_id)
            return
        if download.stop_reason == "pause":
            self._store.set_status(download_id, DownloadState.PAUSED)
        # On shutdown the row keeps "downloading", so the next start resumes it.
        self._publish(self._store.get(download_id).progress(DownloadState.PAUSED))

    def _fail(self, download_id: int, message: str) -> None:
        self._store.set_status(download_id, DownloadState.FAILED, error=message)
        try:
            progress = self._store.get(download_id).progress(DownloadState.FAILED)
        except DownloadError:  # the row itself is gone
            previous = self._latest.get(download_id)
            if previous is None:
                return
            progress = replace(previous, state=DownloadState.FAILED)
        self._publish(replace(progress, error=message))

    def _discard(self, download_id: int) -> None:
        try:
            progress = self._store.get(download_id).progress(DownloadState.CANCELLED)
        except DownloadError:
            return
        self._store.discard(download_id, keep={m.path for m in self._registry.list()})
        self._publish(replace(progress, bytes_done=0))

    def _check_not_registered(self, first_file: Path) -> None:
        for model in self._registry.list():
            if model.path in (first_file, first_file.resolve()):
                raise LocalAIError(
                    f"You already have this model as '{model.name}'.",
                    "Open it from your models; there is no need to download it again.",
                )

    def _publish(self, progress: DownloadProgress) -> None:
        with self._changed:
            self._latest[progress.download_id] = progress
            listeners = list(self._listeners)
            self._changed.notify_all()
        for listener in listeners:
            try:
                listener(progress)
            except Exception:  # a broken listener must not break the download
                log.exception("Download listener failed")
