"""Many `localai` processes on one data folder at once: no raw errors, no lost rows.

Each round starts chats, document adds, backup imports and exports together on the same
folder, as a person who runs a script while the app is open would. Every process must succeed,
or fail only with the plain "busy, try again" message after its wait; afterwards every row
that a successful process reported is there and SQLite's integrity check passes.

Small in CI (about 30 s); larger by hand:
    LOCALAI_STRESS_PROCESSES=12 LOCALAI_STRESS_ROUNDS=10 .venv/bin/python -m pytest \
        tests/cli/test_many_copies_at_once.py -q -s
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from localai_desktop.core.datafolder.backup import read_backup
from tests.cli.test_cli import localai

CLI = (sys.executable, "-m", "localai_desktop.cli")
PROCESSES = int(os.environ.get("LOCALAI_STRESS_PROCESSES", "6"))
ROUNDS = int(os.environ.get("LOCALAI_STRESS_ROUNDS", "2"))
BUSY_MESSAGE = "Error: The app's database stayed busy for"
KINDS = ("chat", "add", "import", "export")


def backup_with_one_conversation(path: Path, title: str) -> Path:
    stamp = "2026-01-01T10:00:00"
    message = {"content": "", "status": "complete", "error": None, "provenance": {}}
    document = {
        "format": "localai-desktop-backup",
        "format_version": 1,
        "settings": {},
        "conversations": [
            {
                "title": title,
                "system_prompt": "",
                "model_sha256": None,
                "settings": {},
                "created_at": stamp,
                "updated_at": stamp,
                "messages": [
                    {
                        **message,
                        "role": "user",
                        "content": title,
                        "created_at": stamp,
                        "updated_at": stamp,
                    },
                ],
            }
        ],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_many_copies_on_one_folder_lose_nothing(
    data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    localai(data_dir, "models", "import", str(models_dir / "stories260K.gguf"), "--name", "st")
    localai(data_dir, "models", "import", str(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf"))
    localai(data_dir, "docs", "create", "Ward")
    counter = itertools.count(1)
    expected = {"chats": 0, "imported": set(), "documents": 0}
    exports: list[Path] = []
    outcomes = {"ok": 0, "busy": 0}
    started = time.monotonic()

    for round_number in range(ROUNDS):
        running: list[tuple[str, str, subprocess.Popen[str]]] = []
        for slot in range(PROCESSES):
            kind = KINDS[(slot + round_number) % len(KINDS)]
            n = next(counter)
            if kind == "chat":
                args = [
                    "chat",
                    "--model",
                    "st",
                    "--max-tokens",
                    "8",
                    "--seed",
                    str(n),
                    f"Story number {n}",
                ]
                label = str(n)
            elif kind == "add":
                note = tmp_path / f"note-{n}.txt"
                note.write_text(f"Ward note {n}. The patient in bed {n} is well.\n")
                args = ["docs", "add", "Ward", str(note)]
                label = note.name
            elif kind == "import":
                label = f"Imported conversation {n}"
                backup = backup_with_one_conversation(tmp_path / f"in-{n}.json", label)
                args = ["data", "import", str(backup), "--no-settings"]
            else:
                label = str(tmp_path / f"out-{n}.json")
                args = ["data", "export", label]
            process = subprocess.Popen(
                [*CLI, "--data-dir", str(data_dir), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            running.append((kind, label, process))
        for kind, label, process in running:
            _out, err = process.communicate(timeout=180)
            if process.returncode != 0:
                assert err.startswith(BUSY_MESSAGE), f"{kind} failed with: {err}"
                outcomes["busy"] += 1
                continue
            assert "Traceback" not in err
            outcomes["ok"] += 1
            if kind == "chat":
                expected["chats"] += 1
            elif kind == "add":
                expected["documents"] += 1
            elif kind == "import":
                expected["imported"].add(label)  # type: ignore[union-attr]
            else:
                exports.append(Path(label))

    raw = sqlite3.connect(data_dir / "localai.db")
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        titles = [t for (t,) in raw.execute("SELECT title FROM conversations")]
        documents = raw.execute("SELECT COUNT(*) FROM doc_files").fetchone()[0]
    finally:
        raw.close()
    imported = expected["imported"]
    assert isinstance(imported, set)
    assert imported <= set(titles)
    assert len(titles) == expected["chats"] + len(imported)
    assert documents == expected["documents"]
    for export in exports:
        read_backup(export)  # complete and valid, whatever was written beside it
    assert not list(tmp_path.glob(".backup-*.tmp"))
    print(
        f"\n{ROUNDS} rounds of {PROCESSES} processes: {outcomes['ok']} succeeded, "
        f"{outcomes['busy']} said busy, in {time.monotonic() - started:.1f} s"
    )
    assert outcomes["ok"] >= PROCESSES * ROUNDS // 2
