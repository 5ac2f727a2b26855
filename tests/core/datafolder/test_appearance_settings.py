"""Appearance in settings.json: theme, text size and spell checking, checked on load."""

from __future__ import annotations

from pathlib import Path

from localai_desktop.core.datafolder.settings import (
    MAX_TEXT_SIZE,
    MIN_TEXT_SIZE,
    SYSTEM_TEXT_SIZE,
    THEME_DARK,
    THEME_SYSTEM,
    AppSettings,
    AppSettingsStore,
)


def test_appearance_is_saved_and_read_back(tmp_path: Path) -> None:
    store = AppSettingsStore.in_data_dir(tmp_path)
    assert store.load().theme == THEME_SYSTEM
    assert store.load().text_size == SYSTEM_TEXT_SIZE
    assert store.load().spell_check is True
    store.update(theme=THEME_DARK, text_size=13, spell_check=False)
    loaded = store.load()
    assert (loaded.theme, loaded.text_size, loaded.spell_check) == (THEME_DARK, 13, False)


def test_odd_appearance_values_fall_back_or_are_kept_within_limits() -> None:
    assert AppSettings.from_dict({"theme": "purple"}).theme == THEME_SYSTEM
    assert AppSettings.from_dict({"theme": 1}).theme == THEME_SYSTEM
    assert AppSettings.from_dict({"text_size": 99}).text_size == MAX_TEXT_SIZE
    assert AppSettings.from_dict({"text_size": 2}).text_size == MIN_TEXT_SIZE
    assert AppSettings.from_dict({"text_size": 0}).text_size == SYSTEM_TEXT_SIZE
    assert AppSettings.from_dict({"text_size": "12"}).text_size == SYSTEM_TEXT_SIZE
    assert AppSettings.from_dict({"spell_check": "no"}).spell_check is True
