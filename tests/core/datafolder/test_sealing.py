"""Sealing a workspace's existing adapters and training files in place: complete and kill-safe."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.sealing import has_plaintext_files, seal_existing
from localai_desktop.core.vault.keys import Vault
from localai_desktop.core.vault.sealed_files import is_sealed, read_sealed, seal_bytes
from localai_desktop.core.vault.workspace_files import PLAINTEXT_LEFTOVER_SUFFIX

WORD = b"quokkamoon"
VAULT = Vault(b"d" * 32)


def _fill(paths: DataPaths, files: int = 6, size: int = 300_000) -> dict[Path, bytes]:
    contents: dict[Path, bytes] = {}
    for i in range(files):
        folder = paths.adapters if i % 2 else paths.finetune / f"job-{i}"
        folder.mkdir(parents=True, exist_ok=True)
        data = (WORD + b" %d " % i) * (size // 16)
        path = folder / f"file-{i}.bin"
        path.write_bytes(data)
        contents[path] = data
    return contents


def _check_each_file_is_whole(contents: dict[Path, bytes]) -> None:
    """Each name holds the plaintext or the sealed file, never a mix or nothing."""
    for path, data in contents.items():
        on_disk = path.read_bytes()
        assert on_disk == data or read_sealed(VAULT.file_key, path) == data, path


def test_every_plaintext_file_is_sealed_and_overwritten(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path)
    contents = _fill(paths)
    (paths.finetune / "job-0" / "cancel").touch()  # empty: nothing to protect
    inode = os.stat(next(iter(contents))).st_ino
    assert has_plaintext_files(paths)
    assert seal_existing(paths, VAULT) == len(contents)
    assert not has_plaintext_files(paths)
    assert seal_existing(paths, VAULT) == 0  # already done
    for path, data in contents.items():
        assert is_sealed(path) and read_sealed(VAULT.file_key, path) == data
    assert os.stat(next(iter(contents))).st_ino != inode  # a new file took the name
    everything = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert WORD not in everything


def test_a_run_stopped_between_its_steps_is_finished_without_losing_the_file(
    tmp_path: Path,
) -> None:
    paths = DataPaths(tmp_path)
    contents = _fill(paths, files=2)
    first, second = contents
    # Stopped after linking, before the rename: the leftover is the original's own inode.
    os.link(first, first.with_name(first.name + PLAINTEXT_LEFTOVER_SUFFIX))
    (first.parent / f".sealing-{first.name}.tmp").write_bytes(b"LAIVF\x01 cut short")
    # Stopped after the rename, before the plaintext was overwritten.
    leftover = second.with_name(second.name + PLAINTEXT_LEFTOVER_SUFFIX)
    os.link(second, leftover)
    second.unlink()
    second.write_bytes(seal_bytes(VAULT.file_key, contents[second]))
    assert has_plaintext_files(paths)
    seal_existing(paths, VAULT)
    assert not has_plaintext_files(paths)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        [first.name, second.name]
    )
    for path, data in contents.items():
        assert read_sealed(VAULT.file_key, path) == data


_SEAL_IN_A_CHILD = """
import sys
from pathlib import Path
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.sealing import seal_existing
from localai_desktop.core.vault.keys import Vault
print("ready", flush=True)
seal_existing(DataPaths(Path(sys.argv[1])), Vault(b"d" * 32))
"""


def test_sigkill_at_random_points_leaves_every_file_whole_and_the_next_pass_finishes(
    tmp_path: Path,
) -> None:
    rng = random.Random(13)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for attempt in range(5):
        paths = DataPaths(tmp_path / f"attempt-{attempt}")
        contents = _fill(paths, files=12, size=400_000)
        child = subprocess.Popen(
            [sys.executable, "-c", _SEAL_IN_A_CHILD, str(paths.root)],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        _check_each_file_is_whole(contents)
        seal_existing(paths, VAULT)  # the next unlock
        assert not has_plaintext_files(paths)
        for path, data in contents.items():
            assert read_sealed(VAULT.file_key, path) == data
        everything = b"".join(p.read_bytes() for p in paths.root.rglob("*") if p.is_file())
        assert WORD not in everything
