"""`localai models import` and `localai chat` with hostile chat templates: quick, small, plain.

Each run is a real `localai` process inside a measuring child whose address space is capped,
so a regression fails the test instead of taking pytest or the machine down.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.hostile_content import (
    HOSTILE_TEMPLATES,
    UNSAFE_NOTICE,
    run_measured,
    write_hostile_model,
)

MAX_SECONDS = 30
MAX_PEAK_BYTES = 1024**3


def localai_measured(data_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    run = run_measured(
        [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir), *args],
        timeout=120,
    )
    assert run.seconds < MAX_SECONDS, f"localai {args[:2]} took {run.seconds:.1f} s"
    assert run.peak_rss_bytes < MAX_PEAK_BYTES, (
        f"localai {args[:2]} peaked at {run.peak_rss_bytes / 1024**2:.0f} MiB"
    )
    return run


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE_TEMPLATES))
def test_import_and_chat_finish_quickly_and_say_why_the_standard_format_is_used(
    name: str, data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    path = write_hostile_model(tmp_path, name, models_dir)

    imported = localai_measured(data_dir, "models", "import", str(path), "--name", name)
    assert imported.returncode == 0, imported.stderr
    assert f"Note: '{name}': {UNSAFE_NOTICE}." in imported.stdout
    # Not a llama.cpp warning that happened to be logged last.
    assert "seperator" not in imported.stdout + imported.stderr

    listed = localai_measured(data_dir, "models", "list")
    assert f"Note: '{name}': {UNSAFE_NOTICE}." in listed.stdout
    shown = localai_measured(data_dir, "models", "show", name)
    assert f"Chat format: standard. Note: {UNSAFE_NOTICE}." in shown.stdout
    facts = json.loads(localai_measured(data_dir, "models", "list", "--json").stdout)[0]
    assert facts["chat_format"] == "standard" and facts["chat_template_notice"] == UNSAFE_NOTICE

    chat = localai_measured(
        data_dir, "chat", "Hello", "--model", name, "--max-tokens", "8", "--seed", "1",
        "--context-length", "512",
    )  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.strip()
    assert f"Note: '{name}': {UNSAFE_NOTICE}." in chat.stderr
    conversation = json.loads(localai_measured(data_dir, "chats", "show", "1", "--json").stdout)
    answer = conversation["messages"][-1]
    assert answer["status"] == "complete"
    assert answer["provenance"]["chat_format"] == "standard"
    assert answer["provenance"]["chat_format_note"] == UNSAFE_NOTICE
