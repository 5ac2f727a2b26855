"""Per-model figures of a run: accuracy, made-up answers, citation accuracy, speed, memory."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from localai_desktop.core.evaluation.store import EvalResult, EvalRun
from localai_desktop.core.inference.generation import AUTOMATIC_CONTEXT_LENGTH, GenerationSettings


@dataclass(frozen=True)
class TargetSummary:
    """One model's (and adapter's) figures, with the keys `localai eval run --json` prints."""

    model: str
    adapter: str | None
    total: int  # questions answered so far
    passed: int
    accuracy: float | None
    made_up: int  # should have said the documents do not say, and answered instead
    citation_accuracy: float | None  # None: no question had passages to cite
    ttft_ms_median: float | None
    tokens_per_second_median: float | None
    peak_memory_mb: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median(values: Sequence[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def summarize(run: EvalRun, results: Sequence[EvalResult]) -> list[TargetSummary]:
    summaries: list[TargetSummary] = []
    for index, target in enumerate(run.targets):
        mine = [r for r in results if r.target_index == index]
        passed = sum(1 for r in mine if r.passed)
        checked = [r.facts.get("citation_ok") for r in mine]
        checked = [c for c in checked if c is not None]
        memory = [r.facts.get("peak_memory_mb") for r in mine]
        present_memory = [float(m) for m in memory if m is not None]
        summaries.append(
            TargetSummary(
                model=target.model_name,
                adapter=target.adapter_name,
                total=len(mine),
                passed=passed,
                accuracy=round(passed / len(mine), 4) if mine else None,
                made_up=sum(1 for r in mine if r.facts.get("made_up")),
                citation_accuracy=(
                    round(sum(1 for c in checked if c) / len(checked), 4) if checked else None
                ),
                ttft_ms_median=_median([r.facts.get("ttft_ms") for r in mine]),
                tokens_per_second_median=_median([r.facts.get("tokens_per_second") for r in mine]),
                peak_memory_mb=round(max(present_memory), 1) if present_memory else None,
            )
        )
    return summaries


def memory_setting(settings: GenerationSettings) -> str:
    """The run's Memory choice in words: "Automatic" or "8,192 tokens"."""
    if settings.context_length <= AUTOMATIC_CONTEXT_LENGTH:
        return "Automatic"
    return f"{settings.context_length:,} tokens"


def context_tokens(run: EvalRun, results: Sequence[EvalResult]) -> list[int | None]:
    """Per target, the context (tokens) its model was loaded with; None: nothing answered yet
    (or a run from before this was recorded). Automatic chooses it per model, and a chosen
    Memory is capped at each model's own limit, so targets of one run may differ."""
    used: list[int | None] = [None] * len(run.targets)
    for result in results:
        value = result.facts.get("n_ctx")
        if isinstance(value, int) and 0 <= result.target_index < len(used):
            used[result.target_index] = value
    return used


def results_json(run: EvalRun, results: Sequence[EvalResult]) -> list[dict[str, Any]]:
    """Each result with the keys `localai eval run --json` prints."""
    rows: list[dict[str, Any]] = []
    for result in results:
        target = run.targets[result.target_index]
        rows.append(
            {
                "id": result.question_id,
                "model": target.model_name,
                "adapter": target.adapter_name,
                "passed": result.passed,
                "reason": result.reason,
                "answer": result.answer,
            }
        )
    return rows
