"""A fine-tuning dataset as a person reads it: one row per example, what it is used for, counts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from localai_desktop.core.finetune.dataset import DatasetReport, TrainingExample

USE_TRAINING = "Training"
USE_VALIDATION = "Validation"
USE_NOT_USED = "Not used"


@dataclass(frozen=True)
class DatasetRow:
    """One row of the dataset as shown: plain data, made on the worker's thread."""

    source: str
    use: str
    question: str = ""
    answer: str = ""
    earlier_messages: int = 0
    tokens: int | None = None
    problem: str = ""


@dataclass(frozen=True)
class DatasetSummary:
    """The counts above the table."""

    name: str
    rows: int
    train: int
    validation: int
    problems: int
    validation_share: float
    total_tokens: int


def dataset_rows(report: DatasetReport) -> tuple[DatasetRow, ...]:
    """Every row of the report, flagged ones included, in the order of the source file."""
    rows = [_row(e, USE_TRAINING, report) for e in report.examples]
    rows += [_row(e, USE_VALIDATION, report) for e in report.validation]
    rows += [DatasetRow(p.source, USE_NOT_USED, problem=p.reason) for p in report.problems]
    return tuple(sorted(rows, key=lambda r: _source_order(r.source)))


def dataset_summary(report: DatasetReport, validation_share: float) -> DatasetSummary:
    return DatasetSummary(
        name=report.name,
        rows=report.rows,
        train=len(report.examples),
        validation=len(report.validation),
        problems=len(report.problems),
        validation_share=validation_share,
        total_tokens=sum(report.token_counts.values()),
    )


def describe_summary(summary: DatasetSummary, *, short: bool = False) -> str:
    """The counts in a sentence: "letters.jsonl: 12 rows. 9 to train on, 1 held back..."."""
    if short:
        text = f"{summary.name}: {summary.train} to train on, {summary.validation} for validation"
        return text + (f", {summary.problems} not used." if summary.problems else ".")
    text = f"{summary.name}: {summary.rows} {'row' if summary.rows == 1 else 'rows'}. "
    text += f"{summary.train} to train on"
    if summary.validation:
        text += (
            f", {summary.validation} held back to check the learning (validation, "
            f"{summary.validation_share:.0%})"
        )
    elif summary.train:
        text += " (too few to hold any back for validation)"
    if summary.problems:
        text += f", {summary.problems} not used: the reasons are in red below"
    return text + "."


def problem_sentence(source: str, reason: str) -> str:
    """ "Line 4 has no 'prompt' text." or "Line 2: message 3 is empty." (reasons from the core)."""
    joiner = ": " if reason.startswith("message ") else " "
    return f"{source[:1].upper()}{source[1:]}{joiner}{reason}"


def _row(example: TrainingExample, use: str, report: DatasetReport) -> DatasetRow:
    users = [t.content for t in example.turns if t.role == "user"]
    answer = example.turns[-1].content if example.turns else ""
    chat = [t for t in example.turns if t.role != "system"]
    return DatasetRow(
        source=example.source,
        use=use,
        question=users[-1] if users else "",
        answer=answer,
        earlier_messages=max(0, len(chat) - 2),
        tokens=report.token_counts.get(example.source),
    )


def _source_order(source: str) -> tuple[int, str]:
    number = re.search(r"\d+", source)
    return (int(number.group()) if number else 0, source)
