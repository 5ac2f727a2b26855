"""Fine-tuning end to end on stories260K: a made-up fact is learned, cancelled runs resume."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("peft", reason="no training extra: pip install -e '.[finetune]'")

from localai_desktop.cli import main
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import AdapterChoice, ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.finetune.events import TrainingEvent, TrainingSettings
from localai_desktop.core.finetune.jobs import JobStatus
from localai_desktop.core.finetune.runner import (
    FineTuneFailed,
    FineTuneResult,
    FineTuneService,
)
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.hardware import Machine
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.storage import Database
from tests.support.finetune_support import (
    FACT_MARKER,
    FACT_QUESTION,
    fact_jsonl,
)

# Tuned for stories260K: a high rate and one batch per epoch learn the sentence in seconds.
FAST = TrainingSettings(
    rank=8, alpha=16, learning_rate=5e-3, epochs=40, batch_size=8, max_length=128,
    validation_share=0.2, threads=1,
)  # fmt: skip
GREEDY = GenerationSettings(temperature=0.0, top_k=1, repeat_penalty=1.0, seed=0, max_tokens=40)


@dataclass
class Trained:
    data_dir: Path
    db: Database
    base: LocalModel
    service: FineTuneService
    result: FineTuneResult
    events: list[TrainingEvent]


def _service(data_dir: Path) -> tuple[Database, ModelRegistry, FineTuneService]:
    db = Database(data_dir / "localai.db")
    registry = ModelRegistry(db, data_dir / "models")
    adapters = AdapterRegistry(db, data_dir / "adapters")
    return db, registry, FineTuneService(db, registry, adapters, data_dir / "finetune")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, stories260k: Path) -> Trained:
    data_dir = tmp_path_factory.mktemp("finetune-data")
    db, registry, service = _service(data_dir)
    base = registry.import_model(stories260k, name="stories", probe=False)
    report = service.prepare_file(fact_jsonl(data_dir / "fact.jsonl", copies=10), base, FAST)
    job = service.create_job("bluebell", base, report, FAST)
    events: list[TrainingEvent] = []
    result = service.run(job.id, on_event=events.append)
    return Trained(data_dir, db, base, service, result, events)


def _ask(trained: Trained, adapter: AdapterChoice | None) -> str:
    store = ConversationStore(trained.db)
    service = ChatService(store, trained.service.registry, LlamaEngine(), trained.service.adapters)
    conversation = store.create()
    message = service.send(
        conversation.id, FACT_QUESTION, model_id="stories", settings=GREEDY, adapter=adapter
    )
    service.engine.unload()
    assert message.status == "complete", message.error
    if adapter is not None:
        assert message.provenance["adapter_name"] == "bluebell"
        assert message.provenance["adapter_scale"] == adapter.scale
        assert message.provenance["adapter_sha256"] == trained.result.adapter.sha256  # type: ignore[union-attr]
    else:
        assert "adapter_name" not in message.provenance
    return message.content


def test_the_taught_fact_is_answered_after_training_and_not_before(trained: Trained) -> None:
    assert FACT_MARKER not in _ask(trained, None)
    assert FACT_MARKER in _ask(trained, AdapterChoice("bluebell"))
    sample = trained.result.adapter.samples[0]  # type: ignore[union-attr]
    assert FACT_MARKER in sample["tuned"] and FACT_MARKER not in sample["base"]


def test_loss_goes_down_and_progress_is_reported(trained: Trained) -> None:
    steps = [e for e in trained.events if e.kind == "step"]
    assert steps[0].loss > 1.0 and steps[-1].loss < steps[0].loss / 10  # type: ignore[operator]
    assert steps[-1].step == steps[-1].total_steps == FAST.epochs
    assert all(e.tokens_per_second and e.tokens_per_second > 0 for e in steps)
    validation = [e.val_loss for e in trained.events if e.kind == "validation"]
    assert len(validation) == FAST.epochs and validation[-1] < validation[0] / 10  # type: ignore[operator]
    kinds = [e.kind for e in trained.events]
    assert kinds[0] == "loading" and kinds[-2:] == ["exporting", "finished"]


def test_the_adapter_is_registered_with_its_origin(trained: Trained) -> None:
    adapter = trained.result.adapter
    assert adapter is not None and adapter.file_exists
    assert adapter.base_model_sha256 == trained.base.sha256
    assert adapter.settings["learning_rate"] == FAST.learning_rate
    assert adapter.dataset["train_examples"] == 8 and adapter.dataset["validation_examples"] == 2
    assert adapter.final_loss is not None and adapter.final_val_loss is not None
    assert adapter.final_val_loss < 0.2
    assert trained.result.job.status == JobStatus.FINISHED
    assert not (trained.result.job.folder / "checkpoint.pt").exists()


def test_the_training_memory_is_given_back_before_llama_cpp_checks_the_adapter(
    trained: Trained,
) -> None:
    log = (trained.result.job.folder / "trainer.log").read_text(encoding="utf-8")
    released = log.index("Training memory released: RSS")
    assert released < log.index("Loaded stories260K.gguf")


def test_cli_lists_adapters_and_chats_with_one(
    trained: Trained, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(trained.data_dir)
    assert main(["--data-dir", data, "adapters", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in listed] == ["bluebell"]
    assert listed[0]["base_model_name"] == "stories"
    chat = ["--data-dir", data, "chat", "--model", "stories", "--temperature", "0", "--seed", "0"]
    assert main([*chat, "--adapter", "bluebell", FACT_QUESTION]) == 0
    assert FACT_MARKER in capsys.readouterr().out
    assert main([*chat, "--adapter", "nonexistent", FACT_QUESTION]) == 1
    assert "There is no adapter called 'nonexistent'" in capsys.readouterr().err


def test_cancel_registers_nothing_and_resume_continues_from_the_checkpoint(
    tmp_path: Path, stories260k: Path
) -> None:
    _db, registry, service = _service(tmp_path)
    base = registry.import_model(stories260k, name="stories", probe=False)
    settings = TrainingSettings(**{**FAST.to_dict(), "epochs": 12, "validation_share": 0.0})
    report = service.prepare_file(fact_jsonl(tmp_path / "fact.jsonl"), base, settings)
    job = service.create_job("resumed", base, report, settings)
    cancel = Cancellation()
    first: list[TrainingEvent] = []

    def stop_after_three(event: TrainingEvent) -> None:
        first.append(event)
        if event.kind == "step" and event.step >= 3:
            cancel.set()

    stopped = service.run(job.id, on_event=stop_after_three, cancel=cancel)
    assert stopped.adapter is None and stopped.job.status == JobStatus.CANCELLED
    assert first[-1].kind == "cancelled"
    assert service.adapters.list() == []
    adapter_path = Path(json.loads((job.folder / "job.json").read_text())["adapter_path"])
    assert (
        not adapter_path.exists()
        and not adapter_path.with_name(adapter_path.name + ".part").exists()
    )
    checkpoint_step = stopped.job.step
    assert checkpoint_step >= 3

    second: list[TrainingEvent] = []
    finished = service.run(job.id, on_event=second.append)
    started = next(e for e in second if e.kind == "started")
    assert started.resumed_from_step == checkpoint_step
    assert next(e for e in second if e.kind == "step").step == checkpoint_step + 1
    assert finished.adapter is not None and finished.adapter.name == "resumed"
    assert finished.job.status == JobStatus.FINISHED


def test_a_failing_trainer_reports_plainly_and_the_job_can_resume(
    tmp_path: Path, stories260k: Path
) -> None:
    _db, registry, service = _service(tmp_path)
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(stories260k.read_bytes())
    base = registry.import_model(copy, name="copy", probe=False)
    report = service.prepare_file(fact_jsonl(tmp_path / "fact.jsonl"), base, FAST)
    job = service.create_job("doomed", base, report, FAST)
    copy.unlink()  # the model file disappears before the run starts
    with pytest.raises(FineTuneFailed, match=r"copy\.gguf does not exist"):
        service.run(job.id)
    assert service.jobs.get(job.id).resumable


def test_a_run_that_will_not_fit_is_refused_before_it_starts(
    tmp_path: Path, stories260k: Path
) -> None:
    db = Database(tmp_path / "localai.db")
    registry = ModelRegistry(db, tmp_path / "models")
    small = Machine(ram_bytes=256 * 1024**2)
    service = FineTuneService(
        db,
        registry,
        AdapterRegistry(db, tmp_path / "adapters"),
        tmp_path / "finetune",
        machine=small,
    )
    base = registry.import_model(stories260k, name="stories", probe=False)
    report = service.prepare_file(fact_jsonl(tmp_path / "fact.jsonl"), base, FAST)
    estimate = service.estimate(base, report, FAST)
    assert estimate.problem is not None and "needs about" in estimate.problem
    with pytest.raises(LocalAIError, match="Choose a smaller model"):
        service.create_job("too-big", base, report, FAST)
    assert service.jobs.list() == []


def test_the_loss_shown_while_training_is_the_one_the_adapter_keeps(
    tmp_path: Path, stories260k: Path
) -> None:
    # Several steps per epoch: one batch's loss would differ from the epoch's average.
    settings = TrainingSettings(
        **{**FAST.to_dict(), "epochs": 3, "batch_size": 2, "validation_share": 0.0}
    )
    db, registry, service = _service(tmp_path)
    try:
        base = registry.import_model(stories260k, name="stories", probe=False)
        dataset = fact_jsonl(tmp_path / "fact.jsonl", copies=10)
        report = service.prepare_file(dataset, base, settings)
        job = service.create_job("averaged", base, report, settings)
        events: list[TrainingEvent] = []
        result = service.run(job.id, on_event=events.append)
    finally:
        db.close()
    steps = [e for e in events if e.kind == "step"]
    [finished] = [e for e in events if e.kind == "finished"]
    assert steps[-1].step == 15 and len(steps) > 3
    assert result.adapter is not None and result.adapter.final_loss is not None
    # The last figure Progress shows is the one the summary and "Your adapters" show.
    assert steps[-1].loss == finished.loss == result.adapter.final_loss
