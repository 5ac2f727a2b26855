"""GGUF LoRA adapters in llama.cpp: refused before loading when damaged, switched without reload."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from gguf import GGUFWriter

from localai_desktop.cli import main
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import AdapterChoice, ChatService
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.finetune.exporter import BaseShape, export_lora_adapter
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.inference.prompt import plan_prompt
from localai_desktop.core.models.adapter_file import AdapterFileError, check_adapter_file
from localai_desktop.core.models.adapters import Adapter, AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import gguf_factory
from tests.support.finetune_support import STORIES_SHAPE, random_lora_state

STORIES_BASE = BaseShape("llama", STORIES_SHAPE["n_layers"], 8, 4)
GREEDY = GenerationSettings(temperature=0.0, top_k=1, repeat_penalty=1.0, seed=0, max_tokens=24)


@pytest.fixture(scope="module")
def adapter_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid adapter for stories260K with random (strong) weights."""
    path = tmp_path_factory.mktemp("adapters") / "random.gguf"
    export_lora_adapter(
        path, random_lora_state(**STORIES_SHAPE, scale=0.5), STORIES_BASE, alpha=8, name="r"
    )
    return path


def _answer(engine: LlamaEngine, text: str = "Once upon a time") -> str:
    assert engine.loaded is not None
    from localai_desktop.core.inference.generation import ChatTurn

    plan = plan_prompt(
        [ChatTurn("user", text)],
        engine.formatter,
        engine.tokenize,
        n_ctx=engine.loaded.n_ctx,
        max_tokens=GREEDY.max_tokens,
        bos_token_ids=engine.bos_token_ids,
    )
    pieces: list[str] = []
    engine.generate(plan, GREEDY, pieces.append)
    return "".join(pieces)


def test_a_valid_adapter_passes_the_check(adapter_file: Path) -> None:
    info = check_adapter_file(adapter_file, architecture="llama")
    assert (info.rank, info.alpha, info.tensor_count) == (4, 8.0, 2 * 7 * 5)


def _damaged_files(adapter_file: Path, folder: Path, stories260k: Path) -> dict[str, Path]:
    data = adapter_file.read_bytes()
    truncated = folder / "truncated.gguf"
    truncated.write_bytes(data[: len(data) // 2])
    flipped = folder / "flipped.gguf"
    flipped.write_bytes(data[:24] + b"\xff" * 8 + data[32:])  # the first key's length
    lonely = folder / "lonely.gguf"
    writer = GGUFWriter(lonely, "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", 8.0)
    import numpy as np

    writer.add_tensor("blk.0.attn_q.weight.lora_a", np.zeros((4, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {
        "incomplete": truncated,
        "damaged": flipped,
        "not a LoRA adapter": stories260k,
        "missing half": lonely,
        "random": gguf_factory.write_random_bytes(folder / "noise.gguf", 50_000),
    }


def test_damaged_adapters_are_refused_with_a_reason(
    adapter_file: Path, tmp_path: Path, stories260k: Path
) -> None:
    for expected, path in _damaged_files(adapter_file, tmp_path, stories260k).items():
        with pytest.raises(AdapterFileError) as caught:
            check_adapter_file(path, architecture="llama")
        message = caught.value.message
        assert "Train the adapter again" in message or "Choose" in message, message
        if expected != "random":
            assert expected in message, (expected, message)


def test_adapter_for_another_architecture_or_changed_file_is_refused(
    adapter_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(AdapterFileError, match="made for a llama model, not qwen2"):
        check_adapter_file(adapter_file, architecture="qwen2")
    with pytest.raises(AdapterFileError, match="has changed since it was trained"):
        check_adapter_file(adapter_file, expected_sha256="0" * 64)


ENGINE_REFUSES_CORRUPT_ADAPTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from localai_desktop.core.inference.engine import LlamaEngine
    from localai_desktop.core.models.adapter_file import AdapterFileError
    engine = LlamaEngine(n_threads=1)
    engine.load(Path(sys.argv[1]), n_ctx=256)
    try:
        engine.set_adapter(Path(sys.argv[2]))
    except AdapterFileError as error:
        print("REFUSED:", error.message)
    assert engine.adapter is None
    from localai_desktop.core.inference.generation import GenerationSettings
    from localai_desktop.core.inference.prompt import plan_prompt
    from localai_desktop.core.inference.generation import ChatTurn
    plan = plan_prompt([ChatTurn("user", "Hi")], engine.formatter, engine.tokenize, n_ctx=256,
                       max_tokens=8, bos_token_ids=engine.bos_token_ids)
    engine.generate(plan, GenerationSettings(max_tokens=8, seed=1), lambda text: None)
    print("STILL-ALIVE")
    """
)


def test_engine_refuses_a_corrupt_adapter_before_llama_cpp_reads_it(
    adapter_file: Path, tmp_path: Path, stories260k: Path
) -> None:
    # In a child process: if the file reached llama-cpp-python, the crash would be the result.
    truncated = _damaged_files(adapter_file, tmp_path, stories260k)["incomplete"]
    result = subprocess.run(
        [sys.executable, "-c", ENGINE_REFUSES_CORRUPT_ADAPTER, str(stories260k), str(truncated)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "REFUSED: The adapter file truncated.gguf is incomplete" in result.stdout
    assert "STILL-ALIVE" in result.stdout


def test_llama_cpp_refusing_an_adapter_for_another_shape_is_an_error_not_a_crash(
    stories260k: Path, tmp_path: Path
) -> None:
    # Right architecture, wrong shapes: our check passes, llama.cpp's loader says no (NULL).
    wrong = tmp_path / "wrong-shape.gguf"
    shape = {**STORIES_SHAPE, "n_embd": 32, "n_ff": 40}
    export_lora_adapter(wrong, random_lora_state(**shape), STORIES_BASE, alpha=8, name="w")
    engine = LlamaEngine(n_threads=1)
    engine.load(stories260k, n_ctx=256)
    try:
        with pytest.raises(AdapterFileError, match="does not fit the model"):
            engine.set_adapter(wrong)
        assert engine.adapter is None
        assert _answer(engine)
    finally:
        engine.unload()


def test_switching_adapters_keeps_the_model_loaded(stories260k: Path, adapter_file: Path) -> None:
    engine = LlamaEngine(n_threads=1)
    loaded = engine.load(stories260k, n_ctx=256)
    try:
        base = _answer(engine)
        engine.set_adapter(adapter_file, 1.0)
        tuned = _answer(engine)
        engine.set_adapter(adapter_file, 0.0)  # strength 0: the base model again
        assert _answer(engine) == base
        engine.set_adapter(None)
        assert _answer(engine) == base
        engine.set_adapter(adapter_file, 1.0)
        assert _answer(engine) == tuned
        assert tuned != base
        assert engine.loaded is loaded  # never reloaded
    finally:
        engine.unload()


def register_random_adapter(
    data_dir: Path, model_name: str, name: str, *, seed: int = 1
) -> Adapter:
    """A random (strong) adapter for stories260K imported as `model_name`, registered as the
    trainer registers one (no torch needed)."""
    paths = init_data_paths(data_dir)
    db = Database(paths.database)
    try:
        base = ModelRegistry(db, paths.root / "models").get(model_name)
        adapters = AdapterRegistry(db, paths.root / "adapters")
        adapters.adapters_dir.mkdir(parents=True, exist_ok=True)
        path = adapters.adapters_dir / f"{name}.gguf"
        state = random_lora_state(**STORIES_SHAPE, scale=0.5, seed=seed)
        metadata = {"localai.base_model.sha256": base.sha256}
        export_lora_adapter(path, state, STORIES_BASE, alpha=8, name=name, metadata=metadata)
        return adapters.register(
            name,
            path,
            base,
            settings={"rank": 4},
            dataset={"train_examples": 8},
            final_loss=0.05,
            final_val_loss=0.08,
            samples=[],
        )
    finally:
        db.close()


def test_cli_removes_an_adapter_and_its_file_and_answers_keep_their_provenance(
    data_dir: Path, stories260k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = init_data_paths(data_dir)
    db = Database(paths.database)
    registry = ModelRegistry(db, paths.root / "models")
    registry.import_model(stories260k, name="stories", probe=False)
    adapter = register_random_adapter(data_dir, "stories", "bluebell")
    adapters = AdapterRegistry(db, paths.root / "adapters")
    store = ConversationStore(db)
    chat = ChatService(store, registry, LlamaEngine(n_threads=1), adapters)
    conversation = store.create()
    try:
        answer = chat.send(
            conversation.id, "Once upon a time", model_id="stories", settings=GREEDY,
            adapter=AdapterChoice("bluebell"),
        )  # fmt: skip
    finally:
        chat.engine.unload()
    assert answer.status == "complete", answer.error

    data = ["--data-dir", str(data_dir)]
    assert main([*data, "adapters", "rm", "bluebell"]) == 0
    out = capsys.readouterr().out
    assert "Removed the adapter 'bluebell'" in out and str(adapter.path) in out
    assert not adapter.path.exists()
    assert adapters.list() == []
    assert main([*data, "adapters", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    kept = store.get(conversation.id).messages[-1]
    assert kept.id == answer.id
    assert kept.provenance["adapter_name"] == "bluebell"
    assert kept.provenance["adapter_sha256"] == adapter.sha256

    assert main([*data, "adapters", "rm", "bluebell"]) == 1
    assert "There is no adapter called 'bluebell'" in capsys.readouterr().err
    ask = [*data, "chat", "--model", "stories", "--adapter", "bluebell", "Hi"]
    assert main(ask) == 1
    assert "There is no adapter called 'bluebell'" in capsys.readouterr().err
    db.close()


def test_an_adapter_whose_file_cannot_be_deleted_stays_listed(
    data_dir: Path, stories260k: Path
) -> None:
    paths = init_data_paths(data_dir)
    db = Database(paths.database)
    ModelRegistry(db, paths.root / "models").import_model(stories260k, name="stories", probe=False)
    adapter = register_random_adapter(data_dir, "stories", "bluebell")
    # A folder in the file's place: unlink fails as it does on a file another program holds.
    adapter.path.unlink()
    adapter.path.mkdir()
    (adapter.path / "keep").write_text("x", encoding="utf-8")
    adapters = AdapterRegistry(db, paths.root / "adapters")
    with pytest.raises(
        LocalAIError, match=r"could not be deleted \(.*\), so the adapter was not removed"
    ):
        adapters.remove("bluebell")
    assert [a.name for a in adapters.list()] == ["bluebell"]
    db.close()


def test_a_sealed_adapter_works_after_its_plaintext_copy_is_gone(
    stories260k: Path, adapter_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The copy on disk (as on macOS and Windows) makes "gone" visible: llama.cpp reads every
    # tensor into its own buffers during the load, so the adapter keeps working without it.
    from localai_desktop.core.vault import scratch
    from localai_desktop.core.vault.workspace_files import WorkspaceFiles

    monkeypatch.setattr(scratch, "memory_files_supported", lambda: False)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    files = WorkspaceFiles(b"k" * 32)
    sealed = tmp_path / "adapter.sealed"
    files.write(sealed, adapter_file.read_bytes())
    seen: list[Path] = []

    @contextlib.contextmanager
    def opener(path: Path) -> Iterator[Path]:
        with files.readable(path, suffix=".gguf") as plain:
            seen.append(plain)
            assert plain.parent.parent == temp and plain.parent.stat().st_mode & 0o077 == 0
            yield plain

    engine = LlamaEngine(n_threads=1)
    engine.load(stories260k, n_ctx=256)
    try:
        engine.set_adapter(adapter_file, 1.0)
        expected = _answer(engine)
        engine.set_adapter(None)
        engine.set_adapter(sealed, 1.0, opener=opener)
        assert seen and not seen[0].exists() and list(temp.iterdir()) == []
        assert _answer(engine) == expected
    finally:
        engine.unload()
