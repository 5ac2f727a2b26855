"""Help in place: every setting a person can change says what it does and when to change it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox, QWidget
from pytestqt.qtbot import QtBot

from tests.support.session_support import OpenSession, session_opener

SETTINGS_CONTROLS = (QAbstractSpinBox, QComboBox, QCheckBox)


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def without_tooltips(panel: QWidget) -> list[str]:
    """Each spin box, list or check box in `panel` that has no tooltip, or one of few words."""
    missing = []
    for control in panel.findChildren(QWidget):
        if not isinstance(control, SETTINGS_CONTROLS):
            continue
        if len(control.toolTip().split()) < 6:
            missing.append(f"{type(control).__name__} {control.accessibleName()!r}")
    return missing


def test_every_chat_fine_tune_and_app_setting_explains_itself(
    open_session: OpenSession, data_dir: Path
) -> None:
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    panels = {
        "chat settings": window.chat_tab.settings_panel,
        "fine-tune settings": window.finetune_tab.settings_form,
        "fine-tune model": window.finetune_tab.base_chooser,
        "app settings": session.show_settings(),
    }
    for name, panel in panels.items():
        assert any(isinstance(c, SETTINGS_CONTROLS) for c in panel.findChildren(QWidget)), name
        assert without_tooltips(panel) == [], name
    # The tooltips say when to change a setting, not only what it is.
    tips = {
        spin.accessibleName(): spin.toolTip()
        for spin in window.chat_tab.settings_panel.findChildren(QAbstractSpinBox)
    }
    assert "Raise it (1.2) when answers go round in circles" in tips["Repeat penalty"]
    assert "Leave at 40 unless" in tips["Top K"]
    assert "facts, summaries and letters" in tips["Creativity (temperature)"]
