"""Printing for the command line: JSON for scripts, aligned tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def speed_line(provenance: dict[str, Any]) -> str:
    parts = [f"{provenance.get('completion_tokens', 0)} tokens"]
    if provenance.get("tokens_per_second"):
        parts.append(f"{provenance['tokens_per_second']:.1f} tokens/s")
    if provenance.get("time_to_first_token_s") is not None:
        parts.append(f"first token after {provenance['time_to_first_token_s']:.2f} s")
    if provenance.get("trimmed_messages"):
        parts.append(f"{provenance['trimmed_messages']} old messages left out to fit")
    return "[" + ", ".join(parts) + "]"
