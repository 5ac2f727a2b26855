"""The app's icon on its windows, and the desktop entry that names the app to Linux desktops."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtGui import QIcon

# resources/linux/org.localai.desktop.desktop, installed by the .deb and the tarball. On
# Wayland the compositor ignores window icons and takes the icon from the desktop entry whose
# name the app gives as its app id.
DESKTOP_ENTRY = "org.localai.desktop"


def icon_files() -> list[Path]:
    """The icon's PNGs inside the package, one per size (resources/make_icons.py makes them)."""
    folder = Path(str(resources.files("localai_desktop") / "resources" / "icons"))
    return sorted(folder.glob("localai-desktop-*.png"))


def app_icon() -> QIcon:
    """The icon in every size drawn for it, so that small ones are not a blurred large one."""
    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon
