"""Whether this install can train (the optional torch/transformers/peft extra), and which models."""

from __future__ import annotations

import importlib.util

from localai_desktop.core.common.child_process import is_frozen
from localai_desktop.core.common.errors import LocalAIError

INSTALL_HINT = "pip install 'localai-desktop[finetune]'"
# A packaged app cannot pip-install; fine-tuning comes with its larger edition (packaging/).
FROZEN_HINT = "Download the edition of LocalAI Desktop that includes fine-tuning (about 1 GB)"
TRAINING_PACKAGES = ("torch", "transformers", "peft")

# GGUF architectures transformers can load and whose linear layers the exporter can name for
# llama.cpp. llama and qwen2 are checked end to end by the tests (weights and logits).
TRAINABLE_ARCHITECTURES = frozenset({"llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"})


class TrainingUnavailableError(LocalAIError):
    """Fine-tuning needs packages (or a model) this install does not have."""


def missing_training_packages() -> list[str]:
    """The training packages that are not installed (found without importing them)."""
    return [name for name in TRAINING_PACKAGES if importlib.util.find_spec(name) is None]


def training_stack_problem() -> str | None:
    """None when training can run; otherwise a sentence saying how to enable it."""
    missing = missing_training_packages()
    if not missing:
        return None
    if is_frozen():
        return f"Fine-tuning is not included in this edition of the app. {FROZEN_HINT}."
    return (
        f"Fine-tuning needs extra packages that are not installed ({', '.join(missing)}). "
        f"Install them with: {INSTALL_HINT}"
    )


def require_training_stack() -> None:
    """Raise TrainingUnavailableError, saying how to install the extra, when it is missing."""
    problem = training_stack_problem()
    if problem is not None:
        missing = ", ".join(missing_training_packages())
        if is_frozen():
            raise TrainingUnavailableError(
                "Fine-tuning is not included in this edition of the app.",
                f"{FROZEN_HINT}, or use the app's Python package with the finetune extra.",
            )
        raise TrainingUnavailableError(
            f"Fine-tuning is not installed in this copy of the app (missing: {missing}).",
            f"Install it with: {INSTALL_HINT} (about 1 GB), then start the app again.",
        )


def untrainable_reason(architecture: str, *, is_embedding_model: bool = False) -> str | None:
    """Why a model cannot be fine-tuned here, or None when it can."""
    if is_embedding_model:
        return "It is an embedding model; only chat models can be fine-tuned."
    if architecture not in TRAINABLE_ARCHITECTURES:
        names = ", ".join(sorted(TRAINABLE_ARCHITECTURES))
        return (
            f"Its architecture ({architecture}) cannot be fine-tuned yet; supported are: {names}."
        )
    return None
