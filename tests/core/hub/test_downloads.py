"""Downloads from a local fake Hub: resumed, verified, registered; or cleanly refused."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.hub.client import HubClient
from localai_desktop.core.hub.download_store import DownloadProgress, DownloadRequest
from localai_desktop.core.hub.downloads import DownloadManager
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.core.storage.tables import DownloadRow
from tests.support import gguf_factory
from tests.support.fake_hub import FakeHub, NetworkGuard, running_fake_hub

REPO = "test/stories-GGUF"
FILE = "stories260K-F32.gguf"
SPLIT_REPO = "test/tiny-split-GGUF"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and rlimits")


@pytest.fixture(autouse=True)
def only_the_fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard(allow_loopback=True).install(monkeypatch)
    yield guard
    guard.check()


@pytest.fixture(scope="module")
def split_parts(stories260k: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("split")
    return gguf_factory.write_split_llama(folder / "tiny-Q8_0.gguf", tokenizer_from=stories260k)


@pytest.fixture
def hub(stories260k: Path, split_parts: list[Path]) -> Iterator[FakeHub]:
    with running_fake_hub() as hub:
        hub.add_repo(REPO, {FILE: stories260k}, license="mit")
        hub.add_repo(SPLIT_REPO, {p.name: p for p in split_parts})
        yield hub


class App:
    """The data folder, database, registry and download managers of one test."""

    def __init__(self, data_dir: Path, hub: FakeHub) -> None:
        self.paths = init_data_paths(data_dir)
        self.db = Database(self.paths.database)
        self.registry = ModelRegistry(self.db, self.paths.models)
        self.hub = hub
        self.events: list[DownloadProgress] = []
        self.managers: list[DownloadManager] = []

    def manager(self, *, max_parallel: int = 2, probe: bool = False) -> DownloadManager:
        manager = DownloadManager(
            self.db,
            self.registry,
            self.paths.models,
            endpoint=self.hub.url,
            max_parallel=max_parallel,
            probe=probe,
        )
        manager.add_listener(self.events.append)
        self.managers.append(manager)
        return manager

    def request(self, repo: str = REPO) -> DownloadRequest:
        details = HubClient(self.hub.url).details(repo)
        return DownloadRequest.for_choice(details, details.choices[0])

    def target(self, name: str = FILE, repo: str = REPO) -> Path:
        return self.paths.models / "hub" / repo / name

    def partial(self, name: str = FILE, repo: str = REPO) -> Path:
        return self.target(name, repo).with_name(name + ".downloading")

    def rows(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(DownloadRow)) or 0

    def close(self) -> None:
        for manager in self.managers:
            manager.shutdown()
        self.db.close()


@pytest.fixture
def app(data_dir: Path, hub: FakeHub) -> Iterator[App]:
    app = App(data_dir, hub)
    yield app
    app.close()


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def size_of(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def localai(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir), *args]


def test_a_split_model_is_downloaded_as_a_set_verified_and_registered_by_its_first_part(
    app: App, split_parts: list[Path]
) -> None:
    manager = app.manager(probe=True)  # the registry's real check, llama.cpp load included
    download_id = manager.start(app.request(SPLIT_REPO))
    final = manager.wait(download_id, timeout=60)
    assert final is not None and final.state == "done", final
    model = app.registry.get(final.model_id or 0)
    assert model.path == app.target(split_parts[0].name, SPLIT_REPO)
    assert model.source["repo"] == SPLIT_REPO
    assert model.source["commit"] == app.hub.repos[SPLIT_REPO].commit
    assert model.source["file"] == split_parts[0].name
    assert model.source["license"] == "apache-2.0" and model.source["commercial_use"] is True
    for part in split_parts:
        copy = app.target(part.name, SPLIT_REPO)
        assert copy.read_bytes() == part.read_bytes()
    assert not list(manager.downloads_dir.rglob("*.downloading"))
    assert app.rows() == 0
    states = [e.state for e in app.events]
    assert (
        states[0] == "queued" and "downloading" in states and states[-2:] == ["registering", "done"]
    )
    with pytest.raises(LocalAIError, match="You already have this model"):
        manager.start(app.request(SPLIT_REPO))


def test_pause_keeps_the_partial_file_and_resume_continues_from_its_size(app: App) -> None:
    app.hub.bytes_per_second = 300_000
    manager = app.manager()
    download_id = manager.start(app.request())
    wait_for(lambda: size_of(app.partial()) > 150_000)
    manager.pause(download_id)
    paused = manager.wait(download_id, timeout=10)
    assert paused is not None and paused.state == "paused"
    kept = size_of(app.partial())
    assert paused.bytes_done == kept > 150_000
    assert [p.state for p in manager.list()] == ["paused"]
    assert any(e.bytes_per_second and e.seconds_left for e in app.events)  # speed and time left

    app.hub.bytes_per_second = None
    manager.resume(download_id)
    done = manager.wait(download_id, timeout=30)
    assert done is not None and done.state == "done"
    assert app.hub.range_starts(FILE) == [None, kept]
    assert app.registry.get(done.model_id or 0).source["license"] == "mit"


def test_unfinished_downloads_resume_when_the_app_starts_again(app: App) -> None:
    app.hub.bytes_per_second = 400_000
    first_run = app.manager()
    download_id = first_run.start(app.request())
    wait_for(lambda: size_of(app.partial()) > 100_000)
    first_run.shutdown()  # the app closes mid-download
    kept = size_of(app.partial())

    app.hub.bytes_per_second = None
    second_run = app.manager()
    assert [p.state for p in second_run.list()] == ["downloading"]
    assert second_run.resume_unfinished() == [download_id]
    done = second_run.wait(download_id, timeout=30)
    assert done is not None and done.state == "done"
    assert app.hub.range_starts(FILE)[-1] == kept
    assert app.target().read_bytes() == app.hub.repos[REPO].files[FILE]


@posix_only
def test_a_killed_pull_resumes_from_its_offset_after_a_restart(
    app: App, data_dir: Path, stories260k: Path
) -> None:
    app.hub.bytes_per_second = 200_000
    pull = ["--hub-endpoint", app.hub.url, "models", "pull", REPO, "--quant", "F32"]
    process = subprocess.Popen(localai(data_dir, *pull), stderr=subprocess.PIPE)
    try:
        wait_for(lambda: size_of(app.partial()) > 200_000, timeout=30)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    kept = size_of(app.partial())
    assert 200_000 < kept < stories260k.stat().st_size

    app.hub.bytes_per_second = None
    result = subprocess.run(localai(data_dir, *pull), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert app.hub.range_starts(FILE)[-1] == kept  # continued from the byte where it stopped
    assert "Downloaded, verified and added 'stories260K-F32'" in result.stdout
    listed = subprocess.run(localai(data_dir, "models", "list", "--json"), capture_output=True)
    [model] = json.loads(listed.stdout)
    assert model["sha256"] == hashlib.sha256(stories260k.read_bytes()).hexdigest()
    assert model["source"]["repo"] == REPO and model["source"]["file"] == FILE
    assert model["source"]["commit"] == app.hub.repos[REPO].commit
    assert model["source"]["license"] == "mit" and model["source"]["commercial_use"] is True
    assert not app.partial().exists() and app.rows() == 0


@posix_only
def test_ctrl_c_pauses_a_pull_and_keeps_the_partial_file(app: App, data_dir: Path) -> None:
    app.hub.bytes_per_second = 200_000
    pull = ["--hub-endpoint", app.hub.url, "models", "pull", REPO]
    process = subprocess.Popen(localai(data_dir, *pull), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: size_of(app.partial()) > 100_000, timeout=30)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Run the same command again to resume" in stderr
    assert size_of(app.partial()) > 100_000
    with app.db.session() as session:
        assert session.scalar(select(DownloadRow.status)) == "paused"


def test_bytes_that_do_not_match_the_sha256_are_rejected_and_not_registered(app: App) -> None:
    app.hub.wrong_bytes.add(FILE)
    manager = app.manager()
    download_id = manager.start(app.request())
    failed = manager.wait(download_id, timeout=30)
    assert failed is not None and failed.state == "failed"
    assert failed.error is not None
    assert "is damaged" in failed.error and "does not match" in failed.error
    assert "deleted and not added" in failed.error and "Try the download again" in failed.error
    assert not app.partial().exists() and not app.target().exists()
    assert app.registry.list() == []
    manager.cancel(download_id)  # the failed entry goes away when the person dismisses it
    assert app.rows() == 0


def test_cancel_leaves_nothing_behind(app: App) -> None:
    app.hub.bytes_per_second = 300_000
    manager = app.manager()
    running = manager.start(app.request())
    paused = manager.start(app.request(SPLIT_REPO))
    manager.pause(paused)
    wait_for(lambda: size_of(app.partial()) > 50_000)
    manager.cancel(running)
    cancelled = manager.wait(running, timeout=10)
    assert cancelled is not None and cancelled.state == "cancelled"
    manager.cancel(paused)
    assert app.events[-1].state == "cancelled"
    assert app.rows() == 0
    assert [p for p in manager.downloads_dir.rglob("*") if p.is_file()] == []
    assert app.registry.list() == []


def test_a_dropped_connection_continues_with_a_range_request(app: App) -> None:
    app.hub.drop_after[FILE] = 400_000
    manager = app.manager()
    done = manager.wait(manager.start(app.request()), timeout=30)
    assert done is not None and done.state == "done"
    assert app.hub.range_starts(FILE) == [None, 400_000]


def test_not_enough_free_disk_space_is_refused_before_starting(app: App) -> None:
    app.hub.claimed_sizes[FILE] = 10**18  # an exabyte, as the Hub's metadata says
    with pytest.raises(StorageError) as caught:
        app.manager().start(app.request())
    assert "not enough free disk space" in caught.value.message
    assert "Free some disk space, or choose a smaller quantization" in caught.value.message
    assert app.rows() == 0 and app.hub.range_starts(FILE) == []


def _limit_file_size() -> None:
    import resource  # POSIX only

    # Writing past 600 kB fails with EFBIG, as a full disk fails with ENOSPC (Python ignores
    # SIGXFSZ, so the write returns an error instead of killing the process).
    resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))


@posix_only
def test_a_disk_that_fills_mid_download_fails_clearly_and_keeps_the_partial_file(
    app: App, data_dir: Path
) -> None:
    pull = localai(data_dir, "--hub-endpoint", app.hub.url, "models", "pull", REPO)
    result = subprocess.run(
        pull, capture_output=True, text=True, timeout=60, preexec_fn=_limit_file_size
    )
    assert result.returncode == 1
    assert "The disk is full, so the download of stories260K-F32.gguf stopped" in result.stderr
    assert "Free some disk space, then resume" in result.stderr
    assert 0 < size_of(app.partial()) <= 600_000
    assert app.registry.list() == []
    # With space again, the same command continues from the partial file.
    kept = size_of(app.partial())
    again = subprocess.run(pull, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert app.hub.range_starts(FILE)[-1] == kept


def test_leftover_partial_files_without_a_download_are_cleaned_up(app: App) -> None:
    app.hub.bytes_per_second = 300_000
    manager = app.manager()
    manager.pause(manager.start(app.request()))
    manager.shutdown()
    orphan = app.paths.models / "hub" / "gone" / "repo" / "old-Q4_K_M.gguf.downloading"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half a model")
    owned = app.partial()
    owned.parent.mkdir(parents=True, exist_ok=True)
    owned.touch()
    assert app.manager().clean_up_leftovers() == []  # the constructor already did it
    assert not orphan.exists() and owned.exists()


def test_the_queue_runs_at_most_max_parallel_downloads(app: App) -> None:
    app.hub.bytes_per_second = 2_000_000
    manager = app.manager(max_parallel=1)
    downloading: set[int] = set()
    most_at_once = 0

    def track(progress: DownloadProgress) -> None:
        nonlocal most_at_once
        if progress.state == "downloading":
            downloading.add(progress.download_id)
        else:
            downloading.discard(progress.download_id)
        most_at_once = max(most_at_once, len(downloading))

    manager.add_listener(track)
    first, second = manager.start(app.request()), manager.start(app.request(SPLIT_REPO))
    wait_for(lambda: [p.state for p in manager.list()] == ["downloading", "queued"])
    for download_id in (first, second):
        final = manager.wait(download_id, timeout=30)
        assert final is not None and final.state == "done"
    assert most_at_once == 1
