"""Printing for the command line: JSON for scripts, aligned tables for people.

Everything `localai` prints goes through `TerminalSafeStream` (installed by `main`): a file or
model name, a passage or an answer may hold terminal control characters (an ESC sequence can
clear the screen, retitle the window or hide text), so they are printed escaped ("\\x1b"),
never raw. New lines and tabs pass; a carriage return and "erase line" pass only where our own
progress lines start with them.
"""

from __future__ import annotations

import io
import json
import re
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from localai_desktop.core.chat.provenance import Provenance

# C0 controls but new line and tab, DEL, and the C1 controls (0x9b is a one-byte CSI).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NAMED = {"\r": "\\r"}
# How our own progress lines start (docs_commands, hub_commands, model_commands); the one that
# clears a progress line also ends with a carriage return.
_PROGRESS_STARTS = ("\r\x1b[K", "\r")
_JSON_RAW = re.compile(r"[\x7f-\x9f]")  # json.dumps leaves these; a terminal does not


def escape_controls(text: str) -> str:
    """`text` with every control character but new line and tab written as an escape."""
    return _CONTROLS.sub(lambda m: _NAMED.get(m[0], f"\\x{ord(m[0]):02x}"), text)


class TerminalSafeStream(io.TextIOBase):
    """A text stream that escapes control characters on their way to `stream`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        start = next((p for p in _PROGRESS_STARTS if text.startswith(p)), "")
        end = "\r" if len(text) > len(start) and text.endswith("\r") else ""
        middle = text[len(start) : len(text) - len(end)]
        self.stream.write(start + escape_controls(middle) + end)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")


def print_json(data: object) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    # Only inside strings (JSON's own syntax is ASCII), so \u escapes keep it valid JSON.
    sys.stdout.write(_JSON_RAW.sub(lambda m: f"\\u{ord(m[0]):04x}", text) + "\n")


def print_table(header: list[str], rows: list[list[str]]) -> None:
    rows = [[escape_controls(cell) for cell in row] for row in rows]  # widths as printed
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def speed_line(provenance: Provenance) -> str:
    stats = provenance.stats
    parts = [f"{stats.completion_tokens if stats is not None else 0} tokens"]
    if stats is not None:
        if stats.tokens_per_second:
            parts.append(f"{stats.tokens_per_second:.1f} tokens/s")
        if stats.time_to_first_token_s is not None:
            parts.append(f"first token after {stats.time_to_first_token_s:.2f} s")
        if stats.trimmed_messages:
            parts.append(f"{stats.trimmed_messages} old messages left out to fit")
    return "[" + ", ".join(parts) + "]"
