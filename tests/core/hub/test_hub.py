"""Searching and browsing the Hub, against a local fake Hub on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.cli import main
from localai_desktop.core.common.errors import NotFoundError
from localai_desktop.core.hub.catalog import load_catalog
from localai_desktop.core.hub.client import (
    HubClient,
    HubError,
    HubUnreachableError,
    RepoNotFoundError,
)
from tests.support import gguf_factory
from tests.support.fake_hub import FakeHub, NetworkGuard, running_fake_hub

REPO = "test/stories-GGUF"


@pytest.fixture(autouse=True)
def only_the_fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard(allow_loopback=True).install(monkeypatch)
    yield guard
    guard.check()


@pytest.fixture(scope="module")
def split_parts(stories260k: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("split")
    return gguf_factory.write_split_llama(folder / "tiny-Q8_0.gguf", tokenizer_from=stories260k)


@pytest.fixture
def hub(stories260k: Path, split_parts: list[Path]) -> Iterator[FakeHub]:
    with running_fake_hub() as hub:
        hub.add_repo(
            REPO,
            {
                "stories260K-F32.gguf": stories260k,
                **{f"Q8_0/{p.name}": p for p in split_parts},
                "mmproj-stories-f16.gguf": b"a vision projector, not a model",
                "README.md": b"# Stories",
            },
            downloads=500,
            likes=3,
            last_modified="2024-06-01T00:00:00.000Z",
            gguf={"total": 292_800, "context_length": 2048, "architecture": "llama"},
        )
        hub.add_repo("acme/popular-GGUF", {"m-Q4_K_M.gguf": b"x" * 100}, downloads=9000, likes=1)
        hub.add_repo(
            "acme/liked-GGUF",
            {"m-Q4_K_M.gguf": b"x" * 100},
            downloads=10,
            likes=700,
            last_modified="2025-03-01T00:00:00.000Z",
        )
        hub.add_repo("acme/not-gguf", {"model.safetensors": b"x"}, downloads=99999, tags=[])
        yield hub


def test_search_finds_gguf_repos_sorted_by_downloads_likes_or_recency(hub: FakeHub) -> None:
    client = HubClient(hub.url)
    by_downloads = [r.repo_id for r in client.search("", sort="downloads")]
    assert by_downloads == ["acme/popular-GGUF", REPO, "acme/liked-GGUF"]  # no safetensors repo
    assert client.search("", sort="likes")[0].repo_id == "acme/liked-GGUF"
    assert client.search("", sort="recent")[0].repo_id == "acme/liked-GGUF"
    stories = client.search("stories")
    assert [(r.repo_id, r.downloads, r.license) for r in stories] == [(REPO, 500, "apache-2.0")]
    assert len(client.search("acme", limit=1)) == 1
    with pytest.raises(HubError, match="Unknown sort order"):
        client.search("x", sort="newest")


def test_details_group_files_by_quantization_with_split_files_as_one_choice(
    hub: FakeHub, stories260k: Path, split_parts: list[Path]
) -> None:
    details = HubClient(hub.url).details(REPO)
    assert details.commit == hub.repos[REPO].commit
    assert details.license == "apache-2.0" and details.commercial_use is True
    assert details.facts.parameter_count == 292_800
    # README and the vision projector are not choices; the three parts are one.
    assert [c.label for c in details.choices] == ["Q8_0 (3 parts)", "F32"]  # small to large
    split = details.choice(quant="q8_0")
    assert split.is_split
    assert [f.path for f in split.files] == [f"Q8_0/{p.name}" for p in split_parts]
    assert split.first_file.endswith("-00001-of-00003.gguf")
    assert split.total_bytes == sum(p.stat().st_size for p in split_parts)
    single = details.choice(file="stories260K-F32.gguf")
    assert single.files[0].size == stories260k.stat().st_size
    assert single.files[0].sha256 == hub.repos[REPO].sha256("stories260K-F32.gguf")
    assert list(details.by_quantization()) == ["Q8_0", "F32"]
    with pytest.raises(NotFoundError, match="Available quantizations: Q8_0, F32"):
        details.choice(quant="Q4_K_M")


def test_an_incomplete_split_set_is_not_offered(hub: FakeHub, split_parts: list[Path]) -> None:
    hub.add_repo("test/broken-GGUF", {split_parts[0].name: split_parts[0]})
    assert HubClient(hub.url).details("test/broken-GGUF").choices == ()


def test_the_catalog_says_when_commercial_use_is_not_allowed(hub: FakeHub) -> None:
    # The card has no license: the catalog's entry for this repo fills it in.
    hub.add_repo("Qwen/Qwen2.5-3B-Instruct-GGUF", {"m-q4_k_m.gguf": b"x"}, license=None)
    details = HubClient(hub.url, catalog=load_catalog()).details("Qwen/Qwen2.5-3B-Instruct-GGUF")
    assert details.license == "qwen-research"
    assert details.commercial_use is False
    assert details.catalog_entry is not None and details.catalog_entry.name.startswith("Qwen2.5")


def test_a_missing_repo_says_so_plainly(hub: FakeHub) -> None:
    with pytest.raises(RepoNotFoundError) as caught:
        HubClient(hub.url).details("nobody/nothing-GGUF")
    assert "no model called 'nobody/nothing-GGUF' on Hugging Face" in caught.value.message


def test_an_unreachable_hub_says_you_appear_to_be_offline_at_once() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = HubClient(f"http://127.0.0.1:{closed_port}")
    started = time.monotonic()
    with pytest.raises(HubUnreachableError) as caught:
        client.search("qwen")
    assert caught.value.message.startswith("You appear to be offline")
    assert time.monotonic() - started < 3  # no 23 s of retries before saying so
    with pytest.raises(HubUnreachableError):
        client.details(REPO)


def test_model_facts_come_from_the_file_header_with_one_ranged_request(hub: FakeHub) -> None:
    client = HubClient(hub.url)
    details = client.details(REPO)
    facts = client.model_facts(details)
    # The smallest choice is the first part of the split model: 1 layer, 2 KV heads of 16.
    assert (facts.block_count, facts.head_count_kv, facts.key_length) == (1, 2, 16)
    assert facts.parameter_count == 292_800
    assert hub.range_starts(details.choice(quant="Q8_0").first_file) == [0]


def test_telemetry_is_off() -> None:
    from huggingface_hub import constants

    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1"
    assert constants.HF_HUB_DISABLE_TELEMETRY is True


def test_cli_search_and_show_with_fit_verdicts(
    hub: FakeHub, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--data-dir", str(data_dir), "--hub-endpoint", hub.url, "models"]
    assert main([*base, "search", "stories", "--sort", "likes", "--json"]) == 0
    assert [r["repo_id"] for r in json.loads(capsys.readouterr().out)] == [REPO]
    assert main([*base, "show", REPO, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [c["quantization"] for c in shown["choices"]] == ["Q8_0", "F32"]
    assert {c["verdict"] for c in shown["choices"]} <= {"gpu", "partial", "cpu"}
    assert sum(c["recommended"] for c in shown["choices"]) == 1
    assert shown["machine"]["ram_bytes"] > 0
    # Each file's speed here, predicted before the download (on the CPU).
    for choice in shown["choices"]:
        speed = choice["predicted_tokens_per_second"]
        assert (speed is not None and speed > 0) == (choice["verdict"] == "cpu")
    assert shown["machine_speed"]["bytes_per_second"] > 0
    # The option also works after the command, and a person gets a table.
    assert (
        main(["--data-dir", str(data_dir), "models", "show", REPO, "--hub-endpoint", hub.url]) == 0
    )
    table = capsys.readouterr().out
    assert (
        "Q8_0 (3 parts)" in table and "recommended" in table and "Commercial use allowed" in table
    )
    assert "SPEED HERE" in table and "tokens/s" in table
    assert main([*base, "show", "nobody/nothing"]) == 1
    assert "no model called 'nobody/nothing'" in capsys.readouterr().err
