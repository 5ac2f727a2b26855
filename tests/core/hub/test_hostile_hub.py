"""A Hub that misbehaves on purpose: loops, floods or drips. Each ends in a plain message."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.cli import main
from localai_desktop.core.hub.client import HubClient, HubError, HubUnreachableError
from tests.support.fake_hub import FakeHub, NetworkGuard, running_fake_hub

REPO = "test/stories-GGUF"
CHECK_ADDRESS = "Check the Hub address in the settings; it should be https://huggingface.co."


@pytest.fixture(autouse=True)
def only_the_fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard(allow_loopback=True).install(monkeypatch)
    yield guard
    guard.check()


@pytest.fixture
def hub(stories260k: Path) -> Iterator[FakeHub]:
    with running_fake_hub() as hub:
        hub.add_repo(REPO, {"stories260K-F32.gguf": stories260k})
        yield hub


def test_a_hub_that_redirects_in_a_loop_is_refused_plainly(
    hub: FakeHub, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.hostile = "redirect-loop"
    expected = (
        "The Hugging Face server kept sending the app on to other addresses (too many "
        f"redirects), so it gave up. {CHECK_ADDRESS}"
    )
    with pytest.raises(HubError) as caught:
        HubClient(hub.url).search("stories")
    assert caught.value.message == expected

    code = main(["--data-dir", str(data_dir), "--hub-endpoint", hub.url, "models", "show", REPO])
    assert code == 1
    assert capsys.readouterr().err == f"Error: {expected}\n"


def test_an_endless_model_info_answer_is_cut_off_with_bounded_memory(hub: FakeHub) -> None:
    hub.hostile = "endless"
    tracemalloc.start()
    try:
        with pytest.raises(HubError) as caught:
            HubClient(hub.url).details(REPO)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.message == (
        "The Hugging Face server sent a far larger answer than any real one (over 32 MB), so "
        f"the app stopped reading it. {CHECK_ADDRESS}"
    )
    assert peak < 100 * 1024**2  # the answer so far, once, and never parsed
    assert hub.bytes_sent < 64 * 1024**2  # the app hung up, the server could not go on


def test_a_hub_that_answers_one_byte_at_a_time_is_given_up_on_in_time(hub: FakeHub) -> None:
    hub.hostile = "drip"  # each byte within the read timeout: only a deadline stops it
    started = time.monotonic()
    with pytest.raises(HubUnreachableError) as caught:
        HubClient(hub.url, timeout_s=2.0).details(REPO)
    assert time.monotonic() - started < 5
    assert caught.value.message == (
        "Hugging Face answered too slowly: the answer was not complete after 2 seconds, so "
        "the app stopped waiting. Check your internet connection, or try again in a moment."
    )
