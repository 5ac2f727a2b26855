"""The Appearance part of Settings: theme, text size and spell checking in the message box."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QLocale, QSignalBlocker, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.settings import MAX_TEXT_SIZE, MIN_TEXT_SIZE, SYSTEM_TEXT_SIZE
from localai_desktop.ui.shell.appearance import Appearance
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.widgets.spelling import NO_DICTIONARY_TEXT, has_dictionary, system_language
from localai_desktop.ui.widgets.theme import THEME_NAMES

# The spin box's lowest value stands for "the system's size".
_SYSTEM_SIZE_VALUE = MIN_TEXT_SIZE - 1


class AppearanceSettings(QGroupBox):
    """Theme, text size and spelling for this data folder; each change applies at once."""

    def __init__(self, appearance: Appearance, banner: Banner, parent: QWidget | None = None):
        super().__init__("Appearance", parent)
        self._appearance = appearance
        self._banner = banner

        self.theme_combo = QComboBox()
        self.theme_combo.setAccessibleName("Theme")
        self.theme_combo.setToolTip(
            "Light or dark colours for the whole app. “Follow the system” switches with your "
            "computer's setting."
        )
        for theme, name in THEME_NAMES.items():
            self.theme_combo.addItem(name, theme)
        self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(appearance.theme())))
        self.theme_combo.currentIndexChanged.connect(self._on_theme_combo_current_index_changed)
        appearance.theme_changed.connect(self._on_appearance_theme_changed)

        self.text_size_spin = QSpinBox()
        self.text_size_spin.setAccessibleName("Text size")
        self.text_size_spin.setRange(_SYSTEM_SIZE_VALUE, MAX_TEXT_SIZE)
        self.text_size_spin.setSpecialValueText("As the system")
        self.text_size_spin.setSuffix(" pt")
        self.text_size_spin.setToolTip(
            "The size of all text in the app. Ctrl+plus and Ctrl+minus change it from anywhere; "
            "Ctrl+0 goes back to your computer's size."
        )
        self._show_text_size()
        self.text_size_spin.valueChanged.connect(self._on_text_size_spin_value_changed)
        appearance.text_size_changed.connect(self._on_appearance_text_size_changed)

        self.spelling_box = QCheckBox("Underline misspelt words in the message box")
        self.spelling_box.setAccessibleName("Check spelling")
        self.spelling_note = QLabel()
        self.spelling_note.setWordWrap(True)
        self.spelling_note.setStyleSheet("color: palette(placeholder-text);")
        if has_dictionary():
            language = QLocale(system_language()).nativeLanguageName() or system_language()
            self.spelling_box.setChecked(appearance.spell_check())
            self.spelling_box.setToolTip(
                f"Checks words against the {language} word list that comes with the app. "
                "Nothing is sent anywhere."
            )
            self.spelling_note.hide()
        else:
            self.spelling_box.setChecked(False)
            self.spelling_box.setEnabled(False)
            self.spelling_box.setToolTip(NO_DICTIONARY_TEXT)
            self.spelling_note.setText(
                f"{NO_DICTIONARY_TEXT} for your language, so words are not checked."
            )
        self.spelling_box.toggled.connect(self._on_spelling_box_toggled)

        form = QFormLayout(self)
        form.addRow("Theme", self.theme_combo)
        form.addRow("Text size", self.text_size_spin)
        form.addRow(self.spelling_box)
        form.addRow(self.spelling_note)

    def _show_text_size(self) -> None:
        appearance = self._appearance
        value = _SYSTEM_SIZE_VALUE if appearance.is_system_text_size() else appearance.text_size()
        with QSignalBlocker(self.text_size_spin):
            self.text_size_spin.setValue(value)

    def _apply(self, change: Callable[[], None]) -> None:
        try:
            change()
        except LocalAIError as error:
            self._banner.show_error(error.message)  # applied for now, but not remembered

    @Slot(int)
    def _on_theme_combo_current_index_changed(self, _index: int) -> None:
        theme = str(self.theme_combo.currentData())
        self._apply(lambda: self._appearance.set_theme(theme))

    @Slot(str)
    def _on_appearance_theme_changed(self, theme: str) -> None:
        with QSignalBlocker(self.theme_combo):
            self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(theme)))

    @Slot(int)
    def _on_text_size_spin_value_changed(self, value: int) -> None:
        points = SYSTEM_TEXT_SIZE if value == _SYSTEM_SIZE_VALUE else value
        self._apply(lambda: self._appearance.set_text_size(points))

    @Slot(int)
    def _on_appearance_text_size_changed(self, _points: int) -> None:
        self._show_text_size()

    @Slot(bool)
    def _on_spelling_box_toggled(self, enabled: bool) -> None:
        self._apply(lambda: self._appearance.set_spell_check(enabled))
