"""The core and the CLI must work on a machine where Qt cannot be imported at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

BLOCK_QT_AND_RUN = textwrap.dedent(
    """
    import importlib.abc, sys

    class BlockQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6"):
                raise ImportError(f"{name} is blocked for this test")
            return None

    sys.meta_path.insert(0, BlockQt())

    import pkgutil, importlib
    import localai_desktop.core as core
    import localai_desktop.cli as cli
    for package in (core, cli):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    if len(sys.argv) < 3:
        print("CORE-IMPORTED-WITHOUT-QT")
        raise SystemExit(0)

    from localai_desktop.cli import main
    data, model = sys.argv[1], sys.argv[2]
    assert main(["--data-dir", data, "models", "import", model, "--name", "m"]) == 0
    assert main(["--data-dir", data, "chat", "--model", "m", "--max-tokens", "20", "Hi"]) == 0
    assert not any(name.startswith("PySide6") for name in sys.modules)
    print("CORE-RAN-WITHOUT-QT")
    """
)


def test_every_core_and_cli_module_imports_with_qt_blocked() -> None:
    """No model files needed: this runs wherever the package is installed."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_QT_AND_RUN], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "CORE-IMPORTED-WITHOUT-QT" in result.stdout


def test_core_imports_and_chats_with_qt_blocked(data_dir: Path, stories260k: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_QT_AND_RUN, str(data_dir), str(stories260k)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "CORE-RAN-WITHOUT-QT" in result.stdout
