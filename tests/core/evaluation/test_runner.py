"""The evaluator: progress with time left, cancel keeps what was answered, resume finishes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.evaluation.metrics import summarize
from localai_desktop.core.evaluation.runner import EvalProgress, Evaluator
from localai_desktop.core.evaluation.store import EvalStore, RunStatus
from localai_desktop.core.evaluation.testset import parse_jsonl
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.storage.tables import ModelRow


@pytest.fixture
def evaluator(data_dir: Path, models_dir: Path) -> Iterator[Evaluator]:
    workspace = Workspace.open(data_dir)
    workspace.registry.import_model(models_dir / "stories260K.gguf", name="st", probe=False)
    chat = ChatService(workspace.conversations, workspace.registry, LlamaEngine())
    yield Evaluator(
        EvalStore(workspace.db), workspace.registry, workspace.adapters, workspace.documents, chat
    )
    chat.engine.unload()
    workspace.close()


QUESTIONS = parse_jsonl(
    "\n".join(
        f'{{"id": "q{i}", "question": "Tell me story {i}.", "expect": {{"contains": ["the"]}}}}'
        for i in range(4)
    )
)


def test_cancel_keeps_the_answers_so_far_and_resume_finishes_the_rest(
    evaluator: Evaluator,
) -> None:
    targets = evaluator.targets_for(["st", "st"])  # two entries, one loaded at a time
    run = evaluator.prepare("set", QUESTIONS, targets, GenerationSettings(max_tokens=24))
    assert run.settings.seed == 1  # a fixed seed: the same answers on resume and every run
    cancel = Cancellation()
    seen: list[EvalProgress] = []

    def on_progress(progress: EvalProgress) -> None:
        seen.append(progress)
        if progress.done == 3:
            cancel.set()

    stopped = evaluator.run(run.id, on_progress=on_progress, cancel=cancel)
    assert stopped.status is RunStatus.CANCELLED and stopped.done == 3
    assert seen[0].phase == "loading" and seen[0].target_label == "st"
    answering = [p for p in seen if p.phase == "answering"]
    assert [p.done for p in answering] == [1, 2, 3] and all(p.total == 8 for p in answering)
    assert answering[-1].seconds_left is not None and answering[-1].seconds_left > 0
    first_answers = [r.answer for r in evaluator.store.results(run.id)]

    finished = evaluator.run(run.id)
    assert finished.status is RunStatus.FINISHED and finished.done == 8
    results = evaluator.store.results(run.id)
    assert [r.answer for r in results[:3]] == first_answers  # kept, not answered again
    assert results[0].answer == results[4].answer  # same file, same seed: the same answer
    by_model = summarize(finished, results)
    assert [s.model for s in by_model] == ["st", "st"] and all(s.total == 4 for s in by_model)
    assert all(s.peak_memory_mb is not None for s in by_model)

    with pytest.raises(LocalAIError, match="already finished"):
        evaluator.run(run.id)


def test_a_model_whose_file_changed_is_refused_on_resume(evaluator: Evaluator) -> None:
    targets = evaluator.targets_for(["st"])
    run = evaluator.prepare("set", QUESTIONS[:1], [targets[0]], GenerationSettings(max_tokens=8))
    with evaluator.store.db.session() as session:  # as if the file had been replaced
        session.query(ModelRow).filter(ModelRow.name == "st").update({"sha256": "0" * 64})
    with pytest.raises(LocalAIError, match="fingerprint changed"):
        evaluator.run(run.id)
    assert evaluator.store.get(run.id).status is RunStatus.FAILED
