"""Spell checking in a text box: misspelt words underlined, where a dictionary is available.

Qt has no spell checker. The dictionaries come from pyspellchecker, a pure-Python package
whose wheel ships word lists for English, Spanish, French, Portuguese, German, Italian,
Russian, Arabic, Basque, Latvian, Dutch and Persian: they work offline, the same on Windows,
macOS and Linux, and nothing is downloaded at run time. For other languages (or where the
package is missing) `dictionary_for` returns None and the app says "No spelling dictionary on
this computer" instead of underlining anything.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QLocale
from PySide6.QtGui import QSyntaxHighlighter, QTextCharFormat, QTextDocument

from localai_desktop.ui.widgets.theme import colours

log = logging.getLogger(__name__)

NO_DICTIONARY_TEXT = "No spelling dictionary on this computer"
# Words: letters, with apostrophes inside ("don't", "l'eau"); digits and underscores end one.
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_APOSTROPHES = str.maketrans({"’": "'"})


class Dictionary(Protocol):
    """What the highlighter needs to know about words."""

    language: str

    def knows(self, word: str) -> bool: ...


class WordListDictionary:
    """One of pyspellchecker's word lists (loaded once per language, about 0.2 s)."""

    def __init__(self, language: str, words: Callable[[str], bool]) -> None:
        self.language = language
        self._contains = words

    def knows(self, word: str) -> bool:
        return self._contains(word.translate(_APOSTROPHES).lower())


def system_language() -> str:
    """The two-letter language of this computer's locale ("en" where the locale is "C")."""
    name = QLocale.system().name()
    language = name.split("_")[0].lower()
    return "en" if language in ("c", "posix", "") else language


def available_languages() -> list[str]:
    """The languages with a dictionary on this computer (from pyspellchecker's package)."""
    spec = importlib.util.find_spec("spellchecker")
    if spec is None or spec.origin is None:
        return []
    resources = Path(spec.origin).parent / "resources"
    return sorted(p.name.split(".")[0] for p in resources.glob("*.json.gz"))


@functools.lru_cache(maxsize=4)
def _load(language: str) -> WordListDictionary | None:
    try:
        from spellchecker import SpellChecker  # about 0.2 s: only when spelling is wanted

        checker = SpellChecker(language=language, distance=1)
    except (ImportError, ValueError, OSError) as error:
        log.warning("No spelling dictionary for %r: %s", language, error)
        return None
    return WordListDictionary(language, checker.__contains__)


def has_dictionary(language: str | None = None) -> bool:
    """Whether there is a dictionary for `language` (this computer's), without loading it."""
    return (language or system_language()) in available_languages()


def dictionary_for(language: str | None = None) -> Dictionary | None:
    """The dictionary for `language` (this computer's by default), or None when there is none."""
    language = language or system_language()
    return _load(language) if has_dictionary(language) else None


def misspelt_spans(text: str, dictionary: Dictionary) -> list[tuple[int, int]]:
    """(start, length) of each word in `text` the dictionary does not know.

    Left alone: single letters, words in capitals (acronyms such as GGUF), and words with a
    capital inside (names such as LocalAI), which no general dictionary lists.
    """
    spans = []
    for match in _WORD.finditer(text):
        word = match.group()
        if len(word) < 2 or word.isupper() or any(c.isupper() for c in word[1:]):
            continue
        if not dictionary.knows(word):
            spans.append((match.start(), len(word)))
    return spans


class SpellingHighlighter(QSyntaxHighlighter):
    """Underlines misspelt words with the platform's spelling underline, when switched on.

    The dictionary is loaded the first time there is text to check, not when the box is made,
    so a window without spell checking (or without typing) never pays for it.
    """

    def __init__(
        self,
        document: QTextDocument,
        find_dictionary: Callable[[], Dictionary | None] = dictionary_for,
    ) -> None:
        super().__init__(document)
        self._find_dictionary = find_dictionary
        self._dictionary: Dictionary | None = None
        self._looked = False
        self._enabled = False

    def set_enabled(self, enabled: bool) -> None:
        """Check spelling (or stop, removing the underlines)."""
        if enabled != self._enabled:
            self._enabled = enabled
            self.rehighlight()

    def is_enabled(self) -> bool:
        return self._enabled

    def dictionary(self) -> Dictionary | None:
        if not self._looked:
            self._looked = True
            self._dictionary = self._find_dictionary()
        return self._dictionary

    def highlightBlock(self, text: str) -> None:
        if not self._enabled or not text.strip():
            return
        dictionary = self.dictionary()
        if dictionary is None:
            return
        underline = QTextCharFormat()
        underline.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SpellCheckUnderline)
        underline.setUnderlineColor(colours().qcolor("error_text"))
        for start, length in misspelt_spans(text, dictionary):
            self.setFormat(start, length, underline)
