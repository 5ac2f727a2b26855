"""Making a smaller copy: every type loads and answers, lineage is kept, Cancel leaves nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.file_lock import FileLock
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.quantize.runner import (
    LOCK_SUFFIX,
    PARTIAL_SUFFIX,
    QuantizeCancelled,
    quantize_model,
    remove_abandoned_copies,
)
from localai_desktop.core.quantize.targets import TARGET_NAMES
from localai_desktop.core.storage import Database
from tests.support import gguf_factory


@pytest.fixture
def registry(data_dir: Path) -> Iterator[ModelRegistry]:
    paths = init_data_paths(data_dir)
    db = Database(paths.database)
    yield ModelRegistry(db, paths.models)
    db.close()


@pytest.fixture(scope="module")
def f16_model(stories260k: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Rows of 256 (and multiples) so that K-quants and IQ4_XS apply to every matrix.
    path = tmp_path_factory.mktemp("f16") / "tiny-256-F16.gguf"
    return gguf_factory.write_random_llama(
        path,
        tokenizer_from=stories260k,
        n_embd=256,
        n_layers=2,
        n_head=4,
        n_head_kv=2,
        n_ff=512,
        dtype="f16",
        name="Tiny 256 F16",
    )


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_an_f16_model_quantized_to_each_type_loads_and_answers(
    registry: ModelRegistry, f16_model: Path, target: str
) -> None:
    original = registry.import_model(f16_model)
    stages: list[tuple[str, int, int]] = []

    result = quantize_model(registry, original.name, target, progress=lambda *s: stages.append(s))

    copy = result.model
    assert copy.quantization == target
    assert copy.name == f"Tiny 256 {target}"
    assert copy.path.parent == registry.models_dir and copy.path.is_file()
    assert copy.copied  # the app made it, so removing the model may delete the file
    assert copy.file_size < original.file_size
    assert result.answer.strip()  # it answered the check prompt
    assert copy.source["quantized_from"] == {
        "model": original.name,
        "file": f16_model.name,
        "sha256": original.sha256,
        "quantization": "F16",
    }
    tensor_steps = [s for s in stages if s[0] == "quantizing"]
    assert tensor_steps[-1][1] == tensor_steps[-1][2] > 1  # one step per tensor, to the end
    assert stages[-1] == ("registering", 1, 1)
    assert not list(registry.models_dir.glob(f"*{PARTIAL_SUFFIX}"))


def test_an_embedding_model_gets_a_smaller_copy_that_embeds(
    registry: ModelRegistry, models_dir: Path
) -> None:
    original = registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf")

    result = quantize_model(registry, original.name, "Q4_K_M", name="MiniLM small")

    assert result.model.is_embedding_model
    assert result.model.quantization == "Q4_K_M"
    assert result.model.file_size < original.file_size
    assert result.answer == "384 numbers"


def test_cancelling_a_quantization_leaves_no_file(registry: ModelRegistry, f16_model: Path) -> None:
    original = registry.import_model(f16_model)
    cancellation = Cancellation()

    def cancel_at_first_tensor(stage: str, done: int, _total: int) -> None:
        if stage == "quantizing" and done >= 1:
            # From another thread, as the Cancel button or Ctrl-C does.
            threading.Thread(target=cancellation.set).start()

    with pytest.raises(QuantizeCancelled):
        quantize_model(
            registry,
            original.name,
            "Q4_K_M",
            progress=cancel_at_first_tensor,
            cancellation=cancellation,
        )

    assert list(registry.models_dir.glob("*")) == []
    assert [m.name for m in registry.list()] == [original.name]


def test_a_model_already_small_is_refused_in_plain_words(
    registry: ModelRegistry, f16_model: Path
) -> None:
    original = registry.import_model(f16_model)
    copy = quantize_model(registry, original.name, "Q4_K_M").model

    with pytest.raises(LocalAIError, match="only be made from a model in F32, F16, BF16, Q8_0"):
        quantize_model(registry, copy.name, "IQ4_XS")
    with pytest.raises(LocalAIError, match="not a type the app can make"):
        quantize_model(registry, original.name, "Q3_K_M")
    with pytest.raises(LocalAIError, match="already have a model called"):
        quantize_model(registry, original.name, "Q4_K_M")


def test_a_killed_quantizations_partial_file_is_removed_at_the_next_start(
    data_dir: Path,
) -> None:
    # What `kill -9` of the app (or of `localai models quantize`) mid-copy leaves behind.
    paths = init_data_paths(data_dir)
    paths.models.mkdir(parents=True, exist_ok=True)
    left = paths.models / f"tiny-Q4_K_M.gguf{PARTIAL_SUFFIX}"
    left.write_bytes(b"GGUF half a model")
    stale_lock = paths.models / f"other-Q8_0.gguf{PARTIAL_SUFFIX}{LOCK_SUFFIX}"
    stale_lock.write_bytes(b"")
    # A copy another process is making right now: its lock is held, so it stays.
    busy = paths.models / f"busy-Q6_K.gguf{PARTIAL_SUFFIX}"
    busy.write_bytes(b"GGUF being written")
    holder = FileLock(busy.with_name(busy.name + LOCK_SUFFIX))
    assert holder.acquire()
    kept = paths.models / "kept-Q4_K_M.gguf"
    kept.write_bytes(b"GGUF a finished copy")
    try:
        with Workspace.open(data_dir):
            pass
        assert not left.exists()
        assert not stale_lock.exists()
        assert busy.exists()
        assert kept.exists()
    finally:
        holder.release()
    assert remove_abandoned_copies(paths.models) == [busy]
    assert sorted(p.name for p in paths.models.iterdir()) == ["kept-Q4_K_M.gguf"]
