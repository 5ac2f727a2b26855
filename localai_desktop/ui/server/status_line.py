"""The status bar's line about the local server: on, its address, and requests in flight."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QToolButton, QWidget

from localai_desktop.ui.server.control import ServerControl, ServerState
from localai_desktop.ui.widgets.safe_text import inert_tooltip


class ServerStatusLine(QToolButton):
    """Shown while the server is switched on; a click opens its settings (`clicked`)."""

    def __init__(self, control: ServerControl, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoRaise(True)
        self.setAccessibleName("Local server status")
        control.state_changed.connect(self._on_control_state_changed)
        self._show(control.state)

    @Slot(object)
    def _on_control_state_changed(self, state: ServerState) -> None:
        self._show(state)

    def _show(self, state: ServerState) -> None:
        self.setVisible(state.enabled)
        self.setText(status_text(state))
        tip = "Settings of the server that lets other programs use your models"
        if state.error:
            tip = f"{state.error}\n\n{tip}"
        self.setToolTip(inert_tooltip(tip))


def status_text(state: ServerState) -> str:
    """One short line: what the server does now."""
    if not state.enabled:
        return "API server off"
    if state.error:
        return "API server not running (click for why)"
    if state.address is None:
        return "API server starting…"
    network = " (open to the network)" if state.open_to_network else ""
    count = state.in_flight
    requests = "idle" if count == 0 else f"{count} request{'s' if count != 1 else ''} in flight"
    return f"API server on at {state.address.base_url}{network} · {requests}"
