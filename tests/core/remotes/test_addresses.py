"""Which remote addresses are accepted: https anywhere, http only on this computer or network."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.remotes.addresses import (
    RemoteAddressError,
    check_base_url,
    parse_reference,
)
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.storage import Database


@pytest.fixture
def remotes(data_dir: Path) -> Remotes:
    return Remotes(Database(data_dir / "localai.db"))


@pytest.mark.parametrize(
    "url",
    [
        "https://gpu.example.com",
        "https://api.example.com:8443/v1",
        "http://127.0.0.1:8080",
        "http://localhost:8000/v1/",
        "http://192.168.1.20:8000",
        "http://10.0.0.5",
        "http://gpu-server:8000",
        "http://gpu-server.clinic.lan:8000",
        "http://[::1]:8000",
    ],
)
def test_https_anywhere_and_http_on_our_own_network_are_accepted(url: str) -> None:
    address = check_base_url(url)
    assert address.scheme in ("https", "http")
    assert not address.url.endswith("/v1")  # the base, before /v1
    assert address.api_path("/models").endswith("/v1/models")


@pytest.mark.parametrize(
    "url", ["http://8.8.8.8:8000", "http://api.example.com", "http://gpu.clinic.org:8000"]
)
def test_http_to_a_public_address_is_refused(url: str) -> None:
    with pytest.raises(RemoteAddressError, match=r"unencrypted .*Use https"):
        check_base_url(url)


@pytest.mark.parametrize(
    "url", ["gpu-server:8000", "ftp://gpu", "https://", "https://user:pw@gpu.example.com"]
)
def test_a_malformed_address_says_how_to_write_it(url: str) -> None:
    with pytest.raises(RemoteAddressError) as caught:
        check_base_url(url)
    assert caught.value.todo


def test_references_name_the_remote_then_the_model() -> None:
    reference = parse_reference("gpu/meta-llama/Llama-3.1-8B")
    assert reference is not None
    assert (reference.remote, reference.model_id) == ("gpu", "meta-llama/Llama-3.1-8B")
    assert parse_reference("plain-local-model") is None


def test_remotes_are_kept_per_workspace_with_their_key(remotes: Remotes) -> None:
    added = remotes.add("gpu", "https://gpu.example.com/v1", api_key=" secret ")
    assert added.base_url == "https://gpu.example.com" and added.api_key == "secret"
    assert "has_api_key" in added.to_json() and "secret" not in str(added.to_json())
    assert [r.name for r in remotes.list()] == ["gpu"]
    assert remotes.resolve("gpu/some-model") is not None
    assert remotes.resolve("GPU/some-model") is not None  # names are found whatever the case
    assert remotes.resolve("other/some-model") is None  # not a remote: a local model's name
    with pytest.raises(LocalAIError, match="already a remote engine"):
        remotes.add("GPU", "https://other.example.com")
    remotes.remove("gpu")
    assert remotes.list() == []
    with pytest.raises(NotFoundError):
        remotes.remove("gpu")


def test_bad_names_and_settings_are_refused_plainly(remotes: Remotes, tmp_path: Path) -> None:
    with pytest.raises(LocalAIError, match="cannot name"):
        remotes.add("a/b", "https://gpu.example.com")
    with pytest.raises(RemoteAddressError, match="offline mode"):
        remotes.add("cloud", "https://api.example.com", allow_offline=True)
    with pytest.raises(NotFoundError, match="CA file"):
        remotes.add("gpu", "https://gpu.example.com", ca_file=tmp_path / "missing.pem")
    assert remotes.list() == []
