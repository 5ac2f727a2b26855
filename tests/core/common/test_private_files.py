"""Everything the app writes is readable by this user alone (0700 folders, 0600 files)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")

SHARED = stat.S_IRWXG | stat.S_IRWXO


def _shared_entries(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & SHARED:
            found.append(f"{oct(stat.S_IMODE(mode))} {path.relative_to(root.parent)}")
    return found


def test_a_chat_through_the_cli_leaves_nothing_another_user_can_read(
    tmp_path: Path, stories260k: Path
) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "LOCALAI_CONFIG_DIR": str(tmp_path / "config")}
    # A new process, as a person runs it: the umask it inherited is the usual 022.
    script = (
        "import os, sys; os.umask(0o022); from localai_desktop.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    for args in (
        ["models", "import", str(stories260k), "--name", "stories"],
        ["chat", "--model", "stories", "--max-tokens", "8", "Once upon a time"],
        ["data", "export", str(tmp_path / "export" / "backup.json")],
    ):
        run = subprocess.run(
            [sys.executable, "-c", script, "--data-dir", str(data), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
    assert (data / "localai.db").is_file() and any((data / "logs").iterdir())
    assert _shared_entries(data) == []
    assert _shared_entries(tmp_path / "export") == []


def test_a_data_folder_made_by_an_older_version_is_closed_to_others_when_opened(
    tmp_path: Path,
) -> None:
    from localai_desktop.core.datafolder.paths import init_data_paths

    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "logs" / "desktop.log").write_text("old log")
    for path in (data, data / "logs"):
        path.chmod(0o755)
    (data / "logs" / "desktop.log").chmod(0o644)
    init_data_paths(data)
    assert _shared_entries(data) == []
