"""Settings > Other programs: the switch, port, network warning, token, and the status line."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QCheckBox, QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.ui.server.settings_page import ServerSettings
from localai_desktop.ui.shell.session import AppSession
from tests.support.layout_checks import cut_texts, sticking_out
from tests.support.session_support import OpenSession, import_model, session_opener
from tests.ui.server.server_support import START_TIMEOUT_MS, client_of, free_port

SCREENSHOTS = os.environ.get("LOCALAI_SCREENSHOTS")  # a folder: save what the tests look at


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def server_page(session: AppSession) -> ServerSettings:
    dialog = session.show_settings()
    dialog.show_server_page()
    return dialog.server_settings


def tick(qtbot: QtBot, box: QCheckBox) -> None:
    """Click a check box on its box (its middle may be empty space right of the text)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def choose_port(page: ServerSettings, port: int) -> None:
    """Type a port and leave the field, as a person would."""
    page.port_spin.setValue(port)
    page.port_spin.editingFinished.emit()


def test_the_server_is_off_until_switched_on_and_stays_on_after_a_restart(
    open_session: OpenSession, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "stories")
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    assert not window.server.state.enabled and not window.server_status.isVisible()

    page = server_page(session)
    assert not page.enabled_box.isChecked() and not page.save_box.isChecked()
    assert not page.network_box.isChecked() and not page.network_warning.isVisible()
    assert page.status_label.text().startswith("Off")
    port = free_port()
    choose_port(page, port)
    assert page.address_field.text() == f"http://127.0.0.1:{port}/v1"
    tick(qtbot, page.enabled_box)
    qtbot.waitUntil(lambda: window.server.state.running, timeout=START_TIMEOUT_MS)
    assert page.status_label.text() == (
        f"On: open to this computer at http://127.0.0.1:{port}/v1 (no requests now)."
    )
    assert window.server_status.isVisible()
    assert window.server_status.text() == f"API server on at http://127.0.0.1:{port}/v1 · idle"

    # The token shown is the one programs must send; Copy puts it on the clipboard.
    token = page.token_field.text()
    assert len(token) >= 32
    qtbot.mouseClick(page.copy_token_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == token
    qtbot.mouseClick(page.copy_address_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == page.address_field.text()
    client = openai.OpenAI(base_url=page.address_field.text(), api_key=token, max_retries=0)
    assert [m.id for m in client.models.list()] == ["stories"]

    # Regenerate asks first; the new token works at once and the old one no longer does.
    qtbot.mouseClick(page.regenerate_button, Qt.MouseButton.LeftButton)
    box = page.regenerate_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    keep = next(b for b in box.buttons() if b.text() == "Keep")
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    assert page.token_field.text() == token
    qtbot.mouseClick(page.regenerate_button, Qt.MouseButton.LeftButton)
    box = page.regenerate_box
    new = next(b for b in box.buttons() if b.text() == "Make a new token")
    qtbot.mouseClick(new, Qt.MouseButton.LeftButton)
    new_token = page.token_field.text()
    assert new_token != token
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    assert client_of(window, token=new_token).models.list()

    # Closing the app stops the server; the next start serves again, same port and token.
    session.close()
    with pytest.raises(openai.APIConnectionError):
        openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key=new_token, max_retries=0, timeout=3
        ).models.list()
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    qtbot.waitUntil(lambda: window.server.state.running, timeout=START_TIMEOUT_MS)
    assert window.server.state.address is not None and window.server.state.address.port == port
    page = server_page(session)
    assert page.enabled_box.isChecked() and page.token_field.text() == new_token
    assert client_of(window).models.list()

    # Switched off from the page: nothing listens any more.
    tick(qtbot, page.enabled_box)
    qtbot.waitUntil(lambda: not window.server.state.changing, timeout=START_TIMEOUT_MS)
    assert not window.server.state.running and not window.server_status.isVisible()
    assert not AppSettingsStore.in_data_dir(data_dir).load().server_enabled
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=3).close()


def test_allowing_the_network_warns_and_listens_beyond_this_computer(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot
) -> None:
    AppSettingsStore.in_data_dir(data_dir).update(server_enabled=True, server_port=free_port())
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    qtbot.waitUntil(lambda: window.server.state.running, timeout=START_TIMEOUT_MS)
    page = server_page(session)
    assert not window.server.state.open_to_network

    tick(qtbot, page.network_box)
    assert page.network_warning.isVisible()
    warning = page.network_warning.text()
    assert "Anyone on your network who has the access token can use your models" in warning
    assert "unencrypted" in warning
    qtbot.waitUntil(lambda: window.server.state.open_to_network, timeout=START_TIMEOUT_MS)
    assert "open to this computer and the local network" in page.status_label.text()
    assert "(open to the network)" in window.server_status.text()
    assert client_of(window).models.list() is not None  # still reached at 127.0.0.1

    tick(qtbot, page.network_box)
    assert not page.network_warning.isVisible()
    qtbot.waitUntil(
        lambda: window.server.state.running and not window.server.state.open_to_network,
        timeout=START_TIMEOUT_MS,
    )
    assert AppSettingsStore.in_data_dir(data_dir).load().server_allow_network is False


def test_a_port_in_use_is_explained_and_another_port_fixes_it(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot
) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        taken = other_program.getsockname()[1]
        AppSettingsStore.in_data_dir(data_dir).update(server_enabled=True, server_port=taken)
        session = open_session(data_dir)
        window = session.window
        assert window is not None
        qtbot.waitUntil(lambda: bool(window.server.state.error), timeout=START_TIMEOUT_MS)
        assert f"Port {taken} is already used by another program" in window.server.state.error
        assert window.server_status.text() == "API server not running (click for why)"
        assert "already used" in window.server_status.toolTip()

        # The status line opens the settings on the server's page, which says why.
        qtbot.mouseClick(window.server_status, Qt.MouseButton.LeftButton)
        dialog = session.settings_dialog
        assert dialog is not None
        assert dialog.pages.currentWidget() is dialog.server_settings
        page = dialog.server_settings
        assert page.status_label.text().startswith(f"Not running. Port {taken} is already used")

        port = free_port()
        choose_port(page, port)
        qtbot.waitUntil(lambda: window.server.state.running, timeout=START_TIMEOUT_MS)
        assert window.server.state.error == ""
        assert page.address_field.text() == f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("size", [(800, 600), (1920, 1080)])
def test_the_server_page_fits_and_reads_at_both_sizes(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot, size: tuple[int, int]
) -> None:
    AppSettingsStore.in_data_dir(data_dir).update(
        server_enabled=True, server_port=free_port(), server_allow_network=True
    )
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    window.resize(*size)
    qtbot.waitUntil(lambda: window.server.state.running, timeout=START_TIMEOUT_MS)
    page = server_page(session)
    dialog = session.settings_dialog
    assert dialog is not None
    # The dialog no bigger than the screen it must fit.
    dialog.resize(min(dialog.width(), size[0]), min(dialog.height(), size[1]))
    qtbot.waitUntil(lambda: page.network_warning.isVisible())
    # Other computers are told this computer's own network addresses (or that it has none).
    assert page.network_addresses.isVisible()
    assert page.network_addresses.text().startswith(
        ("Other computers on the network use: http://", "This computer has no local network")
    )
    if SCREENSHOTS:
        dialog.grab().save(f"{SCREENSHOTS}/server-settings-{size[0]}x{size[1]}.png")
        window.grab().save(f"{SCREENSHOTS}/server-window-{size[0]}x{size[1]}.png")
    assert dialog.height() <= size[1] and dialog.width() <= size[0]
    assert sticking_out(dialog) == []
    assert cut_texts(dialog) == []
    assert sticking_out(window) == []
    dialog.pages.setCurrentIndex(0)  # the General page, as before it had a neighbour
    assert sticking_out(dialog) == [] and cut_texts(dialog) == []
    if SCREENSHOTS:
        dialog.grab().save(f"{SCREENSHOTS}/general-settings-{size[0]}x{size[1]}.png")
