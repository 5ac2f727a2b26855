"""Speed before download: the measurement is kept, predictions follow size, picks are fast."""

from __future__ import annotations

import json
from pathlib import Path

from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.hub.catalog import load_catalog
from localai_desktop.core.hub.starter_models import recommend_chat_model
from localai_desktop.core.models.hardware import Machine
from localai_desktop.core.speed.measurement import MachineSpeed
from localai_desktop.core.speed.prediction import (
    MIN_USEFUL_TOKENS_PER_SECOND,
    estimated_speed,
    predict_tokens_per_second,
    predicted_speed,
)
from tests.cli.test_cli import localai

GB = 1024**3


def test_on_a_2_core_24_gb_computer_the_suggestion_is_fast_enough() -> None:
    machine = Machine(ram_bytes=24 * GB, cpu_cores=2)

    pick = recommend_chat_model(load_catalog(), machine)

    assert pick is not None and pick.tokens_per_second is not None
    assert pick.tokens_per_second >= MIN_USEFUL_TOKENS_PER_SECOND
    # It fits far larger models, which would answer at a few words a second.
    assert pick.entry.parameter_count < 7_000_000_000
    assert "tokens/s here" in pick.describe()


def test_a_slow_computer_gets_the_fastest_model_rather_than_none() -> None:
    machine = Machine(ram_bytes=24 * GB, cpu_cores=2)
    crawling = MachineSpeed(bytes_per_second=0.5e9, threads=2, measured_at="")

    pick = recommend_chat_model(load_catalog(), machine, speed=crawling)

    assert pick is not None
    smallest = min(e.parameter_count for e in load_catalog().of_kind("chat"))
    assert pick.entry.parameter_count == smallest


def test_predictions_follow_the_bytes_read_per_token() -> None:
    speed = estimated_speed(4)
    small = predict_tokens_per_second(500_000_000, "Q4_K_M", speed)
    large = predict_tokens_per_second(5_000_000_000, "Q4_K_M", speed)
    assert small > 5 * large
    assert predict_tokens_per_second(4 * GB, "Q8_0", speed) < predict_tokens_per_second(
        2 * GB, "Q4_K_M", speed
    )
    # Not predicted: a GPU run, a file too large, an embedding model.
    assert predicted_speed(GB, "Q4_K_M", "gpu", speed) is None
    assert predicted_speed(GB, "Q4_K_M", "too_large", speed) is None
    assert predicted_speed(GB, "Q8_0", "cpu", speed, embedding=True) is None


def test_the_measurement_is_kept_in_the_settings(data_dir: Path) -> None:
    workspace = Workspace.open(data_dir)
    try:
        assert workspace.machine_speed() is None
        measured = workspace.measure_machine_speed()
        assert measured.bytes_per_second > 1e8 and measured.threads >= 1
        assert 0.0 <= measured.busy_share <= 1.0
    finally:
        workspace.close()
    reopened = Workspace.open(data_dir)
    try:
        assert reopened.machine_speed() == measured
    finally:
        reopened.close()
    stored = json.loads((data_dir / "settings.json").read_text())["machine_speed"]
    assert MachineSpeed.from_json(stored) == measured
    assert MachineSpeed.from_json({"bytes_per_second": "fast"}) is None


def test_recommend_and_catalog_say_the_predicted_speed(data_dir: Path) -> None:
    recommended = json.loads(localai(data_dir, "models", "recommend", "--json").stdout)
    assert recommended["chat"]["predicted_tokens_per_second"] > 0
    assert recommended["machine_speed"]["bytes_per_second"] > 0
    assert recommended["embedding"]["predicted_tokens_per_second"] is None

    catalog = json.loads(localai(data_dir, "models", "catalog", "--json").stdout)
    chat = next(m for m in catalog["models"] if m["kind"] == "chat")
    speeds = [f["predicted_tokens_per_second"] for f in chat["files"]]
    assert all(s is None or s > 0 for s in speeds) and any(s for s in speeds)
    assert [f["quantization"] for f in chat["files"]] == chat["quantizations"]
    text = localai(data_dir, "models", "recommend").stdout
    assert "tokens/s" in text and "localai models pull" in text
