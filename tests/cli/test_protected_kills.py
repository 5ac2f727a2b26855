"""SIGKILL at random moments in a protected workspace: rekey, export and indexing.

After each kill: nothing is lost, nothing is left in plaintext, and the workspace opens
(with the old or the new passphrase for a rekey; the index resumes).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory
from localai_desktop.core.vault.keys import WrongPassphraseError
from tests.support import documents_support as docs

OLD, NEW = "staple battery horse", "correct fence lamp"
WORD = b"zyxquokkamoon"


def _start(root: Path, *args: str, passphrase: str = OLD, stdin: str = "") -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(root), *args],
        env={**os.environ, "LOCALAI_PASSPHRASE": passphrase},
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdin is not None
    child.stdin.write(stdin)
    child.stdin.close()
    return child


def _kill_after(child: subprocess.Popen[str], seconds: float) -> None:
    time.sleep(seconds)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)


def _grep(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and WORD in p.read_bytes()]


def _open(root: Path, passphrase: str) -> Workspace:
    return Workspace.open(root, workspace="Clinic", passphrase=lambda _i: passphrase)


def test_kills_during_rekey_export_and_indexing_lose_nothing(
    tmp_path: Path, models_dir: Path
) -> None:
    root = tmp_path / "data"
    WorkspaceDirectory(DataPaths(root)).create("Clinic").key_file.create(OLD)
    with _open(root, OLD) as ws:
        ws.registry.import_model(
            models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False
        )
        conversation = ws.conversations.create("Referral")
        ws.conversations.add_message(conversation.id, "user", f"Patient {WORD.decode()}")
    rng = random.Random(5)

    # Rekey: after a kill, exactly one of the two passphrases opens it, and the data is there.
    current = OLD
    for _ in range(3):
        other = NEW if current == OLD else OLD
        child = _start(
            root,
            "workspace",
            "rekey",
            "Clinic",
            "--passphrase-stdin",
            stdin=f"{current}\n{other}\n",
        )
        _kill_after(child, rng.uniform(0.5, 4.0))
        opened = []
        for candidate in (current, other):
            try:
                with _open(root, candidate) as ws:
                    assert ws.conversations.list()[0].title == "Referral"
                opened.append(candidate)
            except WrongPassphraseError:
                pass
        assert len(opened) == 1
        current = opened[0]

    # Export: the file is either not there or complete (and encrypted).
    export = tmp_path / "export.age"
    for _ in range(3):
        child = _start(
            root, "--workspace", "Clinic", "data", "export", str(export), passphrase=current
        )
        _kill_after(child, rng.uniform(0.5, 4.0))
        if export.exists():
            assert export.read_bytes().startswith(b"age-encryption.org/v1")
            assert WORD not in export.read_bytes()
    assert not list(tmp_path.glob(".backup-*"))  # no half-written temporary file left

    # Indexing: killed along the way, it resumes and finishes; nothing in plaintext.
    user_files = tmp_path / "files"
    user_files.mkdir()
    pdf = docs.write_long_pdf(
        user_files / "scan.pdf",
        40,
        {n: f"Page {n}: {WORD.decode()} fact {n}." for n in range(1, 41)},
    )
    assert (
        _start(
            root, "--workspace", "Clinic", "docs", "create", "Referrals", passphrase=current
        ).wait(timeout=120)
        == 0
    )
    child = _start(
        root, "--workspace", "Clinic", "docs", "add", "Referrals", str(pdf), passphrase=current
    )
    _kill_after(child, rng.uniform(2.0, 6.0))
    with _open(root, current) as ws:
        # The same command again: whatever the kill interrupted is picked up where it was.
        if not ws.documents.get("Referrals").file_count:
            ws.documents.add_paths("Referrals", [pdf])
        ws.documents.index("Referrals")
        hits = ws.documents.search(["Referrals"], f"{WORD.decode()} fact 17")
        assert hits
        ws.documents.close()
    assert _grep(root) == []
