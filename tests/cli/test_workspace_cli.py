"""`localai workspace ...`, --workspace and the passphrase sources, as a script uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PASSPHRASE = "staple battery horse"


def _localai(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        input=stdin if stdin is not None else "",
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_a_protected_workspace_from_the_command_line(tmp_path: Path) -> None:
    made = _localai(
        tmp_path,
        "workspace",
        "create",
        "Smith v Jones",
        "--encrypt",
        "--passphrase-stdin",
        stdin=PASSPHRASE + "\n",
    )
    assert made.returncode == 0, made.stderr
    listed = json.loads(_localai(tmp_path, "workspace", "list", "--json").stdout)
    assert [(w["name"], w["protected"]) for w in listed] == [
        ("Default", False),
        ("Smith v Jones", True),
    ]
    # No passphrase and no terminal: exit 2 and one plain sentence.
    missing = _localai(tmp_path, "--workspace", "Smith v Jones", "chats", "list")
    assert missing.returncode == 2
    assert missing.stderr.startswith("Error: The workspace 'Smith v Jones' is protected")
    assert len(missing.stderr.strip().splitlines()) == 1
    wrong = _localai(
        tmp_path,
        "--workspace",
        "Smith v Jones",
        "chats",
        "list",
        env={"LOCALAI_PASSPHRASE": "not the right one"},
    )
    assert wrong.returncode == 2 and "not the one" in wrong.stderr
    right = _localai(
        tmp_path,
        "--workspace",
        "Smith v Jones",
        "audit",
        "verify",
        "--json",
        env={"LOCALAI_PASSPHRASE": PASSPHRASE},
    )
    assert right.returncode == 0, right.stderr
    # The passphrase never on the command line: there is no option for it.
    assert "--passphrase " not in _localai(tmp_path, "--help").stdout

    rekeyed = _localai(
        tmp_path,
        "workspace",
        "rekey",
        "Smith v Jones",
        "--passphrase-stdin",
        stdin=f"{PASSPHRASE}\nan entirely new one\n",
    )
    assert rekeyed.returncode == 0, rekeyed.stderr
    old = _localai(
        tmp_path,
        "--workspace",
        "Smith v Jones",
        "chats",
        "list",
        env={"LOCALAI_PASSPHRASE": PASSPHRASE},
    )
    assert old.returncode == 2
    renamed = _localai(tmp_path, "workspace", "rename", "Smith v Jones", "Closed matter")
    assert renamed.returncode == 0
    refused = _localai(tmp_path, "workspace", "rm", "Closed matter")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    removed = _localai(tmp_path, "workspace", "rm", "Closed matter", "--yes")
    assert removed.returncode == 0, removed.stderr
    listed = json.loads(_localai(tmp_path, "workspace", "list", "--json").stdout)
    assert [w["name"] for w in listed] == ["Default"]
    assert not any((tmp_path / "workspaces").iterdir())


def test_an_export_of_a_protected_workspace_is_encrypted_and_imports_again(
    tmp_path: Path,
) -> None:
    env = {"LOCALAI_PASSPHRASE": PASSPHRASE}
    assert _localai(tmp_path, "workspace", "create", "Clinic", "--encrypt", env=env).returncode == 0
    from localai_desktop.core.datafolder.workspace import Workspace

    with Workspace.open(tmp_path, workspace="Clinic", passphrase=lambda _i: PASSPHRASE) as ws:
        conversation = ws.conversations.create("Referral")
        ws.conversations.add_message(conversation.id, "user", "Patient quokkamoon")
    export = tmp_path.parent / f"{tmp_path.name}-export.age"
    done = _localai(tmp_path, "--workspace", "Clinic", "data", "export", str(export), env=env)
    assert done.returncode == 0, done.stderr
    assert export.read_bytes().startswith(b"age-encryption.org/v1")
    assert b"quokkamoon" not in export.read_bytes()
    # Into the default (unprotected) workspace: the export's passphrase is asked for.
    refused = _localai(tmp_path, "data", "import", str(export))
    assert refused.returncode == 1 and "encrypted" in refused.stderr
    imported = _localai(tmp_path, "data", "import", str(export), "--json", env=env)
    assert imported.returncode == 0, imported.stderr
    with Workspace.open(tmp_path) as ws:
        [conversation] = ws.conversations.list()
        assert ws.conversations.get(conversation.id).messages[0].content == "Patient quokkamoon"


def test_a_recovery_file_and_its_code_replace_a_forgotten_passphrase(tmp_path: Path) -> None:
    env = {"LOCALAI_PASSPHRASE": PASSPHRASE}
    assert _localai(tmp_path, "workspace", "create", "Clinic", "--encrypt", env=env).returncode == 0
    recovery = tmp_path.parent / f"{tmp_path.name}-recovery.json"
    saved = _localai(tmp_path, "workspace", "recovery-file", "Clinic", str(recovery), env=env)
    assert saved.returncode == 0, saved.stderr
    code = saved.stdout.split("shown again): ")[1].split()[0]
    assert len(code.replace("-", "")) == 48
    wrong = _localai(
        tmp_path,
        "workspace",
        "recover",
        "Clinic",
        str(recovery),
        "--passphrase-stdin",
        stdin="AAAAAAAA-AAAAAAAA\nthe new passphrase\n",
    )
    assert wrong.returncode == 2 and "recovery code does not open" in wrong.stderr
    recovered = _localai(
        tmp_path,
        "workspace",
        "recover",
        "Clinic",
        str(recovery),
        "--passphrase-stdin",
        stdin=f"{code.lower()}\nthe new passphrase\n",
    )
    assert recovered.returncode == 0, recovered.stderr
    opened = _localai(
        tmp_path,
        "--workspace",
        "Clinic",
        "audit",
        "verify",
        env={"LOCALAI_PASSPHRASE": "the new passphrase"},
    )
    assert opened.returncode == 0, opened.stderr
