"""`localai models layout`: both weight layouts measured once, the choice kept and explained."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import localai


def test_layout_is_measured_once_and_kept(data_dir: Path, stories260k: Path) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--name", "st")

    first = localai(data_dir, "models", "layout", "st", "--threads", "1", "--json")
    assert "Measuring 'st' in both weight layouts" in first.stderr
    measured = json.loads(first.stdout)
    assert measured["work"] == "chat"  # no collections in this workspace
    assert measured["repacked"]["answer_tokens_per_second"] > 0
    assert measured["plain"]["prompt_tokens_per_second"] > 0

    # Asked again, for documents: the kept figures are reused, only the verdict's work changes.
    again = localai(data_dir, "models", "layout", "st", "--work", "documents")
    assert "Measuring" not in again.stderr
    assert "Chosen:" in again.stdout and "document question" in again.stdout
    shown = json.loads(localai(data_dir, "models", "list", "--json").stdout)
    kept = {m["name"]: m for m in shown}["st"]["source"]["weight_layout"]
    assert kept["work"] == "documents"
    assert kept["repacked"] == measured["repacked"]


def test_an_unknown_model_is_a_plain_error(data_dir: Path) -> None:
    result = localai(data_dir, "models", "layout", "nothing-here", check=False)
    assert result.returncode != 0
    assert "nothing-here" in result.stderr
