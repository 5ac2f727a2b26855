"""The Settings page "Let other programs on this computer use your models" (the local server)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.settings import MAX_SERVER_PORT, MIN_SERVER_PORT
from localai_desktop.core.server.access import ALL_INTERFACES, NETWORK_WARNING
from localai_desktop.ui.server.control import (
    ServerControl,
    ServerState,
    base_url,
    network_base_urls,
)
from localai_desktop.ui.widgets.confirm import confirm_delete
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.widgets.settings_form import spin_box
from localai_desktop.ui.widgets.theme import ThemeColours, themed_style_sheet

PAGE_TITLE = "Let other programs on this computer use your models"
# A port typed digit by digit is applied once the typing pauses, not at every digit.
PORT_SETTLE_MS = 800

INTRODUCTION = (
    "Programs that speak the OpenAI API (code editors, scripts, document tools) can then ask "
    "the models in your Models tab, by their names there. They send the access token below as "
    "their API key. Requests take turns with your chats on the same model; one that names "
    "another model loads it for its turn, and your next chat answer loads yours again."
)
AUDIT_NOTE = (
    "Each request is recorded in the audit trail as fingerprints (hashes) and token counts, "
    "never its text."
)
SAVE_NOTE = (
    "Also keep each chat request and its answer as a conversation in this workspace (titled "
    "“API: …”), protected like your other conversations."
)


def _note(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet("color: palette(placeholder-text);")
    if name:
        label.setAccessibleName(name)
    return label


def _read_only(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setReadOnly(True)
    field.setAccessibleName(name)
    return field


def _button(text: str, name: str, slot: Callable[[], None]) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.clicked.connect(slot)
    return button


class ServerSettings(QWidget):
    """The switch, port, network choice, token, address and conversation choice; each change
    is saved and applied at once (starting and stopping happen off the GUI thread)."""

    def __init__(self, control: ServerControl, banner: Banner, parent: QWidget | None = None):
        super().__init__(parent)
        self._control = control
        self._banner = banner
        settings = control.settings()

        self.enabled_box = QCheckBox(PAGE_TITLE)
        self.enabled_box.setAccessibleName("Let other programs use your models")
        self.enabled_box.setStyleSheet("font-weight: bold;")
        self.enabled_box.setChecked(settings.server_enabled)
        self.enabled_box.setToolTip(
            "Switch on when a program on this computer should use your models through the "
            "OpenAI API; switch off when none needs them. Off by default."
        )
        self.enabled_box.toggled.connect(self._on_enabled_box_toggled)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Server status")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.address_field = _read_only("Base URL")
        self.address_field.setToolTip("What programs call the base URL (base_url) of the API.")
        self.copy_address_button = _button(
            "Copy", "Copy the base URL", self._on_copy_address_button_clicked
        )
        self.port_spin = spin_box(
            MIN_SERVER_PORT,
            MAX_SERVER_PORT,
            "Port",
            "The port the server listens on. Change it if another program already uses it.",
        )
        self.port_spin.setValue(settings.server_port)
        self.port_spin.setGroupSeparatorShown(False)
        self._port_timer = QTimer(self)
        self._port_timer.setSingleShot(True)
        self._port_timer.setInterval(PORT_SETTLE_MS)
        self._port_timer.timeout.connect(self._on_port_timer_timeout)
        self.port_spin.valueChanged.connect(self._on_port_spin_value_changed)
        self.port_spin.editingFinished.connect(self._on_port_timer_timeout)

        self.token_field = _read_only("Access token")
        self.token_field.setToolTip("Programs send this as their API key (Bearer token).")
        self.copy_token_button = _button(
            "Copy", "Copy the access token", self._on_copy_token_button_clicked
        )
        self.regenerate_button = _button(
            "Regenerate…", "Regenerate the access token", self._on_regenerate_button_clicked
        )

        self.network_box = QCheckBox("Also allow other computers on the local network")
        self.network_box.setAccessibleName("Allow the local network")
        self.network_box.setChecked(settings.server_allow_network)
        self.network_box.setToolTip(
            "Only when programs on other computers of a network you trust must use your "
            "models; otherwise only this computer can connect."
        )
        self.network_box.toggled.connect(self._on_network_box_toggled)
        self.network_warning = QLabel()
        self.network_warning.setWordWrap(True)
        self.network_warning.setAccessibleName("Network warning")
        themed_style_sheet(self.network_warning, lambda theme: f"color: {theme.error_text};")
        self.network_addresses = QLabel()
        self.network_addresses.setWordWrap(True)
        self.network_addresses.setAccessibleName("Addresses on the local network")
        self.network_addresses.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.network_addresses.hide()

        self.save_box = QCheckBox("Save API conversations as conversations")
        self.save_box.setAccessibleName("Save API conversations as conversations")
        self.save_box.setChecked(settings.server_save_conversations)
        self.save_box.setToolTip(
            "Switch on to read API chats again later in the Chat tab; off, the app keeps "
            "no text of them."
        )
        self.save_box.toggled.connect(self._on_save_box_toggled)

        address_row = QHBoxLayout()
        address_row.addWidget(self.address_field, 1)
        address_row.addWidget(self.copy_address_button)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token_field, 1)
        token_row.addWidget(self.copy_token_button)
        token_row.addWidget(self.regenerate_button)
        port_row = QHBoxLayout()
        port_row.addWidget(self.port_spin)
        port_row.addStretch(1)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Base URL", address_row)
        form.addRow("Port", port_row)
        form.addRow("Access token", token_row)

        layout = QVBoxLayout(self)
        layout.addWidget(self.enabled_box)
        layout.addWidget(_note(INTRODUCTION, "What the server does"))
        layout.addWidget(self.status_label)
        layout.addLayout(form)
        layout.addWidget(
            _note(
                "Regenerating the token refuses every program that still sends the old one.",
                "About the access token",
            )
        )
        layout.addWidget(self.network_box)
        layout.addWidget(self.network_warning)
        layout.addWidget(self.network_addresses)
        layout.addWidget(self.save_box)
        layout.addWidget(_note(SAVE_NOTE + " " + AUDIT_NOTE, "What is kept of requests"))
        layout.addStretch(1)

        self._show_token()
        control.state_changed.connect(self._on_control_state_changed)
        self._show_state(control.state)

    # -- showing ------------------------------------------------------------------------------

    def _show_token(self) -> None:
        try:
            self.token_field.setText(self._control.access_token())
        except LocalAIError as error:
            self._banner.show_error(error.message)

    def _show_state(self, state: ServerState) -> None:
        port = state.address.port if state.address is not None else self.port_spin.value()
        self.address_field.setText(base_url(port))
        network = self.network_box.isChecked()
        others = network_base_urls(port) if network else []
        self.network_addresses.setText(
            "Other computers on the network use: " + ", ".join(others)
            if others
            else "This computer has no local network address now."
        )
        self.network_addresses.setVisible(network)
        self.network_warning.setText(
            "Warning: " + NETWORK_WARNING.format(host=ALL_INTERFACES, port=port)
        )
        self.network_warning.setVisible(network)
        self.status_label.setText(_status_text(state))
        error, running = bool(state.enabled and state.error), state.running

        def look(theme: ThemeColours) -> str:
            colour = theme.error_text if error else theme.success_text if running else ""
            return f"font-weight: bold; color: {colour};" if colour else "font-weight: bold;"

        themed_style_sheet(self.status_label, look)
        with QSignalBlocker(self.enabled_box):
            self.enabled_box.setChecked(state.enabled)

    def _apply(self, change: Callable[[], None]) -> None:
        try:
            change()
        except LocalAIError as error:
            self._banner.show_error(error.message)

    # -- slots --------------------------------------------------------------------------------

    @Slot(object)
    def _on_control_state_changed(self, state: ServerState) -> None:
        self._show_state(state)

    @Slot(bool)
    def _on_enabled_box_toggled(self, enabled: bool) -> None:
        self._apply(lambda: self._control.set_enabled(enabled))

    @Slot(int)
    def _on_port_spin_value_changed(self, _port: int) -> None:
        self._port_timer.start()

    @Slot()
    def _on_port_timer_timeout(self) -> None:
        self._port_timer.stop()
        port = self.port_spin.value()
        self._apply(lambda: self._control.set_port(port))
        self._show_state(self._control.state)

    @Slot(bool)
    def _on_network_box_toggled(self, allow: bool) -> None:
        self._apply(lambda: self._control.set_allow_network(allow))
        self._show_state(self._control.state)

    @Slot(bool)
    def _on_save_box_toggled(self, save: bool) -> None:
        self._apply(lambda: self._control.set_save_conversations(save))

    @Slot()
    def _on_copy_address_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.address_field.text())
        self._banner.show_info("The base URL is copied.")

    @Slot()
    def _on_copy_token_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.token_field.text())
        self._banner.show_info("The access token is copied: paste it as the program's API key.")

    @Slot()
    def _on_regenerate_button_clicked(self) -> None:
        self.regenerate_box = confirm_delete(
            self,
            "Make a new access token",
            "Make a new access token?",
            "Programs that use the current token are refused until they are given the new one.",
            self._regenerate,
            action="Make a new token",
        )

    def _regenerate(self) -> None:
        try:
            self.token_field.setText(self._control.regenerate_token())
        except LocalAIError as error:
            self._banner.show_error(error.message)
            return
        self._banner.show_info("A new access token is made; give it to the programs you use.")


def _status_text(state: ServerState) -> str:
    if not state.enabled:
        return "Off: no program can reach your models through the API."
    if state.error:
        return f"Not running. {state.error}"
    if state.address is None:
        return "Starting…"
    where = "this computer and the local network" if state.open_to_network else "this computer"
    requests = (
        "no requests now"
        if state.in_flight == 0
        else f"{state.in_flight} request{'s' if state.in_flight != 1 else ''} in flight"
    )
    return f"On: open to {where} at {state.address.base_url} ({requests})."
