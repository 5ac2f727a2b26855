"""Removing a model: its files first (every part of a split model), and nothing half-done."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.common.errors import StorageError
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.models.registry import ModelRegistry, model_files
from localai_desktop.core.storage import Database
from tests.support import gguf_factory


@pytest.fixture
def registry(data_dir: Path) -> Iterator[ModelRegistry]:
    paths = init_data_paths(data_dir)
    db = Database(paths.database)
    yield ModelRegistry(db, paths.models)
    db.close()


def test_model_files_lists_every_part_of_a_split_model(tmp_path: Path) -> None:
    first = tmp_path / "Qwen-Q4_K_M-00001-OF-00003.GGUF"
    assert [p.name for p in model_files(first)] == [
        "Qwen-Q4_K_M-00001-OF-00003.GGUF",
        "Qwen-Q4_K_M-00002-OF-00003.GGUF",
        "Qwen-Q4_K_M-00003-OF-00003.GGUF",
    ]
    assert model_files(tmp_path / "model-Q8_0.gguf") == [tmp_path / "model-Q8_0.gguf"]


def test_removing_a_split_model_with_its_file_deletes_every_part(
    registry: ModelRegistry, stories260k: Path, tmp_path: Path
) -> None:
    parts = gguf_factory.write_split_llama(tmp_path / "tiny-Q8_0.gguf", tokenizer_from=stories260k)
    assert len(parts) > 1
    model = registry.import_model(parts[0], name="tiny", probe=False)
    registry.remove(model.id, delete_file=True)
    assert registry.list() == []
    assert [p for p in parts if p.exists()] == []


def test_a_file_that_cannot_be_deleted_keeps_the_model_and_says_why(
    registry: ModelRegistry, stories260k: Path, tmp_path: Path
) -> None:
    path = tmp_path / "stories.gguf"
    shutil.copyfile(stories260k, path)
    model = registry.import_model(path, name="stories", probe=False)
    # Something the OS refuses to unlink (a folder now stands where the file was).
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")

    with pytest.raises(StorageError) as caught:
        registry.remove(model.id, delete_file=True)
    assert "could not be deleted" in caught.value.message
    assert "'stories' was not removed" in caught.value.message
    assert [m.name for m in registry.list()] == ["stories"]
