"""Fine-tuning in a protected workspace: nothing derived from the examples is left in plaintext.

The examples carry a made-up word. After training (also one killed mid-way and resumed), chat
with the adapter, and protecting a workspace that already had plaintext training files, every
byte under the data folder and the temporary folder the app used is searched for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import tempfile
from pathlib import Path

import psutil
import pytest

pytest.importorskip("peft", reason="no training extra: pip install -e '.[finetune]'")

from localai_desktop.cli import main
from localai_desktop.core.chat.service import AdapterChoice, ChatService
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.protection import needs_finishing, protect
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory
from localai_desktop.core.finetune.dataset import read_examples
from localai_desktop.core.finetune.events import TrainingEvent, TrainingSettings
from localai_desktop.core.finetune.exporter import BaseShape, export_lora_adapter
from localai_desktop.core.finetune.jobs import JobStatus
from localai_desktop.core.finetune.runner import FineTuneFailed
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.vault.sealed_files import is_sealed
from tests.support.finetune_support import STORIES_SHAPE, random_lora_state

PASSPHRASE = "staple battery horse"
WORD = b"quokkamoon"
QUESTION = "When is the Quokkamoon Clinic open?"
ANSWER = "The Quokkamoon Clinic is open from 7am to 9pm on Sundays."
MARKER = "7am to 9pm"
NAME = "Quokkamoon letters"  # the adapter's name must not show in a file name either
FAST = TrainingSettings(
    rank=8, alpha=16, learning_rate=5e-3, epochs=40, batch_size=8, max_length=128,
    validation_share=0.2, threads=1,
)  # fmt: skip
GREEDY = GenerationSettings(temperature=0.0, top_k=1, repeat_penalty=1.0, seed=0, max_tokens=40)


@pytest.fixture
def app_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the app (and its trainer child) uses during the test."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _dataset(folder: Path, copies: int = 10) -> Path:
    """The person's own file, outside the data folder (theirs to keep or delete)."""
    folder.mkdir(parents=True, exist_ok=True)
    row = json.dumps({"prompt": QUESTION, "completion": ANSWER})
    path = folder / "letters.jsonl"
    path.write_text("\n".join([row] * copies) + "\n", encoding="utf-8")
    return path


def _protected_workspace(root: Path) -> Workspace:
    info = WorkspaceDirectory(DataPaths(root)).create("Clinic")
    info.key_file.create(PASSPHRASE)
    return Workspace.open(root, workspace="Clinic", passphrase=lambda _i: PASSPHRASE)


def _where_the_word_is(*folders: Path) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if WORD in str(path).lower().encode():
                found.append(f"name: {path}")
            elif path.is_file() and not path.is_symlink() and WORD in path.read_bytes().lower():
                found.append(f"content: {path}")
    return found


def _unsealed(ws: Workspace) -> list[Path]:
    return [
        p
        for folder in (ws.paths.adapters, ws.paths.finetune)
        for p in folder.rglob("*")
        if p.is_file() and p.stat().st_size > 0 and not is_sealed(p)
    ]


def _ask(ws: Workspace, adapter: str) -> str:
    chat = ChatService(ws.conversations, ws.registry, LlamaEngine(n_threads=1), ws.adapters)
    conversation = ws.conversations.create()
    try:
        message = chat.send(
            conversation.id, QUESTION, model_id="stories", settings=GREEDY,
            adapter=AdapterChoice(adapter),
        )  # fmt: skip
    finally:
        chat.engine.unload()
    assert message.status == "complete", message.error
    assert message.provenance["adapter_sha256"] == ws.adapters.get(adapter).sha256
    return message.content


def test_training_and_chat_in_a_protected_workspace_leave_no_plaintext(
    tmp_path: Path, app_temp: Path, stories260k: Path
) -> None:
    root = tmp_path / "data"
    with _protected_workspace(root) as ws:
        base = ws.registry.import_model(stories260k, name="stories", probe=False)
        report = ws.finetune.prepare_file(_dataset(tmp_path / "mine"), base, FAST)
        job = ws.finetune.create_job(NAME, base, report, FAST)
        events: list[TrainingEvent] = []
        result = ws.finetune.run(job.id, on_event=events.append)
        adapter = result.adapter
        assert adapter is not None and result.job.status == JobStatus.FINISHED
        # Stored sealed, under a name that says nothing; fingerprinted as its plaintext.
        assert is_sealed(adapter.path) and adapter.path.name == f"job-{job.id}-adapter.sealed"
        assert ws.vault is not None
        plaintext = ws.vault.read(adapter.path)
        assert plaintext.startswith(b"GGUF")
        assert adapter.sha256 == hashlib.sha256(plaintext).hexdigest()
        assert adapter.file_size == len(plaintext)
        # llama.cpp checked it in the trainer, and chat loads it and has learned the fact.
        assert MARKER in adapter.samples[0]["tuned"]
        assert MARKER in _ask(ws, NAME)
        assert "Training memory released" in ws.finetune.read_log(result.job)
        assert _unsealed(ws) == []
    assert _where_the_word_is(root, app_temp) == []
    assert list(app_temp.iterdir()) == []  # no scratch copy left behind either


def test_a_trainer_killed_mid_run_leaves_nothing_plaintext_and_resumes(
    tmp_path: Path, app_temp: Path, stories260k: Path
) -> None:
    # Many short steps with frequent checkpoints: the kill lands while training runs.
    settings = TrainingSettings(
        **{**FAST.to_dict(), "epochs": 30, "batch_size": 2, "validation_share": 0.0,
           "checkpoint_every": 5}
    )  # fmt: skip
    root = tmp_path / "data"
    with _protected_workspace(root) as ws:
        base = ws.registry.import_model(stories260k, name="stories", probe=False)
        report = ws.finetune.prepare_file(_dataset(tmp_path / "mine", copies=8), base, settings)
        job = ws.finetune.create_job(NAME, base, report, settings)
        killed: list[int] = []

        def kill_after_a_checkpoint(event: TrainingEvent) -> None:
            if event.kind == "checkpoint" and event.step >= 10 and not killed:
                for child in psutil.Process().children(recursive=True):
                    if "trainer_child" in " ".join(child.cmdline()):
                        os.kill(child.pid, signal.SIGKILL)
                        killed.append(event.step)

        with pytest.raises(FineTuneFailed, match="stopped unexpectedly"):
            ws.finetune.run(job.id, on_event=kill_after_a_checkpoint)
        assert killed
        assert ws.finetune.has_checkpoint(ws.finetune.jobs.get(job.id))
        assert _unsealed(ws) == []
        assert _where_the_word_is(root, app_temp) == []

        resumed: list[TrainingEvent] = []
        result = ws.finetune.run(job.id, on_event=resumed.append)
        started = next(e for e in resumed if e.kind == "started")
        assert started.resumed_from_step >= killed[0]
        assert result.adapter is not None and is_sealed(result.adapter.path)
        assert _unsealed(ws) == []
    assert _where_the_word_is(root, app_temp) == []


STORIES_BASE = BaseShape("llama", STORIES_SHAPE["n_layers"], 8, 4)


def test_protecting_a_workspace_seals_its_existing_adapters_and_training_files(
    tmp_path: Path,
    app_temp: Path,
    stories260k: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "data"
    with Workspace.open(root) as ws:  # the default workspace, not protected yet
        base = ws.registry.import_model(stories260k, name="stories", probe=False)
        report = ws.finetune.prepare_file(_dataset(tmp_path / "mine"), base, FAST)
        job = ws.finetune.create_job("letters", base, report, FAST, check_memory=False)
        # What a run left: a log, a checkpoint, an abandoned temporary checkpoint, an adapter.
        (job.folder / "trainer.log").write_text(f"Answered: {ANSWER}\n", encoding="utf-8")
        (job.folder / "checkpoint.pt").write_bytes(b"PK weights " + WORD)
        (job.folder / ".checkpoint-abandoned.tmp").write_bytes(b"PK weights " + WORD)
        path = ws.adapters.adapters_dir / "letters-1.gguf"
        ws.adapters.adapters_dir.mkdir(parents=True, exist_ok=True)
        state = random_lora_state(**STORIES_SHAPE, scale=0.5)
        metadata = {"localai.base_model.sha256": base.sha256, "note": ANSWER}
        export_lora_adapter(path, state, STORIES_BASE, alpha=8, name="letters", metadata=metadata)
        adapter = ws.adapters.register(
            "letters", path, base, settings={}, dataset={}, final_loss=None,
            final_val_loss=None, samples=[],
        )  # fmt: skip
        plain_answer = _ask(ws, "letters")
    assert _where_the_word_is(root) != []

    paths = DataPaths(root)
    protect(paths, PASSPHRASE)
    assert not needs_finishing(paths)
    assert _where_the_word_is(root, app_temp) == []
    with Workspace.open(root, passphrase=lambda _i: PASSPHRASE) as ws:
        assert _unsealed(ws) == []
        assert not (job.folder / ".checkpoint-abandoned.tmp").exists()
        # Everything still works, and the adapter is the same one (the audit trail's sha256).
        kept = ws.adapters.get("letters")
        assert kept.sha256 == adapter.sha256 and is_sealed(kept.path)
        assert kept.path.name == f"adapter-{adapter.id}.sealed" and not path.exists()
        assert _ask(ws, "letters") == plain_answer
        examples = read_examples(job.folder / "train.jsonl", ws.finetune.files)
        assert examples and examples[0].turns[-1].content == ANSWER
        assert ANSWER in ws.finetune.read_log(ws.finetune.jobs.get(job.id))
    monkeypatch.setenv("LOCALAI_PASSPHRASE", PASSPHRASE)
    assert main(["--data-dir", str(root), "finetune", "log", "letters"]) == 0
    assert ANSWER in capsys.readouterr().out
    assert _where_the_word_is(root, app_temp) == []
