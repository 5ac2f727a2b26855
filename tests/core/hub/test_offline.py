"""Offline mode opens no socket at all, not even to a local Hub; the settings that control it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.cli import main
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.datafolder.settings import (
    DEFAULT_HUB_ENDPOINT,
    AppSettings,
    AppSettingsStore,
    resolve_hub_endpoint,
)
from localai_desktop.core.hub.catalog import load_catalog
from localai_desktop.core.hub.client import HubClient, OfflineModeError
from localai_desktop.core.hub.download_store import DownloadRequest, DownloadStore
from localai_desktop.core.hub.downloads import DownloadManager
from localai_desktop.core.hub.repos import FileChoice, HubFile, RepoDetails
from localai_desktop.core.models.hardware import ModelFacts, detect_machine
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support.fake_hub import FakeHub, NetworkGuard, running_fake_hub


@pytest.fixture
def hub(stories260k: Path) -> Iterator[FakeHub]:
    with running_fake_hub() as hub:
        hub.add_repo("test/stories-GGUF", {"stories260K-F32.gguf": stories260k})
        yield hub


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch, hub: FakeHub) -> Iterator[NetworkGuard]:
    """Any connection, loopback included, fails the test; and the fake Hub must hear nothing."""
    guard = NetworkGuard(allow_loopback=False).install(monkeypatch)
    yield guard
    guard.check()
    assert hub.requests == []


def stories_request() -> DownloadRequest:
    files = (HubFile("stories260K-F32.gguf", 1_185_376, "0" * 64),)
    details = RepoDetails(
        repo_id="test/stories-GGUF",
        commit="a" * 40,
        license="mit",
        commercial_use=True,
        gated=False,
        downloads=0,
        likes=0,
        choices=(FileChoice("F32", files),),
        facts=ModelFacts(parameter_count=292_800),
    )
    return DownloadRequest.for_choice(details, details.choices[0])


def test_offline_mode_opens_no_socket_for_search_details_or_downloads(
    hub: FakeHub, no_sockets: NetworkGuard, data_dir: Path
) -> None:
    client = HubClient(hub.url, offline=True, catalog=load_catalog())
    with pytest.raises(OfflineModeError) as caught:
        client.search("qwen")
    assert "Offline mode is on" in caught.value.message
    with pytest.raises(OfflineModeError):
        client.details("test/stories-GGUF")

    paths = init_data_paths(data_dir)
    db = Database(paths.database)
    registry = ModelRegistry(db, paths.models)
    online = DownloadManager(db, registry, paths.models, endpoint=hub.url, max_parallel=1)
    online.shutdown()  # never started anything: no socket yet
    # A download that was interrupted while online waits, untouched, while offline.
    DownloadStore(db, paths.models / "hub").create(stories_request())
    offline = DownloadManager(db, registry, paths.models, endpoint=hub.url, offline=True)
    assert offline.resume_unfinished() == []
    with pytest.raises(OfflineModeError):
        offline.start(stories_request())
    with pytest.raises(OfflineModeError):
        offline.resume(1)
    assert [p.state for p in offline.list()] == ["queued"]
    offline.shutdown()
    db.close()


def test_going_offline_stops_running_downloads_at_once(
    hub: FakeHub, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard = NetworkGuard(allow_loopback=True).install(monkeypatch)
    hub.bytes_per_second = 200_000
    paths = init_data_paths(data_dir)
    db = Database(paths.database)
    manager = DownloadManager(db, ModelRegistry(db, paths.models), paths.models, endpoint=hub.url)
    details = HubClient(hub.url).details("test/stories-GGUF")
    download_id = manager.start(DownloadRequest.for_choice(details, details.choices[0]))
    partial = manager.downloads_dir / "test" / "stories-GGUF" / "stories260K-F32.gguf.downloading"
    deadline = time.monotonic() + 20
    while not (partial.is_file() and partial.stat().st_size > 50_000):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    manager.set_offline(True)
    stopped = manager.wait(download_id, timeout=10)
    assert stopped is not None and stopped.state == "paused"
    requests_so_far = len(hub.requests)
    with pytest.raises(OfflineModeError):
        manager.resume(download_id)
    assert len(hub.requests) == requests_so_far
    manager.set_offline(False)
    assert manager.resume_unfinished() == [download_id]  # it kept its place in the queue
    hub.bytes_per_second = None
    done = manager.wait(download_id, timeout=30)
    assert done is not None and done.state == "done"
    manager.shutdown()
    db.close()
    guard.check()


def test_the_catalog_and_the_hardware_report_work_offline(no_sockets: NetworkGuard) -> None:
    assert len(load_catalog().entries) >= 17
    assert detect_machine().ram_bytes > 0


def test_the_offline_setting_is_obeyed_by_the_command_line(
    hub: FakeHub,
    no_sockets: NetworkGuard,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    AppSettingsStore.in_data_dir(data_dir).update(offline_mode=True, hub_endpoint=hub.url)
    base = ["--data-dir", str(data_dir)]
    for command in (["search", "qwen"], ["show", "test/stories-GGUF"], ["pull", "a/b"]):
        assert main([*base, "models", *command]) == 1
        assert "Offline mode is on" in capsys.readouterr().err
    assert main([*base, "models", "catalog"]) == 0
    assert main([*base, "models", "list", "--json"]) == 0
    assert main([*base, "hardware", "--json"]) == 0


def test_settings_are_saved_atomically_and_survive_a_damaged_file(tmp_path: Path) -> None:
    store = AppSettingsStore.in_data_dir(tmp_path)
    assert store.load() == AppSettings()  # no file yet: the defaults
    saved = store.update(offline_mode=True, max_parallel_downloads=3)
    assert json.loads(store.path.read_text()) == saved.to_dict()
    assert store.load() == AppSettings(offline_mode=True, max_parallel_downloads=3)
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]  # no temp file left
    store.path.write_text('{"offline_mode": "yes", "max_parallel_downloads": 99, "x": 1}')
    assert store.load() == AppSettings(max_parallel_downloads=8)  # bad values fall back
    store.path.write_text("{not json")
    assert store.load() == AppSettings()
    with pytest.raises(LocalAIError, match="not a web address"):
        store.update(hub_endpoint="ftp://example.org")


def test_the_hub_address_comes_from_the_option_then_hf_endpoint_then_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    saved = AppSettings(hub_endpoint="http://127.0.0.1:9/")
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert resolve_hub_endpoint(None, saved) == "http://127.0.0.1:9"
    assert resolve_hub_endpoint(None, AppSettings()) == DEFAULT_HUB_ENDPOINT
    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.example.org")
    assert resolve_hub_endpoint(None, saved) == "https://hf-mirror.example.org"
    assert resolve_hub_endpoint("http://localhost:8080", saved) == "http://localhost:8080"
