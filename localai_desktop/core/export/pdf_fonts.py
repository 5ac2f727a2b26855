"""Which TrueType fonts a PDF is written with: Unicode fonts found on this computer.

PDF's built-in fonts only know Western European letters; a conversation may hold any script,
dashes, quotes and symbols, so the PDF embeds a TrueType family found in the usual places of
Windows, macOS and Linux. Without one, the built-in fonts are used and what they cannot show
becomes "?" (the export says so in its notes).

Such a family covers Latin, Greek and Cyrillic but not Chinese, Japanese or Korean: for the
characters it lacks, fonts with those scripts found on the computer (Noto CJK, Droid Sans
Fallback, WenQuanYi, Microsoft YaHei, Arial Unicode, ...) are used as fallbacks, each loaded only
when the document holds a character that it covers and the family does not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FontFiles:
    """One family's four faces and a monospace face for code."""

    regular: Path
    bold: Path
    italic: Path
    bold_italic: Path
    mono: Path


def _windows_fonts() -> Path:
    return Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"


def _candidates() -> list[tuple[Path, tuple[str, str, str, str, str]]]:
    linux = [
        Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu
        Path("/usr/share/fonts/dejavu"),  # Fedora
        Path("/usr/share/fonts/TTF"),  # Arch
        Path("/usr/share/fonts/dejavu-sans-fonts"),
        Path("/usr/local/share/fonts"),
    ]
    dejavu = (
        "DejaVuSans.ttf",
        "DejaVuSans-Bold.ttf",
        "DejaVuSans-Oblique.ttf",
        "DejaVuSans-BoldOblique.ttf",
        "DejaVuSansMono.ttf",
    )
    liberation = (
        "LiberationSans-Regular.ttf",
        "LiberationSans-Bold.ttf",
        "LiberationSans-Italic.ttf",
        "LiberationSans-BoldItalic.ttf",
        "LiberationMono-Regular.ttf",
    )
    arial_windows = ("arial.ttf", "arialbd.ttf", "ariali.ttf", "arialbi.ttf", "consola.ttf")
    arial_windows_cour = ("arial.ttf", "arialbd.ttf", "ariali.ttf", "arialbi.ttf", "cour.ttf")
    arial_mac = (
        "Arial.ttf",
        "Arial Bold.ttf",
        "Arial Italic.ttf",
        "Arial Bold Italic.ttf",
        "Courier New.ttf",
    )
    found: list[tuple[Path, tuple[str, str, str, str, str]]] = []
    found += [(folder, dejavu) for folder in linux]
    found += [(Path("/usr/share/fonts/truetype/liberation"), liberation)]
    found += [(Path("/usr/share/fonts/liberation-sans"), liberation)]
    found += [(_windows_fonts(), arial_windows), (_windows_fonts(), arial_windows_cour)]
    found += [(Path("/System/Library/Fonts/Supplemental"), arial_mac)]
    found += [(Path("/Library/Fonts"), arial_mac)]
    return found


def find_unicode_fonts() -> FontFiles | None:
    """The first complete family found on this computer, or None."""
    for folder, names in _candidates():
        paths = [folder / name for name in names]
        if all(path.is_file() for path in paths):
            return FontFiles(*paths)
    return None


def _fallback_candidates() -> list[tuple[Path, int]]:
    """(file, face index in a collection) of fonts with many scripts, best first."""
    linux = [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
        "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        "/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/unifont/unifont.ttf",
    ]
    windows = ["msyh.ttc", "msgothic.ttc", "malgun.ttf", "simsun.ttc", "seguisym.ttf"]
    mac = [
        "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
        "/Library/Fonts/Arial Unicode.ttf",
        "/System/Library/Fonts/Hiragino Sans GB.ttc",
        "/System/Library/Fonts/STHeiti Light.ttc",
        "/System/Library/Fonts/AppleSDGothicNeo.ttc",
    ]
    paths = [Path(p) for p in linux] + [_windows_fonts() / n for n in windows]
    paths += [Path(p) for p in mac]
    return [(path, 0) for path in paths]


def find_fallback_fonts() -> list[tuple[Path, int]]:
    """The fonts found on this computer for characters the main family lacks (may be empty)."""
    return [(path, index) for path, index in _fallback_candidates() if path.is_file()]
