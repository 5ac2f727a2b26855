"""Without the optional training packages, fine-tuning says how to enable it instead of failing."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from localai_desktop.cli import main
from localai_desktop.core.finetune import stack
from localai_desktop.core.finetune.stack import TrainingUnavailableError, untrainable_reason
from tests.support.finetune_support import fact_jsonl


@pytest.fixture
def without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "torch" else real_find_spec(name, *args)

    monkeypatch.setattr(stack.importlib.util, "find_spec", find_spec)


def test_missing_training_packages_are_named_with_the_install_command(without_torch: None) -> None:
    assert stack.missing_training_packages() == ["torch"]
    with pytest.raises(TrainingUnavailableError) as caught:
        stack.require_training_stack()
    assert "pip install 'localai-desktop[finetune]'" in caught.value.message


def test_cli_prepares_without_the_extra_and_explains_how_to_train(
    without_torch: None, data_dir: Path, stories260k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--data-dir", str(data_dir)]
    assert main([*base, "models", "import", str(stories260k), "--name", "stories"]) == 0
    data = fact_jsonl(data_dir / "fact.jsonl", copies=3)
    with data.open("a") as f:
        f.write('{"prompt": "no answer"}\n')
    capsys.readouterr()
    assert main([*base, "finetune", "prepare", str(data), "--base", "stories", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["train_examples"] == 3
    assert report["problems"] == [{"source": "line 4", "reason": "has no 'completion' text."}]
    assert report["estimate"]["problem"] is None
    run = ["finetune", "run", "--base", "stories", "--data", str(data), "--name", "x"]
    assert main([*base, *run]) == 1
    assert "pip install 'localai-desktop[finetune]'" in capsys.readouterr().err


def test_models_that_cannot_be_tuned_say_why() -> None:
    assert untrainable_reason("llama") is None
    assert "embedding model" in (untrainable_reason("bert", is_embedding_model=True) or "")
    assert "mamba" in (untrainable_reason("mamba") or "")
