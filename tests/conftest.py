"""Shared fixtures: real model files, temp data folders, generated GGUF models."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports Qt: tests run without a display, and never touch the user's data.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("LOCALAI_DATA_DIR", None)
# Nor the user's app config (the pointer to a chosen data folder, the first-run flag).
os.environ["LOCALAI_CONFIG_DIR"] = tempfile.mkdtemp(prefix="localai-test-config-")
# Nor the user's keychain, nor a passphrase from the environment running the tests.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
os.environ.pop("LOCALAI_PASSPHRASE", None)
os.environ.pop("LOCALAI_NEW_PASSPHRASE", None)

from tests.support import gguf_factory

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_models_dir() -> Path:
    override = os.environ.get("LOCALAI_TEST_MODELS_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "models"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    folder = shared_models_dir()
    if not (folder / "stories260K.gguf").is_file():
        pytest.skip(f"real test models not found in {folder} (set LOCALAI_TEST_MODELS_DIR)")
    return folder


@pytest.fixture(scope="session")
def stories260k(models_dir: Path) -> Path:
    return models_dir / "stories260K.gguf"


@pytest.fixture(scope="session")
def tiny_chat_model(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight llama with Phi-3's tokenizer and chat template that never stops talking."""
    path = tmp_path_factory.mktemp("generated") / "tiny-chat.gguf"
    return gguf_factory.write_random_llama(
        path,
        tokenizer_from=models_dir / "ggml-vocab-phi-3.gguf",
        context_length=32768,
        name="Tiny Chat",
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    yield folder
