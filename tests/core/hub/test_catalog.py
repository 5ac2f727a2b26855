"""The curated catalog: the shipped file passes its schema check and browses offline."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localai_desktop.cli import main
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.hub.catalog import (
    CATALOG_SCHEMA_VERSION,
    builtin_catalog_path,
    catalog_problems,
    load_catalog,
)
from localai_desktop.core.models.hardware import Machine, fit_verdict, recommend_quant
from tests.support.fake_hub import NetworkGuard


@pytest.fixture(autouse=True)
def no_network_at_all(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard(allow_loopback=False).install(monkeypatch)
    yield guard
    guard.check()


@pytest.fixture
def shipped() -> dict[str, Any]:
    return json.loads(builtin_catalog_path().read_text(encoding="utf-8"))


def test_the_shipped_catalog_passes_its_schema_check(shipped: dict[str, Any]) -> None:
    assert catalog_problems(shipped) == []
    catalog = load_catalog()
    assert catalog.schema_version == CATALOG_SCHEMA_VERSION
    assert catalog.find("qwen/qwen2.5-0.5b-instruct-gguf") is not None  # ids are case-blind


def test_the_catalog_covers_chat_reasoning_coding_and_embeddings() -> None:
    catalog = load_catalog()
    generators = catalog.of_kind("chat", "reasoning", "coding")
    embedders = catalog.of_kind("embedding")
    assert 15 <= len(generators) <= 25
    assert 2 <= len(embedders) <= 3
    assert {e.kind for e in generators} == {"chat", "reasoning", "coding"}
    sizes = [e.parameter_count for e in generators]
    assert min(sizes) < 0.6e9 and 12e9 < max(sizes) < 15.5e9
    assert all("Q4_K_M" in e.quantizations for e in generators)
    assert any(not e.commercial_use for e in catalog.entries)  # the badge has something to warn


def test_the_schema_check_refuses_sizes_hashes_and_contradictions(
    shipped: dict[str, Any],
) -> None:
    damaged = copy.deepcopy(shipped)
    first, second = damaged["models"][0], damaged["models"][1]
    first["size_bytes"] = 123  # sizes come from the Hub, never from this file
    first["sha256"] = "0" * 64
    second["commercial_use"] = not second["commercial_use"]
    damaged["models"][2]["quantizations"] = ["Q4_K_M", "Q9_Z"]
    del damaged["models"][3]["license"]
    damaged["models"].append(copy.deepcopy(damaged["models"][5]))
    problems = "\n".join(catalog_problems(damaged))
    assert "'size_bytes': sizes and hashes must come from the Hub" in problems
    assert "'sha256': sizes and hashes must come from the Hub" in problems
    assert "commercial_use contradicts the license" in problems
    assert "known names such as Q4_K_M" in problems
    assert "'license' is missing" in problems
    assert "listed twice" in problems
    assert catalog_problems({"schema_version": 99, "models": []})


def test_a_damaged_catalog_file_gives_a_plain_error(tmp_path: Path) -> None:
    broken = tmp_path / "catalog.json"
    broken.write_text('{"schema_version": 1, "models": [{"repo_id": "x"}]}')
    with pytest.raises(LocalAIError) as caught:
        load_catalog(broken)
    assert "list of recommended models is damaged" in caught.value.message
    assert "searching Hugging Face still works" in caught.value.message


def test_catalog_command_works_offline(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(data_dir), "--offline", "models", "catalog", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed["models"]) == len(load_catalog().entries)
    assert {"repo_id", "license", "commercial_use", "quantizations"} <= set(listed["models"][0])
    assert main(["--data-dir", str(data_dir), "models", "catalog"]) == 0
    assert "Qwen/Qwen2.5-0.5B-Instruct-GGUF" in capsys.readouterr().out


def test_catalog_models_get_an_offline_recommendation_from_estimated_sizes() -> None:
    catalog = load_catalog()
    llama_8b = catalog.get("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF")
    estimated = {c.quantization: c.total_bytes for c in llama_8b.estimated_choices()}
    # 8.03e9 parameters x 4.89 bits / 8 = 4.91e9 bytes (the real file: 4.92e9).
    assert estimated["Q4_K_M"] == int(8_030_000_000 * 4.89 / 8)
    laptop = Machine(ram_bytes=8 * 1024**3)
    # At 4,096 tokens the unknown layer shapes are estimated at 24 KiB per token per billion
    # parameters: 8.03 x 24 KiB x 4096 = 0.75 GiB. Q5_K_M: (5.33 GiB + 0.75) x 1.12 = 6.8 GiB,
    # under 0.9 x 8 = 7.2 GiB, but on a laptop without a GPU the faster Q4_K_M is suggested;
    # Q6_K: (6.13 + 0.75) x 1.12 = 7.7 GiB would not fit at all.
    choices = llama_8b.estimated_choices()
    fits = {
        c.quantization: fit_verdict(c.total_bytes, llama_8b.facts(), 4096, laptop) for c in choices
    }
    assert fits["Q5_K_M"] == "cpu" and fits["Q6_K"] == "too_large"
    choice = recommend_quant(choices, llama_8b.facts(), 4096, laptop)
    assert choice is not None and choice.quantization == "Q4_K_M"
