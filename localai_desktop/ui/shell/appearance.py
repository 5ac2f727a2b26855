"""The data folder's theme, text size and spell checking: applied to the app, and remembered."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from localai_desktop.core.datafolder.settings import SYSTEM_TEXT_SIZE, AppSettingsStore
from localai_desktop.ui.widgets.text_size import (
    apply_text_size,
    current_text_size,
    stepped_text_size,
    system_font,
)
from localai_desktop.ui.widgets.theme import apply_theme

log = logging.getLogger(__name__)


class Appearance(QObject):
    """Applies the settings.json of one data folder to the app and saves each change there.

    A change applies at once; when it cannot be saved the setters raise the LocalAIError after
    applying it (it then lasts until the app is closed).
    """

    text_size_changed = Signal(int)
    """The app's text size changed: (points)."""
    spell_check_changed = Signal(bool)
    """Spell checking in the message box was switched: (on)."""
    theme_changed = Signal(str)
    """The theme changed: ("system", "light" or "dark")."""

    def __init__(self, store: AppSettingsStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        settings = store.load()
        self._theme = settings.theme
        self._text_size = settings.text_size
        self._spell_check = settings.spell_check

    def apply_saved(self) -> None:
        """Apply the saved theme and text size (when a window opens on the folder)."""
        apply_theme(self._theme)
        apply_text_size(self._text_size)

    # -- theme ----------------------------------------------------------------------------

    def theme(self) -> str:
        return self._theme

    def set_theme(self, theme: str) -> None:
        if theme == self._theme:
            return
        self._theme = theme
        apply_theme(theme)
        self.theme_changed.emit(theme)
        self._store.update(theme=theme)

    # -- text size ------------------------------------------------------------------------

    def text_size(self) -> int:
        """The text size in points, as shown now (the system's when none was chosen)."""
        return current_text_size()

    def is_system_text_size(self) -> bool:
        return self._text_size == SYSTEM_TEXT_SIZE

    def change_text_size(self, steps: int) -> None:
        """Make the text `steps` points bigger (negative: smaller), within the limits."""
        self.set_text_size(stepped_text_size(steps))

    def set_text_size(self, points: int) -> None:
        """Use `points` (SYSTEM_TEXT_SIZE: the system's size); a size equal to the system's is
        remembered as "the system's", so it follows the system's later."""
        if points == round(system_font().pointSizeF()):
            points = SYSTEM_TEXT_SIZE
        if points == self._text_size:
            return
        self._text_size = points
        apply_text_size(points)
        self.text_size_changed.emit(current_text_size())
        self._store.update(text_size=points)

    # -- spelling -------------------------------------------------------------------------

    def spell_check(self) -> bool:
        return self._spell_check

    def set_spell_check(self, enabled: bool) -> None:
        if enabled == self._spell_check:
            return
        self._spell_check = enabled
        self.spell_check_changed.emit(enabled)
        self._store.update(spell_check=enabled)
