"""Light and dark themes: the app's palette, and every colour the app sets by hand, per theme.

A widget never names a colour itself: it asks `colours()` for the current theme's, and a
widget whose look is built from them registers with `themed_style_sheet` (or `on_theme_changed`)
so it is rebuilt when the theme changes, whether the person switched it in Settings or the
operating system went dark. Colours are chosen so text keeps WCAG AA contrast (4.5:1) on the
palette it is drawn on, in both themes (the tests check `text_pairs`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, fields

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from localai_desktop.core.datafolder.settings import THEME_DARK, THEME_LIGHT, THEME_SYSTEM

log = logging.getLogger(__name__)

# The names people see, in the order Settings lists them.
THEME_NAMES = {
    THEME_SYSTEM: "Follow the system",
    THEME_LIGHT: "Light",
    THEME_DARK: "Dark",
}
# The style that draws a palette as given on every platform (native styles may ignore one).
_PALETTE_STYLE = "Fusion"
AA_TEXT_CONTRAST = 4.5
# Tints for areas that hold text (a message, a source card, a code block): translucent, so they
# shade a light or a dark page alike and the text on them keeps the palette's own contrast.
ACCENT_TINT = "rgba(40, 110, 220, 0.10)"  # your messages, work in progress
ACCENT_BORDER = "rgba(40, 110, 220, 0.70)"  # the card under the pointer or the focus
NEUTRAL_TINT = "rgba(128, 128, 128, 0.09)"  # answers, source cards
NEUTRAL_BORDER = "rgba(128, 128, 128, 0.45)"
CODE_TINT = QColor(128, 128, 128, 36)


@dataclass(frozen=True)
class ThemeColours:
    """The colours the app sets by hand, for one theme (hex strings, usable in style sheets)."""

    error_text: str  # a failed download, a refused training run, a failed answer
    warning_text: str  # a licence that forbids paid work, a skipped file, a cut-off answer
    success_text: str  # the "after" side of a fine-tune comparison
    banner_error_background: str
    banner_error_border: str
    banner_error_text: str
    banner_info_background: str
    banner_info_border: str
    banner_info_text: str
    marked_background: str  # a passage found in its document; a problem row in a dataset
    marked_text: str
    chart_training: str  # lines, not text: 3:1 against the plot is enough
    chart_validation: str

    def qcolor(self, name: str) -> QColor:
        return QColor(getattr(self, name))


LIGHT_COLOURS = ThemeColours(
    error_text="#b3261e",
    warning_text="#8a4f00",
    success_text="#1d5c2e",
    banner_error_background="#fdecea",
    banner_error_border="#f1b0ab",
    banner_error_text="#5f1612",
    banner_info_background="#e8f2fc",
    banner_info_border="#b3d4f2",
    banner_info_text="#0d3557",
    marked_background="#ffe58a",
    marked_text="#1a1a1a",
    chart_training="#2c6fbb",
    chart_validation="#c0620a",
)
DARK_COLOURS = ThemeColours(
    error_text="#ffb4ab",
    warning_text="#f2c063",
    success_text="#8fd6a0",
    banner_error_background="#4b1d1a",
    banner_error_border="#8c3b35",
    banner_error_text="#ffdad6",
    banner_info_background="#16304a",
    banner_info_border="#3a6590",
    banner_info_text="#d6e8fa",
    marked_background="#6b5500",
    marked_text="#fff6d5",
    chart_training="#7fb2f0",
    chart_validation="#f5a25a",
)


def _palette(colours: dict[QPalette.ColorRole, str], disabled: str) -> QPalette:
    palette = QPalette()
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.PlaceholderText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    return palette


_Role = QPalette.ColorRole


def light_palette() -> QPalette:
    """Fusion's light palette, with hint text dark enough to read (4.5:1) on every background."""
    return _palette(
        {
            _Role.Window: "#efefef",
            _Role.WindowText: "#1a1a1a",
            _Role.Base: "#ffffff",
            _Role.AlternateBase: "#f5f5f5",
            _Role.Text: "#1a1a1a",
            _Role.PlaceholderText: "#616161",
            _Role.Button: "#efefef",
            _Role.ButtonText: "#1a1a1a",
            _Role.BrightText: "#ffffff",
            _Role.Light: "#ffffff",
            _Role.Midlight: "#cacaca",
            _Role.Mid: "#b8b8b8",
            _Role.Dark: "#9f9f9f",
            _Role.Shadow: "#767676",
            _Role.Highlight: "#2f65ca",
            _Role.HighlightedText: "#ffffff",
            _Role.Link: "#0b57d0",
            _Role.LinkVisited: "#6a3ab2",
            _Role.ToolTipBase: "#ffffdc",
            _Role.ToolTipText: "#1a1a1a",
            _Role.Accent: "#2f65ca",
        },
        disabled="#8c8c8c",
    )


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style, where the system offers none."""
    return _palette(
        {
            _Role.Window: "#2b2b2b",
            _Role.WindowText: "#e8e8e8",
            _Role.Base: "#1f1f1f",
            _Role.AlternateBase: "#262626",
            _Role.Text: "#e8e8e8",
            _Role.PlaceholderText: "#a6a6a6",
            _Role.Button: "#363636",
            _Role.ButtonText: "#e8e8e8",
            _Role.BrightText: "#ffffff",
            _Role.Light: "#4a4a4a",
            _Role.Midlight: "#3e3e3e",
            _Role.Mid: "#5c5c5c",
            _Role.Dark: "#1a1a1a",
            _Role.Shadow: "#0d0d0d",
            _Role.Highlight: "#3567c4",
            _Role.HighlightedText: "#ffffff",
            _Role.Link: "#8ab4f8",
            _Role.LinkVisited: "#c58af9",
            _Role.ToolTipBase: "#3a3a3a",
            _Role.ToolTipText: "#f0f0f0",
            _Role.Accent: "#3567c4",
        },
        disabled="#7a7a7a",
    )


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether `palette` (the app's, by default) draws light text on a dark window."""
    palette = palette if palette is not None else QGuiApplication.palette()
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return window.lightness() < text.lightness()


def colours(palette: QPalette | None = None) -> ThemeColours:
    """The hand-set colours that suit `palette` (the app's, by default)."""
    return DARK_COLOURS if is_dark(palette) else LIGHT_COLOURS


# -- contrast (WCAG 2) ---------------------------------------------------------------------------


def relative_luminance(colour: QColor) -> float:
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(colour.redF())
        + 0.7152 * linear(colour.greenF())
        + 0.0722 * linear(colour.blueF())
    )


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG's contrast ratio, from 1 (the same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_pairs(palette: QPalette) -> list[tuple[str, QColor, QColor]]:
    """Every (name, text, background) pair the app draws in this palette's theme."""
    role = QPalette.ColorRole
    pairs = [
        ("text on base", palette.color(role.Text), palette.color(role.Base)),
        ("window text", palette.color(role.WindowText), palette.color(role.Window)),
        ("button text", palette.color(role.ButtonText), palette.color(role.Button)),
        ("hint on window", palette.color(role.PlaceholderText), palette.color(role.Window)),
        ("hint on base", palette.color(role.PlaceholderText), palette.color(role.Base)),
        ("selection", palette.color(role.HighlightedText), palette.color(role.Highlight)),
        ("tooltip", palette.color(role.ToolTipText), palette.color(role.ToolTipBase)),
        ("link", palette.color(role.Link), palette.color(role.Base)),
    ]
    theme = colours(palette)
    for name in ("error_text", "warning_text", "success_text"):
        for background in (role.Window, role.Base):
            pairs.append((name, theme.qcolor(name), palette.color(background)))
    for kind in ("error", "info"):
        pairs.append(
            (
                f"{kind} banner",
                theme.qcolor(f"banner_{kind}_text"),
                theme.qcolor(f"banner_{kind}_background"),
            )
        )
    pairs.append(("marked text", theme.qcolor("marked_text"), theme.qcolor("marked_background")))
    return pairs


# -- applying a theme ----------------------------------------------------------------------------

_native_style: str | None = None  # the platform's own style, put back when following the system
_theme = THEME_SYSTEM


def apply_theme(theme: str) -> None:
    """Make the whole app light, dark, or as the operating system is (THEME_SYSTEM).

    Asks Qt first (QStyleHints.setColorScheme, Qt 6.8+), which native styles follow. Where
    that has no effect, or the app draws with Fusion (whose stock hint text is too faint to
    read), the Fusion style gets our palette of the wanted lightness. Every themed widget is
    then restyled.
    """
    global _native_style, _theme
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    _theme = theme
    _watch_the_system()
    if _native_style is None:
        _native_style = app.style().name()
    elif app.style().name().lower() != _native_style.lower():
        app.setStyle(_native_style)
    wanted = {THEME_LIGHT: Qt.ColorScheme.Light, THEME_DARK: Qt.ColorScheme.Dark}.get(
        theme, Qt.ColorScheme.Unknown
    )
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(wanted)
    app.setPalette(QPalette())  # the style's and the system's own
    if wanted == Qt.ColorScheme.Unknown:
        dark = hints.colorScheme() == Qt.ColorScheme.Dark or is_dark()
    else:
        dark = wanted == Qt.ColorScheme.Dark
    on_fusion = app.style().name().lower() == _PALETTE_STYLE.lower()
    if on_fusion or is_dark() != dark:
        if not on_fusion:
            app.setStyle(_PALETTE_STYLE)
        app.setPalette(dark_palette() if dark else light_palette())
    log.info("Theme: %s (%s, %s style)", theme, "dark" if dark else "light", app.style().name())
    restyle_all()


def current_theme() -> str:
    """The theme last applied: THEME_SYSTEM, THEME_LIGHT or THEME_DARK."""
    return _theme


# -- widgets whose look follows the theme --------------------------------------------------------

_style_sheets: weakref.WeakKeyDictionary[QWidget, Callable[[ThemeColours], str]] = (
    weakref.WeakKeyDictionary()
)
_callbacks: weakref.WeakKeyDictionary[QObject, list[Callable[[], None]]] = (
    weakref.WeakKeyDictionary()
)


def themed_style_sheet(widget: QWidget, make: Callable[[ThemeColours], str]) -> None:
    """Give `widget` the style sheet `make(colours())`, now and after every theme change."""
    _style_sheets[widget] = make
    _set_style_sheet(widget, make(colours()))
    _watch_the_system()


def on_theme_changed(owner: QObject, callback: Callable[[], None]) -> None:
    """Call `callback` after every theme change, for as long as `owner` lives."""
    _callbacks.setdefault(owner, []).append(callback)
    _watch_the_system()


def restyle_all() -> None:
    """Rebuild every themed look, and apply every other style sheet again.

    A widget under a style sheet reads `palette(...)` and takes its font once, when the sheet
    is applied; a new theme or text size reaches it only when the sheet is applied again.
    """
    theme = colours()
    themed = set()
    for widget, make in list(_style_sheets.items()):
        if shiboken6.isValid(widget):
            themed.add(id(widget))
            widget.setStyleSheet(make(theme))
    for widget in QApplication.allWidgets():
        sheet = widget.styleSheet()
        if sheet and id(widget) not in themed:
            widget.setStyleSheet(sheet)
    for owner, callbacks in list(_callbacks.items()):
        if shiboken6.isValid(owner):
            for callback in callbacks:
                callback()


def _set_style_sheet(widget: QWidget, sheet: str) -> None:
    if widget.styleSheet() != sheet:
        widget.setStyleSheet(sheet)


class _SystemWatcher(QObject):
    """Restyles the themed widgets when the operating system switches between light and dark."""

    @Slot(Qt.ColorScheme)
    def _on_style_hints_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if _theme == THEME_SYSTEM:
            # The system's palette arrives with or after this news: follow it once it has.
            QTimer.singleShot(0, self, self._on_timer_follow_system)

    @Slot()
    def _on_timer_follow_system(self) -> None:
        if _theme == THEME_SYSTEM:
            apply_theme(THEME_SYSTEM)


_watcher: _SystemWatcher | None = None


def _watch_the_system() -> None:
    global _watcher
    app = QApplication.instance()
    if _watcher is None and isinstance(app, QApplication):
        _watcher = _SystemWatcher(app)
        hints = app.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(_watcher._on_style_hints_color_scheme_changed)


def colour_names() -> list[str]:
    """The names of the hand-set colours (for tests and documentation)."""
    return [field.name for field in fields(ThemeColours)]
