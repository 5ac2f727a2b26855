"""The Discover section of the Models tab, against a local fake Hub: browse, search, download."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.core.hub import download_store
from localai_desktop.core.hub.catalog import load_catalog
from localai_desktop.core.hub.client import HubClient
from localai_desktop.ui.models.discover_panel import DiscoverPanel
from localai_desktop.ui.models.repo_details import RECOMMENDED_MARK
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.widgets.theme import colours
from tests.support.fake_hub import FakeHub, NetworkGuard, running_fake_hub
from tests.support.gui_support import OpenWindow, window_opener
from tests.ui.shell.test_gui_app import unnamed_controls

REPO = "test/stories-GGUF"
FILE = "stories260K-F32.gguf"
RESTRICTED_REPO = "test/research-only-GGUF"
WAIT_MS = 30_000
SCREENSHOTS = Path("/tmp/discover-screens")


@pytest.fixture
def hub(stories260k: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with running_fake_hub() as hub:
        hub.add_repo(REPO, {FILE: stories260k}, license="mit", downloads=50, likes=3)
        hub.add_repo(
            RESTRICTED_REPO,
            {"research-Q8_0.gguf": stories260k},
            license="cc-by-nc-4.0",
            downloads=10,
            last_modified="2025-06-01T00:00:00.000Z",
        )
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield hub


@pytest.fixture
def open_window(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, hub: FakeHub
) -> Iterator[OpenWindow]:
    guard = NetworkGuard(allow_loopback=True).install(monkeypatch)
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener
    guard.check()
    # DownloadManager threads are plain threads: closing the window must have ended them too.
    assert not [t for t in threading.enumerate() if t.name.startswith("download-")]


def discover(window: MainWindow) -> DiscoverPanel:
    panel = window.models_tab.discover
    assert panel is not None
    window.tabs.setCurrentWidget(window.models_tab)
    window.models_tab.show_discover()
    return panel


def screenshot(window: MainWindow, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    window.resize(1180, 760)
    QTest.qWait(50)  # lay out what changed (layouts settle in a few passes), as on screen
    window.grab().save(str(SCREENSHOTS / f"{name}.png"))


def details_rows(panel: DiscoverPanel) -> list[tuple[str, ...]]:
    table = panel.details.choices
    return [
        tuple(table.item(r, c).text() for c in range(table.columnCount()))
        for r in range(table.rowCount())
    ]


def open_search_result(qtbot: QtBot, panel: DiscoverPanel, query: str, repo: str) -> None:
    panel.search(query)
    qtbot.waitUntil(lambda: panel.results_model.rowCount() > 0, timeout=WAIT_MS)
    row = next(
        r
        for r in range(panel.results_model.rowCount())
        if panel.results_model.result_at(r).repo_id == repo
    )
    panel.results_table.selectRow(row)
    qtbot.waitUntil(lambda: panel.details.selected_choice() is not None, timeout=WAIT_MS)


def download_row(qtbot: QtBot, panel: DiscoverPanel):  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: len(panel.download_list.rows()) == 1, timeout=WAIT_MS)
    return panel.download_list.rows()[0]


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]


def partial_file(data_dir: Path) -> Path:
    return data_dir / "models" / "hub" / REPO / (FILE + ".downloading")


def test_recommended_models_are_browsed_offline_with_licenses_and_fit(
    qtbot: QtBot, data_dir: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    AppSettingsStore.in_data_dir(data_dir).update(offline_mode=True)
    guard = NetworkGuard(allow_loopback=False).install(monkeypatch)  # not even the fake Hub
    with window_opener(qtbot, monkeypatch) as open_window:
        window = open_window(data_dir)
        panel = discover(window)
        assert panel.offline_box.isChecked()
        catalog = load_catalog()
        model = panel.catalog_model
        assert model.rowCount() == len(catalog.entries)
        advice = model.columnCount() - 1  # "Recommended for this computer"
        qtbot.waitUntil(lambda: "Checking" not in model.index(0, advice).data(), timeout=WAIT_MS)
        assert panel.machine_label.text().startswith("This computer: ")
        first = catalog.entries[0]
        assert model.index(0, 0).data().splitlines() == [
            f"{first.name} · Chat · 494M parameters",
            first.good_for,
        ]
        assert model.index(0, advice).data().splitlines()[1].startswith(("Runs", "Too large"))

        restricted = next(i for i, e in enumerate(catalog.entries) if not e.commercial_use)
        license_cell = model.index(restricted, 1)
        assert "Not for commercial use" in license_cell.data()
        assert license_cell.data(Qt.ItemDataRole.ForegroundRole) == colours().qcolor("warning_text")
        assert "does not allow commercial use" in license_cell.data(Qt.ItemDataRole.ToolTipRole)

        panel.catalog_table.selectRow(0)
        rows = details_rows(panel)
        assert rows and all(size.startswith("about ") for _, size, _ in rows)
        assert sum(RECOMMENDED_MARK in label for label, _, _ in rows) <= 1
        assert not panel.details.download_button.isEnabled()  # estimates: nothing to fetch
        assert "offline mode is on" in panel.details.status.text()
        screenshot(window, "1-catalog-offline")

        panel.search("qwen")
        assert "Offline mode is on" in panel.list_banner.text()
        assert "Untick “Offline mode”" in panel.list_banner.text()
        assert panel.results_model.rowCount() == 0
        qtbot.wait(300)  # a request would have gone out by now
        screenshot(window, "2-search-offline")
    guard.check()
    assert hub.requests == []


def test_search_runs_off_the_gui_thread_and_late_results_are_dropped(
    open_window: OpenWindow,
    data_dir: Path,
    hub: FakeHub,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[str] = []
    real_search = HubClient.search

    def search(self: HubClient, *args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return real_search(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(HubClient, "search", search)
    window = open_window(data_dir)
    panel = discover(window)
    qtbot.wait(300)
    assert hub.requests == []  # opening the app and Discover asks the Hub nothing
    sent: list[int] = []
    panel.search_requested.connect(lambda request_id, *_: sent.append(request_id))

    panel.search("GGUF")
    qtbot.waitUntil(lambda: panel.results_model.rowCount() == 2, timeout=WAIT_MS)
    assert threads and "MainThread" not in threads
    assert [panel.results_model.result_at(r).repo_id for r in range(2)] == [
        REPO,
        RESTRICTED_REPO,
    ]  # most downloaded first
    assert panel.results_model.index(1, 4).data() == "cc-by-nc-4.0"
    warning = colours().qcolor("warning_text")
    assert panel.results_model.index(1, 4).data(Qt.ItemDataRole.ForegroundRole) == warning

    first_answer = [panel.results_model.result_at(r) for r in range(2)]
    panel.search("research")
    qtbot.waitUntil(lambda: panel.results_model.rowCount() == 1, timeout=WAIT_MS)
    # The answer to the older question, arriving late, changes nothing.
    window.hub_worker.search_finished.emit(sent[0], first_answer)
    assert panel.results_model.rowCount() == 1

    panel.query.setText("GGUF")
    panel.sort.setCurrentIndex(2)  # newest first: searches again
    qtbot.waitUntil(
        lambda: panel.search_status.text().startswith("2 GGUF repos found"), timeout=WAIT_MS
    )
    assert panel.results_model.result_at(0).repo_id == RESTRICTED_REPO
    panel.search("no such model anywhere")
    qtbot.waitUntil(lambda: "Nothing found" in panel.search_status.text(), timeout=WAIT_MS)
    assert panel.results_model.rowCount() == 0
    click(qtbot, panel.back_button)
    assert panel.lists.currentWidget() is panel.catalog_table


def test_a_repo_shows_its_files_fit_and_license(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    panel = discover(window)
    open_search_result(qtbot, panel, "research", RESTRICTED_REPO)
    qtbot.waitUntil(lambda: panel.details.recommended_label() is not None, timeout=WAIT_MS)
    [(label, size, verdict)] = details_rows(panel)
    assert label == f"Q8_0  ★ {RECOMMENDED_MARK}"
    assert size == "1.1 MB" and verdict.startswith("Runs")
    assert "Not for commercial use" in panel.details.license_label.text()
    assert "cc-by-nc-4.0" in panel.details.license_label.text()
    assert panel.details.download_button.text() == "Download Q8_0 (1.1 MB)"
    assert panel.details.download_button.isEnabled()
    screenshot(window, "3-repo-details")


def test_download_shows_progress_pauses_resumes_and_the_model_is_ready_to_chat(
    open_window: OpenWindow, data_dir: Path, hub: FakeHub, qtbot: QtBot
) -> None:
    hub.bytes_per_second = 250_000
    window = open_window(data_dir)
    panel = discover(window)
    open_search_result(qtbot, panel, "stories", REPO)
    click(qtbot, panel.details.download_button)
    row = download_row(qtbot, panel)
    qtbot.waitUntil(
        lambda: row.progress.state == "downloading" and row.progress.bytes_done > 100_000,
        timeout=WAIT_MS,
    )
    assert 0 < row.bar.value() < 1000
    assert " of 1.1 MB" in row.text.text()
    qtbot.waitUntil(lambda: "left" in row.text.text(), timeout=WAIT_MS)  # speed and time left
    assert "/s" in row.text.text()
    screenshot(window, "4-downloading")

    click(qtbot, row.primary)  # Pause
    qtbot.waitUntil(lambda: row.progress.state == "paused", timeout=WAIT_MS)
    kept = partial_file(data_dir).stat().st_size
    assert row.text.text().startswith("Paused") and row.primary.text() == "Resume"
    assert kept == row.progress.bytes_done > 0

    hub.bytes_per_second = None
    with qtbot.waitSignal(window.models_tab.models_changed, timeout=WAIT_MS):
        click(qtbot, row.primary)  # Resume
    assert hub.range_starts(FILE)[-1] == kept  # continued from where it stopped
    qtbot.waitUntil(lambda: row.progress.state == "done", timeout=WAIT_MS)
    assert "Ready to chat" in row.text.text()
    picker = window.chat_tab.model_picker
    assert picker.combo.count() == 1 and picker.combo.itemText(0).startswith("stories260K-F32")
    [model] = window.registry.list()
    assert model.source["repo"] == REPO and model.source["license"] == "mit"
    table = window.models_tab.table_model  # "On this computer" lists it with the Hub's facts
    assert table.index(0, 0).data() == "stories260K-F32"
    assert table.index(0, 6).data() == "mit"
    assert f"Downloaded from {REPO}" in table.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert unnamed_controls(window) == []
    screenshot(window, "5-downloaded")

    click(qtbot, row.primary)  # Chat with it
    assert window.tabs.currentWidget() is window.chat_tab
    assert window.chat_tab.current_model_id() == model.id


def test_cancel_asks_first_then_leaves_nothing_behind(
    open_window: OpenWindow, data_dir: Path, hub: FakeHub, qtbot: QtBot
) -> None:
    hub.bytes_per_second = 150_000
    window = open_window(data_dir)
    panel = discover(window)
    open_search_result(qtbot, panel, "stories", REPO)
    click(qtbot, panel.details.download_button)
    row = download_row(qtbot, panel)
    qtbot.waitUntil(lambda: row.progress.bytes_done > 50_000, timeout=WAIT_MS)

    click(qtbot, row.secondary)  # Cancel
    box = panel.download_list.findChild(QMessageBox)
    assert box is not None and box.isVisible()
    assert "will be deleted" in box.informativeText()
    confirm = next(b for b in box.buttons() if b.text() == "Cancel download")
    click(qtbot, confirm)
    qtbot.waitUntil(lambda: panel.download_list.rows() == [], timeout=WAIT_MS)
    assert panel.download_list.empty_label.isVisible()
    hub_dir = data_dir / "models" / "hub"
    assert [p for p in hub_dir.rglob("*") if p.is_file()] == []
    assert window.registry.list() == []
    assert window.downloads.list() == []


def test_a_damaged_download_is_explained_and_not_added(
    open_window: OpenWindow, data_dir: Path, hub: FakeHub, qtbot: QtBot
) -> None:
    hub.wrong_bytes.add(FILE)
    window = open_window(data_dir)
    panel = discover(window)
    open_search_result(qtbot, panel, "stories", REPO)
    click(qtbot, panel.details.download_button)
    row = download_row(qtbot, panel)
    qtbot.waitUntil(lambda: row.progress.state == "failed", timeout=WAIT_MS)
    assert "is damaged" in row.text.text() and "deleted and not added" in row.text.text()
    assert (row.primary.text(), row.secondary.text()) == ("Try again", "Remove")
    assert panel.download_list.summary.text() == "1 failed"
    screenshot(window, "6-damaged")
    assert window.registry.list() == [] and window.chat_tab.model_picker.combo.count() == 0

    click(qtbot, row.secondary)  # Remove: no question, nothing is left to lose
    qtbot.waitUntil(lambda: panel.download_list.rows() == [], timeout=WAIT_MS)
    assert window.downloads.list() == []


def test_not_enough_disk_space_is_said_before_anything_downloads(
    open_window: OpenWindow,
    data_dir: Path,
    hub: FakeHub,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = open_window(data_dir)
    panel = discover(window)
    open_search_result(qtbot, panel, "stories", REPO)
    # The operating system reports an almost full disk.
    monkeypatch.setattr(
        download_store.shutil,
        "disk_usage",
        lambda _path: shutil._ntuple_diskusage(10**9, 10**9, 4096),
    )
    click(qtbot, panel.details.download_button)
    assert "not enough free disk space" in panel.details.banner.text()
    assert "Free some disk space, or choose a smaller quantization" in panel.details.banner.text()
    assert panel.download_list.rows() == [] and window.downloads.list() == []
    assert hub.range_starts(FILE) == [0]  # only the header read for the memory estimate
    screenshot(window, "8-disk-full")


def test_a_too_large_file_cannot_be_downloaded_and_says_why(
    open_window: OpenWindow, data_dir: Path, hub: FakeHub, qtbot: QtBot
) -> None:
    hub.claimed_sizes[FILE] = 10**15  # a petabyte, as the Hub's metadata says
    window = open_window(data_dir)
    panel = discover(window)
    open_search_result(qtbot, panel, "stories", REPO)
    [(_label, _size, verdict)] = details_rows(panel)
    assert verdict == "Too large for this computer"
    assert not panel.details.download_button.isEnabled()
    assert "more memory than this computer has" in panel.details.note.text()


def test_a_download_continues_after_the_app_restarts(
    open_window: OpenWindow, data_dir: Path, hub: FakeHub, qtbot: QtBot
) -> None:
    hub.bytes_per_second = 250_000
    first = open_window(data_dir)
    panel = discover(first)
    open_search_result(qtbot, panel, "stories", REPO)
    click(qtbot, panel.details.download_button)
    row = download_row(qtbot, panel)
    qtbot.waitUntil(lambda: row.progress.bytes_done > 100_000, timeout=WAIT_MS)
    first.close()  # the person quits mid-download
    kept = partial_file(data_dir).stat().st_size
    assert kept > 100_000

    hub.bytes_per_second = None
    second = open_window(data_dir)
    panel = discover(second)
    row = download_row(qtbot, panel)  # shown at start-up, and already running again
    qtbot.waitUntil(lambda: row.progress.state == "done", timeout=WAIT_MS)
    assert hub.range_starts(FILE)[-1] == kept
    assert second.chat_tab.model_picker.combo.count() == 1


def test_the_offline_switch_is_saved_and_pauses_downloads_until_switched_off(
    open_window: OpenWindow, data_dir: Path, hub: FakeHub, qtbot: QtBot
) -> None:
    hub.bytes_per_second = 200_000
    window = open_window(data_dir)
    panel = discover(window)
    open_search_result(qtbot, panel, "stories", REPO)
    click(qtbot, panel.details.download_button)
    row = download_row(qtbot, panel)
    qtbot.waitUntil(lambda: row.progress.bytes_done > 50_000, timeout=WAIT_MS)

    click(qtbot, panel.offline_box)
    assert AppSettingsStore.in_data_dir(data_dir).load().offline_mode is True
    qtbot.waitUntil(lambda: row.progress.state == "paused", timeout=WAIT_MS)
    assert "offline mode is on" in row.text.text() and not row.primary.isEnabled()
    assert not panel.details.download_button.isEnabled()
    assert "Offline mode is on" in panel.details.note.text()
    requests_then = len(hub.requests)
    panel.search("stories")
    assert "Offline mode is on" in panel.list_banner.text()
    screenshot(window, "7-offline-paused")

    hub.bytes_per_second = None
    click(qtbot, panel.offline_box)
    assert AppSettingsStore.in_data_dir(data_dir).load().offline_mode is False
    qtbot.waitUntil(lambda: row.progress.state == "done", timeout=WAIT_MS)
    assert len(hub.requests) > requests_then
    assert window.downloads.list() == []  # its row is gone once the model is added


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_download_killed_mid_way_resumes_when_the_app_opens(
    open_window: OpenWindow, data_dir: Path, hub: FakeHub, qtbot: QtBot
) -> None:
    hub.bytes_per_second = 200_000
    pull = [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir)]
    pull += ["--hub-endpoint", hub.url, "models", "pull", REPO]
    process = subprocess.Popen(pull, stderr=subprocess.DEVNULL)
    partial = partial_file(data_dir)
    try:
        qtbot.waitUntil(
            lambda: partial.is_file() and partial.stat().st_size > 150_000, timeout=WAIT_MS
        )
    finally:
        process.send_signal(signal.SIGKILL)  # no chance to tidy up, as after a crash
        process.wait()
    kept = partial.stat().st_size

    hub.bytes_per_second = None
    window = open_window(data_dir)
    panel = discover(window)
    row = download_row(qtbot, panel)
    qtbot.waitUntil(lambda: row.progress.state == "done", timeout=WAIT_MS)
    assert hub.range_starts(FILE)[-1] == kept  # from the byte where the killed process stopped
    assert window.chat_tab.model_picker.combo.count() == 1
