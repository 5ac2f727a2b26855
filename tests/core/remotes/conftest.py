"""A remote engine for these tests: llama-cpp-python's own server with stories260K."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.certificates import ServerCertificate, make_server_certificate
from tests.support.remote_engine import RunningServer, running_llama_server

API_KEY = "test-key-0123456789"


@pytest.fixture(scope="module")
def llama_server(models_dir: Path) -> Iterator[RunningServer]:
    with running_llama_server(models_dir / "stories260K.gguf") as server:
        yield server


@pytest.fixture(scope="module")
def keyed_server(models_dir: Path) -> Iterator[RunningServer]:
    with running_llama_server(models_dir / "stories260K.gguf", api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return make_server_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(models_dir: Path, certificate: ServerCertificate) -> Iterator[RunningServer]:
    with running_llama_server(models_dir / "stories260K.gguf", tls=certificate) as server:
        yield server
