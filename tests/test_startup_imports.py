"""Starting the app imports no model, Hub, template or training library: those load when needed.

Each check runs in a fresh Python process (`-c`), since this test process has imported
everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

# llama_cpp: 30 MiB, loaded with the first model (or when the Discover panel checks the GPU);
# huggingface_hub.hf_api and httpx2: 20 MiB, loaded with the first search or download;
# torch and transformers: loaded by a fine-tuning run, in its own process;
# jinja2: 9 MiB, loaded with the first model that has a chat template;
# numpy: 15 MiB and 0.15 s, loaded when documents are indexed or searched.
LOADED_WHEN_NEEDED = (
    "llama_cpp",
    "huggingface_hub.hf_api",
    "httpx2",
    "torch",
    "transformers",
    "jinja2",
    "numpy",
)

REPORT_MODULES = textwrap.dedent(
    f"""
    import json, sys
    print(json.dumps([m for m in {LOADED_WHEN_NEEDED!r} if m in sys.modules]))
    """
)


def run_python(code: str, *args: str) -> list[str]:
    """The heavy modules a fresh `python -c code args` had imported when it finished."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_main_window_loads_no_model_hub_or_training_library() -> None:
    assert run_python("import localai_desktop.ui.shell.main_window\n" + REPORT_MODULES) == []


def test_opening_the_window_loads_no_model_hub_or_training_library(data_dir: Path) -> None:
    # The real entry point with all four tabs built; no model yet, so the window opens on the
    # Models tab (its "On this computer" part: the Discover panel stays hidden).
    smoke_test = textwrap.dedent(
        """
        import sys
        from localai_desktop.ui.app import main
        assert main(["--data-dir", sys.argv[1], "--smoke-test"]) == 0
        """
    )
    assert run_python(smoke_test + REPORT_MODULES, str(data_dir)) == []
