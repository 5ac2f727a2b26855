"""The first-run guide: shown once, the data folder it sets is used, the model it suggests
fits the computer, one click downloads it (from a local fake Hub), and the chat follows."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton, QWizard
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.config import AppConfigStore
from localai_desktop.core.datafolder.paths import resolve_data_dir
from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.core.hub.catalog import load_catalog
from localai_desktop.core.hub.starter_models import (
    StarterPick,
    recommend_chat_model,
    recommend_embedding_model,
)
from localai_desktop.core.models.hardware import Gpu, Machine
from localai_desktop.core.speed.prediction import MIN_USEFUL_TOKENS_PER_SECOND
from localai_desktop.ui.app import main as desktop_main
from localai_desktop.ui.models.model_import import ImportModelDialog
from localai_desktop.ui.shell.session import AppSession, data_folder_for
from localai_desktop.ui.welcome import workers as first_run_workers
from localai_desktop.ui.welcome.guide import PRIVACY_PROMISE, WelcomeGuide
from tests.support.fake_hub import FakeHub, NetworkGuard, running_fake_hub
from tests.support.session_support import OpenSession, chat, restored_logging, session_opener
from tests.ui.shell.test_gui_app import unnamed_controls

GB = 1024**3
_LEFT = Qt.MouseButton.LeftButton
LAPTOP = Machine(ram_bytes=16 * GB, cpu_cores=4)
DOWNLOAD_TIMEOUT_MS = 60_000


# -- what is suggested ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "largest_parameters", "quant"),
    [
        (Machine(ram_bytes=4 * GB), 2_000_000_000, "Q4_K_M"),
        (Machine(ram_bytes=8 * GB), 4_500_000_000, "Q4_K_M"),
        (LAPTOP, 9_000_000_000, "Q4_K_M"),
        (Machine(64 * GB, (Gpu("RTX 4090", 24 * GB, "cuda"),), False, True), 15e9, None),
    ],
)
def test_the_suggested_chat_model_fits_and_answers_at_a_readable_pace(
    machine: Machine, largest_parameters: float, quant: str | None
) -> None:
    pick = recommend_chat_model(load_catalog(), machine)
    assert pick is not None
    assert pick.entry.kind == "chat"
    assert pick.entry.parameter_count <= largest_parameters
    assert pick.verdict == ("gpu" if machine.can_use_gpu else "cpu")
    if quant is not None:
        assert pick.choice.quantization == quant
    if not machine.can_use_gpu:  # the file leaves most of the memory to everything else
        assert pick.choice.total_bytes <= 0.3 * machine.ram_bytes


def test_more_memory_never_gets_a_smaller_model_and_a_tiny_computer_gets_none() -> None:
    catalog = load_catalog()
    sizes = []
    for ram in (4, 8, 16, 32):
        pick = recommend_chat_model(catalog, Machine(ram_bytes=ram * GB))
        assert pick is not None
        sizes.append(pick.entry.parameter_count)
    assert sizes == sorted(sizes)
    assert recommend_chat_model(catalog, Machine(ram_bytes=128 * 1024**2)) is None
    embedding = recommend_embedding_model(catalog, LAPTOP)
    assert embedding is not None and embedding.entry.is_embedding_model


# -- the guide in the app ---------------------------------------------------------------------


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    # The machine is the edge here: the suggestion must not depend on the test computer.
    monkeypatch.setattr(first_run_workers, "detect_machine", lambda: LAPTOP)
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def open_guide(qtbot: QtBot, session: AppSession) -> WelcomeGuide:
    guide = session.show_welcome_guide()
    qtbot.waitExposed(guide)
    qtbot.waitUntil(lambda: guide.machine is not None, timeout=10_000)
    return guide


def go_to(qtbot: QtBot, guide: WelcomeGuide, page_id: int, shots: Path | None = None) -> None:
    while guide.currentId() != page_id:
        if guide.currentId() == WelcomeGuide.PAGE_PROTECT:
            guide.protect_page.protect.setChecked(False)  # recommended, not required
        if shots is not None:
            guide.grab().save(str(shots / f"guide-page-{guide.currentId()}.png"))
        qtbot.mouseClick(guide.button(QWizard.WizardButton.NextButton), _LEFT)
    if shots is not None:
        guide.grab().save(str(shots / f"guide-page-{page_id}.png"))


def test_a_first_start_shows_the_guide_once_and_help_reopens_it(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    session = open_session(data_dir)
    assert session.welcome_needed()
    guide = open_guide(qtbot, session)
    assert guide.welcome_page.promise.text() == PRIVACY_PROMISE
    assert unnamed_controls(guide) == []  # a screen reader can name every control
    go_to(qtbot, guide, WelcomeGuide.PAGE_COMPUTER, shots=tmp_path)
    assert "16.0 GB RAM" in guide.computer_page.summary.text()
    assert "processor (CPU)" in guide.computer_page.detail.text()
    go_to(qtbot, guide, WelcomeGuide.PAGE_MODEL, shots=tmp_path)
    suggestion = guide.model_page.chat_text.text()
    # The largest model that still answers at a useful speed here (not only the largest that
    # fits: on this 4-core, 16 GB computer an 8B model would answer at about 4 tokens/s).
    assert "Suggested for this computer:" in suggestion
    speed = re.search(r"about ([\d.]+) tokens/s here", suggestion)
    assert speed is not None and float(speed.group(1)) >= MIN_USEFUL_TOKENS_PER_SECOND
    assert guide.model_page.download_button.isEnabled()
    guide.close()
    qtbot.waitUntil(lambda: session.guide is None)

    assert not session.welcome_needed()
    saved = json.loads((data_dir / "settings.json").read_text(encoding="utf-8"))
    assert saved["welcome_done"] is True  # kept in the data folder it was shown for
    assert session.window is not None
    session.window.welcome_guide_action.trigger()
    assert session.guide is not None and session.guide.isVisible()
    session.guide.close()
    qtbot.waitUntil(lambda: session.guide is None)


def test_the_smoke_test_never_shows_the_guide(
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCALAI_CONFIG_DIR", str(tmp_path / "config"))
    with restored_logging():
        assert desktop_main(["--data-dir", str(data_dir), "--smoke-test"]) == 0
    assert "Smoke test passed" in capsys.readouterr().out
    assert not any(isinstance(w, WelcomeGuide) for w in QApplication.topLevelWidgets())
    assert AppConfigStore(tmp_path / "config" / "app.json").load().welcome_done is False


def test_the_data_folder_chosen_in_the_guide_is_used_now_and_at_the_next_start(
    open_session: OpenSession, qtbot: QtBot, tmp_path: Path
) -> None:
    first, chosen = tmp_path / "first", tmp_path / "big-disk"
    chosen.mkdir()
    (chosen / "holiday.jpg").write_bytes(b"not the app's")  # a folder already in use
    AppConfigStore(tmp_path / "config" / "app.json").update(data_dir=str(first))
    session = open_session()  # no --data-dir: the pointer decides
    assert session.paths.root == first.resolve()
    guide = open_guide(qtbot, session)
    guide.folder_page._choose_folder = lambda _parent, _start: chosen
    go_to(qtbot, guide, WelcomeGuide.PAGE_FOLDER)
    old_window = session.window

    qtbot.mouseClick(guide.folder_page.change_button, _LEFT)

    expected = (chosen / "LocalAI Desktop").resolve()
    assert session.paths.root == expected
    assert session.window is not old_window and session.window is not None
    assert session.window.paths.root == expected
    assert (expected / "localai.db").is_file()
    assert (chosen / "holiday.jpg").read_bytes() == b"not the app's"
    assert guide.folder_page.folder_label.text() == str(expected)
    assert "now kept in" in guide.folder_page.banner.text()
    guide.grab().save(str(tmp_path / "guide-folder-changed.png"))
    guide.close()
    qtbot.waitUntil(lambda: session.guide is None)
    # The next start (no --data-dir) opens the chosen folder.
    assert resolve_data_dir(None) == expected
    assert data_folder_for(expected) == expected  # choosing it again keeps it


def test_a_data_folder_given_on_the_command_line_cannot_be_changed_in_the_guide(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = open_session(data_dir)
    guide = open_guide(qtbot, session)
    go_to(qtbot, guide, WelcomeGuide.PAGE_FOLDER)
    assert not guide.folder_page.change_button.isEnabled()
    assert "--data-dir" in guide.folder_page.note.text()
    guide.close()
    qtbot.waitUntil(lambda: session.guide is None)


@pytest.fixture
def hub(models_dir: Path) -> Iterator[FakeHub]:
    catalog = load_catalog()
    chat_pick = recommend_chat_model(catalog, LAPTOP)
    embedding_pick = recommend_embedding_model(catalog, LAPTOP)
    assert chat_pick is not None and embedding_pick is not None
    with running_fake_hub() as hub:
        serve(hub, chat_pick, models_dir / "stories260K.gguf")
        serve(hub, embedding_pick, models_dir / "all-MiniLM-L6-v2-Q8_0.gguf")
        yield hub


def serve(hub: FakeHub, pick: StarterPick, real_file: Path) -> None:
    """The suggested repo, holding a real (small) GGUF file under the suggested quant's name."""
    name = pick.entry.repo_id.split("/")[1].removesuffix("-GGUF").removesuffix("-gguf")
    hub.add_repo(pick.entry.repo_id, {f"{name}-{pick.choice.quantization}.gguf": real_file})


def test_one_click_downloads_the_suggested_models_and_the_chat_opens_with_one(
    open_session: OpenSession,
    data_dir: Path,
    qtbot: QtBot,
    hub: FakeHub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    guard = NetworkGuard(allow_loopback=True).install(monkeypatch)
    session = open_session(data_dir)
    guide = open_guide(qtbot, session)
    go_to(qtbot, guide, WelcomeGuide.PAGE_MODEL)
    assert guide.model_page.embedding_box.isVisible()

    qtbot.mouseClick(guide.model_page.download_button, _LEFT)
    qtbot.waitUntil(lambda: len(guide.download_ids) == 2, timeout=20_000)
    guide.grab().save(str(tmp_path / "guide-downloading.png"))
    qtbot.waitUntil(lambda: guide.model_id is not None, timeout=DOWNLOAD_TIMEOUT_MS)
    assert "is ready" in guide.model_page.status.text()
    go_to(qtbot, guide, WelcomeGuide.PAGE_FINISH)
    assert "Your model is ready" in guide.finish_page.text.text()
    guide.grab().save(str(tmp_path / "guide-finish.png"))
    qtbot.mouseClick(guide.button(QWizard.WizardButton.FinishButton), _LEFT)
    qtbot.waitUntil(lambda: session.guide is None)

    window = session.window
    assert window is not None
    assert window.tabs.currentWidget() is window.chat_tab
    assert window.chat_tab.current_model_id() == guide.model_id
    answer = chat(qtbot, window, "Once upon a time")
    assert answer.status == "complete" and answer.content.strip()
    window.grab().save(str(tmp_path / "first-chat.png"))
    # Both downloads finish; only the Hub was asked, and only for what was clicked.
    qtbot.waitUntil(lambda: len(window.registry.list()) == 2, timeout=DOWNLOAD_TIMEOUT_MS)
    assert sum(m.is_embedding_model for m in window.registry.list()) == 1
    asked = {r.path for r in hub.requests if r.path.startswith("/api/")}
    assert asked == {f"/api/models/{repo}" for repo in hub.repos}  # no search, no telemetry
    guard.check()


def test_in_offline_mode_the_guide_says_so_and_asks_nobody(
    open_session: OpenSession,
    data_dir: Path,
    qtbot: QtBot,
    hub: FakeHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    guard = NetworkGuard(allow_loopback=False).install(monkeypatch)
    AppSettingsStore.in_data_dir(data_dir).update(offline_mode=True)
    session = open_session(data_dir)
    guide = open_guide(qtbot, session)
    go_to(qtbot, guide, WelcomeGuide.PAGE_MODEL)

    qtbot.mouseClick(guide.model_page.download_button, _LEFT)

    qtbot.waitUntil(lambda: "Offline mode is on" in guide.model_page.banner.text(), timeout=10_000)
    assert guide.model_page.download_button.isEnabled()  # to try again after going online
    assert guide.download_ids == []
    guide.close()
    qtbot.waitUntil(lambda: session.guide is None)
    guard.check()
    assert hub.requests == []


def test_i_already_have_a_gguf_file_imports_it_and_opens_the_chat(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot, stories260k: Path
) -> None:
    session = open_session(data_dir)
    guide = open_guide(qtbot, session)
    go_to(qtbot, guide, WelcomeGuide.PAGE_MODEL)

    qtbot.mouseClick(guide.model_page.import_button, _LEFT)

    qtbot.waitUntil(lambda: session.guide is None)
    window = session.window
    assert window is not None
    tab = window.models_tab
    file_dialog = tab.findChild(QFileDialog)
    assert file_dialog is not None and file_dialog.isVisible()
    file_dialog.selectFile(str(stories260k))
    file_dialog.accept()
    dialog = tab.findChild(ImportModelDialog)
    assert dialog is not None
    import_button = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Import")
    with qtbot.waitSignal(tab.import_ended, timeout=60_000):
        qtbot.mouseClick(import_button, _LEFT)

    assert window.tabs.currentWidget() is window.chat_tab
    model = window.registry.list()[0]
    assert window.chat_tab.current_model_id() == model.id
    assert chat(qtbot, window, "Once upon a time").status == "complete"


def test_settings_move_the_app_to_another_data_folder(
    open_session: OpenSession, qtbot: QtBot, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    AppConfigStore(tmp_path / "config" / "app.json").update(data_dir=str(first))
    session = open_session()
    window = session.window
    assert window is not None
    window.store.create("Kept in the first folder")
    dialog = session.show_settings()
    qtbot.waitExposed(dialog)
    assert unnamed_controls(dialog) == []
    assert dialog.change_button.isEnabled()
    assert dialog.folder_label.text() == str(first.resolve())
    dialog._choose_folder = lambda _parent, _start: second

    with qtbot.waitSignal(session.window_opened, timeout=30_000):
        dialog.change_button.click()

    assert session.paths.root == second.resolve()
    assert session.window is not None and session.window.store.list() == []
    assert resolve_data_dir(None) == second.resolve()
    # Switching back shows the first folder's conversations again.
    assert session.switch_data_folder(first) == first.resolve()
    assert [c.title for c in session.window.store.list()] == ["Kept in the first folder"]
