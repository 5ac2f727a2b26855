"""Names that hold terminal control characters are printed escaped, never raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localai_desktop.cli import main as localai

# Clears the screen, then retitles the terminal window.
HOSTILE = "notes\x1b[2J\x1b]0;owned\x07.txt"
SHOWN = "notes\\x1b[2J\\x1b]0;owned\\x07.txt"


def test_a_document_name_with_an_escape_sequence_is_printed_escaped(
    data_dir: Path, models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = ["--data-dir", str(data_dir)]
    assert (
        localai([*folder, "models", "import", str(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf")]) == 0
    )
    assert localai([*folder, "docs", "create", "Ward"]) == 0
    note = tmp_path / HOSTILE
    note.write_text("Ward notes. The patient in bed 3 is well.\n", encoding="utf-8")
    capsys.readouterr()

    assert localai([*folder, "docs", "add", "Ward", str(note)]) == 0
    added = capsys.readouterr()
    assert f"indexed  {SHOWN}" in added.err
    assert localai([*folder, "docs", "status", "Ward"]) == 0
    table = capsys.readouterr().out
    assert SHOWN in table

    for printed in (added.out, added.err, table):
        assert not any(c in printed for c in "\x1b\x07\x9b")
    assert localai([*folder, "docs", "status", "Ward", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["files"]
    assert listed["name"] == HOSTILE  # scripts get the real name, JSON-escaped
