"""Spell checking in the message box: underlines with a dictionary, a plain note without one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QTextCharFormat
from PySide6.QtWidgets import QPlainTextEdit
from pytestqt.qtbot import QtBot

from localai_desktop.ui.chat.message_input import Composer
from localai_desktop.ui.widgets import spelling
from localai_desktop.ui.widgets.spelling import (
    NO_DICTIONARY_TEXT,
    SpellingHighlighter,
    dictionary_for,
    misspelt_spans,
)
from tests.support.session_support import OpenSession, session_opener

needs_english = pytest.mark.skipif(
    "en" not in spelling.available_languages(), reason="pyspellchecker is not installed"
)


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def underlined(box: QPlainTextEdit) -> list[str]:
    """The words drawn with the spelling underline, in order."""
    words = []
    block = box.document().begin()
    while block.isValid():
        for span in block.layout().formats():
            style = span.format.underlineStyle()
            if style == QTextCharFormat.UnderlineStyle.SpellCheckUnderline:
                words.append(block.text()[span.start : span.start + span.length])
        block = block.next()
    return words


@needs_english
def test_misspelt_words_are_found_and_names_and_acronyms_left_alone() -> None:
    english = dictionary_for("en")
    assert english is not None
    text = "The pateint's GGUF file from LocalAI didn't recieve a dose, 2x daily."
    found = [text[start : start + length] for start, length in misspelt_spans(text, english)]
    assert found == ["pateint's", "recieve"]


@needs_english
def test_the_message_box_underlines_misspelt_words_when_spell_checking_is_on(
    qtbot: QtBot,
) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.spelling = SpellingHighlighter(composer.input.document(), lambda: dictionary_for("en"))
    qtbot.keyClicks(composer.input, "Plese check the dose")
    assert underlined(composer.input) == []  # off until the window switches it on
    composer.set_spell_check(True)
    assert underlined(composer.input) == ["Plese"]
    composer.set_spell_check(False)
    assert underlined(composer.input) == []


def test_without_a_dictionary_nothing_is_underlined(qtbot: QtBot) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.spelling = SpellingHighlighter(composer.input.document(), lambda: None)
    composer.set_spell_check(True)
    qtbot.keyClicks(composer.input, "Plese check the dose")
    assert underlined(composer.input) == []


def test_settings_say_when_this_computer_has_no_spelling_dictionary(
    open_session: OpenSession, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spelling, "available_languages", lambda: [])
    assert spelling.dictionary_for() is None
    session = open_session(data_dir)
    dialog = session.show_settings()
    box = dialog.appearance.spelling_box
    assert not box.isEnabled() and not box.isChecked()
    assert NO_DICTIONARY_TEXT in dialog.appearance.spelling_note.text()
    assert dialog.appearance.spelling_note.isVisible()


@needs_english
def test_spell_checking_is_a_setting_of_the_data_folder(
    open_session: OpenSession, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spelling, "system_language", lambda: "en")
    session = open_session(data_dir)
    assert session.window is not None
    composer = session.window.chat_tab.composer
    assert composer.spelling.is_enabled()  # on by default
    dialog = session.show_settings()
    box = dialog.appearance.spelling_box
    assert box.isEnabled() and box.isChecked()
    assert "word list" in box.toolTip()
    box.setChecked(False)
    assert not composer.spelling.is_enabled()
    session.close()
    session = open_session(data_dir)
    assert session.window is not None
    assert not session.window.chat_tab.composer.spelling.is_enabled()
