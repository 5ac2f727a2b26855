"""App-wide settings (offline mode, the Hub, downloads, appearance) in <data dir>/settings.json."""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.datafolder.config import AppConfig
from localai_desktop.core.datafolder.paths import DATA_DIR_ENV, DataPaths, default_data_dir
from localai_desktop.core.server.access import DEFAULT_PORT

log = logging.getLogger(__name__)

DEFAULT_HUB_ENDPOINT = "https://huggingface.co"
HUB_ENDPOINT_ENV = "HF_ENDPOINT"
MAX_PARALLEL_DOWNLOADS_LIMIT = 8
# The window's colours: as the operating system's, or always light or always dark.
THEME_SYSTEM = "system"
THEME_LIGHT = "light"
THEME_DARK = "dark"
THEMES = (THEME_SYSTEM, THEME_LIGHT, THEME_DARK)
# The text size in points; 0 means the operating system's size. Outside these limits a
# window no longer fits its controls (too big) or cannot be read (too small).
SYSTEM_TEXT_SIZE = 0
MIN_TEXT_SIZE = 7
MAX_TEXT_SIZE = 20
# The desktop app's local server: `localai serve`'s default port unless the person chooses
# another; ports below 1024 need an administrator on most systems.
DEFAULT_SERVER_PORT = DEFAULT_PORT
MIN_SERVER_PORT = 1024
MAX_SERVER_PORT = 65535
# A protected workspace locks itself after this many minutes without input; 0: never.
DEFAULT_IDLE_LOCK_MINUTES = 15
MAX_IDLE_LOCK_MINUTES = 24 * 60


@dataclass(frozen=True)
class AppSettings:
    """What a person can switch for the whole app; the GUI and the CLI read the same file."""

    offline_mode: bool = False
    hub_endpoint: str = DEFAULT_HUB_ENDPOINT
    max_parallel_downloads: int = 2
    # Adds what people write and the answers to the log files (core/common/logs.py); off by default.
    debug_logging: bool = False
    # The local server's access token (core/server): made on first use; "" until then.
    server_token: str = ""
    # The desktop app's local server (ui/server): off until switched on; on 127.0.0.1 unless
    # the network is allowed; API chats kept as conversations only when asked.
    server_enabled: bool = False
    server_port: int = DEFAULT_SERVER_PORT
    server_allow_network: bool = False
    server_save_conversations: bool = False
    theme: str = THEME_SYSTEM
    text_size: int = SYSTEM_TEXT_SIZE
    # Underline misspelt words in the message box (where a dictionary is available).
    spell_check: bool = True
    # Whether this data folder's welcome guide was shown; None: not recorded here yet (older
    # versions kept one flag for the whole app: see welcome_guide_seen).
    welcome_done: bool | None = None
    # The workspace the desktop app opens at start: the one last used ("" : the default).
    last_workspace: str = ""
    idle_lock_minutes: int = DEFAULT_IDLE_LOCK_MINUTES
    # This computer's measured speed (core.speed.measurement.MachineSpeed as JSON); {} until
    # measured. Predicted tokens per second come from it.
    machine_speed: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppSettings:
        """Settings from stored JSON; unknown keys and values of the wrong type are ignored."""
        defaults = cls()
        values: dict[str, Any] = {}
        for setting in fields(cls):
            value = data.get(setting.name, getattr(defaults, setting.name))
            default = getattr(defaults, setting.name)
            # bool is an int in Python: compare exact types so "true" or 1 cannot sneak in.
            values[setting.name] = value if type(value) is type(default) else default
        welcome_done = data.get("welcome_done")
        values["welcome_done"] = welcome_done if isinstance(welcome_done, bool) else None
        values["max_parallel_downloads"] = min(
            max(1, values["max_parallel_downloads"]), MAX_PARALLEL_DOWNLOADS_LIMIT
        )
        if values["theme"] not in THEMES:
            values["theme"] = THEME_SYSTEM
        if values["text_size"] != SYSTEM_TEXT_SIZE:
            values["text_size"] = min(max(MIN_TEXT_SIZE, values["text_size"]), MAX_TEXT_SIZE)
        values["idle_lock_minutes"] = min(
            max(0, values["idle_lock_minutes"]), MAX_IDLE_LOCK_MINUTES
        )
        if not MIN_SERVER_PORT <= values["server_port"] <= MAX_SERVER_PORT:
            values["server_port"] = DEFAULT_SERVER_PORT
        return cls(**values)


class AppSettingsStore:
    """Reads and writes settings.json; every save replaces the file in one step."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> AppSettingsStore:
        return cls(DataPaths(Path(data_dir)).settings)

    def load(self) -> AppSettings:
        """The saved settings; defaults when there is no file or it cannot be read."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return AppSettings()
        except (OSError, ValueError) as error:
            # A damaged settings file must not keep the app from starting.
            log.warning("Ignoring unreadable settings file %s: %s", self.path, error)
            return AppSettings()
        if not isinstance(data, dict):
            log.warning("Ignoring settings file %s: not a JSON object", self.path)
            return AppSettings()
        return AppSettings.from_dict(data)

    def save(self, settings: AppSettings) -> None:
        """Write atomically: a crash mid-save leaves the old file, never half a file."""
        check_hub_endpoint(settings.hub_endpoint)
        text = json.dumps(settings.to_dict(), indent=2) + "\n"
        try:
            write_atomically(self.path, text.encode("utf-8"), temp_prefix=".settings-")
        except OSError as error:
            raise StorageError(
                f"The settings could not be saved ({error.strerror or error}).",
                "Check that the data folder exists, that you may write to it and that the "
                "disk is not full.",
            ) from error

    def server_token(self, *, regenerate: bool = False) -> str:
        """The local server's access token, made (and saved) on first use or when asked.

        Regenerating refuses every client that still sends the old one.
        """
        token = self.load().server_token
        if regenerate or not token:
            token = secrets.token_urlsafe(32)
            self.update(server_token=token)
        return token

    def update(self, **changes: Any) -> AppSettings:
        """Change some settings, save, and return the result."""
        settings = replace(self.load(), **changes)
        self.save(settings)
        return settings


def welcome_guide_seen(settings: AppSettings, folder: Path, config: AppConfig) -> bool:
    """Whether the welcome guide was shown for the data folder `folder` (its settings).

    Versions that kept one flag for the whole app (app.json) left the answer there: it counts
    for the folder that was in use when it was set, the one the app opens without --data-dir
    ($LOCALAI_DATA_DIR, else the folder chosen in the app, else the default), and for no other.
    """
    if settings.welcome_done is not None:
        return settings.welcome_done
    if not config.welcome_done:
        return False
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        usual = Path(from_env).expanduser().resolve()
    elif config.data_dir:
        usual = Path(config.data_dir).expanduser().resolve()
    else:
        usual = default_data_dir()
    return Path(folder).expanduser().resolve() == usual.resolve()


def check_hub_endpoint(url: str) -> str:
    """The Hub address without a trailing slash; refuses anything but http(s)://host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LocalAIError(
            f"'{url}' is not a web address the app can use for Hugging Face.",
            f"Use an address like {DEFAULT_HUB_ENDPOINT}.",
        )
    return url.strip().rstrip("/")


def resolve_hub_endpoint(explicit: str | None, settings: AppSettings) -> str:
    """The Hub address: the explicit one, else $HF_ENDPOINT, else the saved setting.

    Read here, at call time, rather than by huggingface_hub at import time, so a test or a
    command-line option can always point the app at another server.
    """
    chosen = explicit or os.environ.get(HUB_ENDPOINT_ENV) or settings.hub_endpoint
    return check_hub_endpoint(chosen or DEFAULT_HUB_ENDPOINT)
