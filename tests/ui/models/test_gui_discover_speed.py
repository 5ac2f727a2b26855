"""Discover shows the predicted speed here next to the fit verdict."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from localai_desktop.core.hub.catalog import load_catalog
from localai_desktop.core.models.hardware import Machine
from localai_desktop.core.speed.measurement import MachineSpeed
from localai_desktop.ui.models.discover_tables import CATALOG_COLUMNS, CatalogTableModel

GB = 1024**3


def test_the_catalog_says_how_fast_each_suggestion_runs_here(qtbot: QtBot) -> None:
    model = CatalogTableModel(4096)
    catalog = load_catalog()
    model.set_entries(catalog.entries)
    measured = MachineSpeed(bytes_per_second=20e9, threads=2, measured_at="2026-12-04T17:00:00")

    model.set_machine(Machine(ram_bytes=24 * GB, cpu_cores=2), measured)

    advice_column = len(CATALOG_COLUMNS) - 1
    advice = {
        entry.name: model.index(row, advice_column).data()
        for row, entry in enumerate(catalog.entries)
    }
    assert "Runs on the CPU · about" in advice["Qwen2.5 0.5B Instruct"]
    assert "tokens/s" in advice["Qwen2.5 0.5B Instruct"]
    assert "(slow)" in advice["Qwen2.5 14B Instruct"]  # fits in 24 GB, but a few words a second
    assert "tokens/s" not in advice["Nomic Embed Text v1.5"]  # embeddings do not generate
