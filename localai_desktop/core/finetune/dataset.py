"""Training examples from JSONL, CSV or saved conversations; every bad row is reported with why.

Accepted inputs (one example per row):

- JSONL with chat messages: ``{"messages": [{"role": "user", "content": "..."},
  {"role": "assistant", "content": "..."}]}`` (an optional leading "system" message);
- JSONL with ``{"prompt": "...", "completion": "..."}`` (an optional "system");
- CSV with two columns, instruction and answer (a header row such as "instruction,answer"
  is recognised and skipped);
- answers picked from the person's own saved conversations (each with the history before it).

Nothing is dropped silently: a row that cannot be used becomes a `RowProblem` saying where it
is and what is wrong, and the report keeps it next to the usable examples.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localai_desktop.core.chat.conversations import ConversationStore, MessageStatus
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.vault.workspace_files import WorkspaceFiles

ROLES = ("system", "user", "assistant")
CSV_HEADER_WORDS = {
    "instruction",
    "instructions",
    "prompt",
    "question",
    "input",
    "answer",
    "answers",
    "completion",
    "response",
    "output",
}
# Validation share used when a person does not choose one; small datasets keep every example.
DEFAULT_VALIDATION_SHARE = 0.1
MIN_EXAMPLES_FOR_VALIDATION = 5
# Far more than a LoRA run on a desktop can learn from; the file is read whole into memory.
MAX_DATASET_BYTES = 512 * 1024**2


class DatasetError(LocalAIError):
    """The dataset file as a whole cannot be read (missing, wrong format, not text)."""


@dataclass(frozen=True)
class TrainingExample:
    """One conversation to learn from; only its assistant turns are learned."""

    source: str  # where it came from, for people: "line 4", "row 7", "message 12"
    turns: tuple[ChatTurn, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "messages": [{"role": t.role, "content": t.content} for t in self.turns],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingExample:
        turns = tuple(ChatTurn(m["role"], m["content"]) for m in data["messages"])
        return cls(str(data.get("source", "")), turns)


@dataclass(frozen=True)
class RowProblem:
    """A row that will not be trained on, and why, in words a person understands."""

    source: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason}


@dataclass
class DatasetReport:
    """What was read: usable examples, flagged rows, and the train/validation split."""

    name: str
    examples: list[TrainingExample] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    validation: list[TrainingExample] = field(default_factory=list)
    # Token count of each usable example (train and validation), filled by the length check.
    token_counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.examples) + len(self.validation) + len(self.problems)

    @property
    def train(self) -> list[TrainingExample]:
        return self.examples

    def to_json(self) -> dict[str, Any]:
        counts = list(self.token_counts.values())
        return {
            "name": self.name,
            "rows": self.rows,
            "train_examples": len(self.examples),
            "validation_examples": len(self.validation),
            "problems": [p.to_json() for p in self.problems],
            "longest_example_tokens": max(counts) if counts else None,
            "total_tokens": sum(counts),
        }


# -- readers ----------------------------------------------------------------------------------


def load_dataset_file(path: str | Path) -> DatasetReport:
    """Read a .jsonl/.json or .csv file; rows that cannot be used are reported, not dropped."""
    path = Path(path).expanduser()
    try:
        mode = path.stat().st_mode
    except OSError:
        raise DatasetError(
            f"There is no file at {path}.", "Check the path and try again."
        ) from None
    if not stat.S_ISREG(mode):
        # A folder, a pipe or a device: reading a pipe would wait for ever.
        raise DatasetError(
            f"{path.name} is not a regular file.", "Choose a .jsonl or .csv file instead."
        )
    if path.stat().st_size > MAX_DATASET_BYTES:
        raise DatasetError(
            f"{path.name} is too large for a fine-tuning dataset "
            f"(over {MAX_DATASET_BYTES // 1024**2} MB).",
            "Use a smaller file: a few thousand good examples are plenty.",
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{path.name} is not a text file in UTF-8 (byte {error.start} cannot be read).",
            "Save it again as UTF-8 text (in Excel: 'CSV UTF-8'), then import it.",
        ) from None
    except OSError as error:
        raise DatasetError(f"{path.name} could not be read: {error.strerror}.") from None
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        report = parse_jsonl(text, name=path.name)
    elif suffix in (".csv", ".tsv"):
        report = parse_csv(text, name=path.name, delimiter="\t" if suffix == ".tsv" else ",")
    else:
        raise DatasetError(
            f"{path.name} is neither a JSONL nor a CSV file.",
            "Use a .jsonl file (one example per line) or a .csv file with two columns: "
            "instruction and answer.",
        )
    if not report.examples and not report.problems:
        raise DatasetError(f"{path.name} is empty.", "Add some examples to it first.")
    return report


def parse_jsonl(text: str, *, name: str = "dataset") -> DatasetReport:
    """One example per line, in the chat `messages` or the `prompt`/`completion` format."""
    report = DatasetReport(name)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        source = f"line {number}"
        try:
            data = json.loads(line)
        except RecursionError:
            report.problems.append(RowProblem(source, "is nested too deeply to be an example."))
            continue
        except json.JSONDecodeError as error:
            report.problems.append(RowProblem(source, f"is not valid JSON ({error.msg})."))
            continue
        except ValueError:  # an integer past Python's digit limit
            report.problems.append(
                RowProblem(
                    source,
                    f"holds a number too long to read (over {sys.get_int_max_str_digits():,} "
                    "digits).",
                )
            )
            continue
        turns_or_reason = _turns_from_json(data)
        if isinstance(turns_or_reason, str):
            report.problems.append(RowProblem(source, turns_or_reason))
        else:
            report.examples.append(TrainingExample(source, turns_or_reason))
    return report


def _turns_from_json(data: object) -> tuple[ChatTurn, ...] | str:
    if not isinstance(data, dict):
        return 'is not a JSON object (expected {"messages": [...]} or prompt/completion).'
    if "messages" in data:
        messages = data["messages"]
        if not isinstance(messages, list) or not messages:
            return "has a 'messages' field that is not a list of messages."
        turns: list[ChatTurn] = []
        for index, message in enumerate(messages, start=1):
            if not isinstance(message, dict):
                return f"message {index} is not an object with 'role' and 'content'."
            role, content = message.get("role"), message.get("content")
            if role not in ROLES:
                return f"message {index} has the role {role!r}; use system, user or assistant."
            if not isinstance(content, str):
                return f"message {index} has no text in 'content'."
            turns.append(ChatTurn(role, content))
        return _check_turns(turns)
    if "prompt" in data or "completion" in data:
        prompt, completion = data.get("prompt"), data.get("completion")
        if not isinstance(prompt, str):
            return "has no 'prompt' text."
        if not isinstance(completion, str):
            return "has no 'completion' text."
        turns = [ChatTurn("user", prompt), ChatTurn("assistant", completion)]
        system = data.get("system")
        if isinstance(system, str) and system.strip():
            turns.insert(0, ChatTurn("system", system))
        return _check_turns(turns)
    return "has neither 'messages' nor 'prompt' and 'completion'."


def _check_turns(turns: Sequence[ChatTurn]) -> tuple[ChatTurn, ...] | str:
    """The turns of a usable example, or why they are not usable."""
    for index, turn in enumerate(turns, start=1):
        if not turn.content.strip() and turn.role != "system":
            return f"message {index} ({turn.role}) is empty."
    if any(t.role == "system" for t in turns[1:]):
        return "has a system message that is not the first message."
    chat = [t for t in turns if t.role != "system"]
    if not chat or chat[0].role != "user":
        return "does not start with a user message."
    for earlier, later in itertools.pairwise(chat):
        if earlier.role == later.role:
            return "has two messages in a row from the same role; user and assistant alternate."
    if chat[-1].role != "assistant":
        return "does not end with an assistant answer to learn from."
    return tuple(turns)


def parse_csv(text: str, *, name: str = "dataset", delimiter: str = ",") -> DatasetReport:
    """Two columns, instruction and answer; an optional header row is recognised and skipped."""
    report = DatasetReport(name)
    try:
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter, strict=True))
    except csv.Error as error:
        raise DatasetError(
            f"{name} is not a readable CSV file ({error}).",
            "Open it in a spreadsheet program and save it again as CSV.",
        ) from None
    for number, row in enumerate(rows, start=1):
        source = f"row {number}"
        if not row or all(not cell.strip() for cell in row):
            continue
        if number == 1 and _looks_like_header(row):
            continue
        cells = [cell for cell in row]
        while len(cells) > 2 and not cells[-1].strip():
            cells.pop()  # spreadsheets often add empty trailing columns
        if len(cells) != 2:
            report.problems.append(
                RowProblem(
                    source,
                    f"has {len(cells)} columns; it needs exactly two (instruction, answer).",
                )
            )
            continue
        turns_or_reason = _check_turns(
            [ChatTurn("user", cells[0]), ChatTurn("assistant", cells[1])]
        )
        if isinstance(turns_or_reason, str):
            reason = turns_or_reason.replace("message 1 (user)", "the instruction").replace(
                "message 2 (assistant)", "the answer"
            )
            report.problems.append(RowProblem(source, reason))
        else:
            report.examples.append(TrainingExample(source, turns_or_reason))
    return report


def _looks_like_header(row: Sequence[str]) -> bool:
    return any(cell.strip().lower() in CSV_HEADER_WORDS for cell in row)


def examples_from_conversations(
    store: ConversationStore, answer_ids: Iterable[int], *, name: str = "saved conversations"
) -> DatasetReport:
    """Each picked assistant answer, with its conversation up to it, becomes one example."""
    report = DatasetReport(name)
    wanted = list(dict.fromkeys(answer_ids))
    found: set[int] = set()
    for conversation in store.list():
        full = store.get(conversation.id)
        for position, message in enumerate(full.messages):
            if message.id not in wanted:
                continue
            found.add(message.id)
            source = f"message {message.id}"
            if message.role != "assistant":
                report.problems.append(RowProblem(source, "is not an answer of the assistant."))
                continue
            if message.status != MessageStatus.COMPLETE:
                report.problems.append(
                    RowProblem(source, f"is an unfinished answer ({message.status}).")
                )
                continue
            history = [
                ChatTurn(m.role, m.content)
                for m in full.messages[: position + 1]
                if m.status == MessageStatus.COMPLETE and m.content.strip()
            ]
            if full.system_prompt.strip():
                history.insert(0, ChatTurn("system", full.system_prompt))
            turns_or_reason = _check_turns(_merge_repeated_roles(history))
            if isinstance(turns_or_reason, str):
                report.problems.append(RowProblem(source, turns_or_reason))
            else:
                report.examples.append(TrainingExample(source, turns_or_reason))
    for missing in wanted:
        if missing not in found:
            report.problems.append(RowProblem(f"message {missing}", "no longer exists."))
    return report


def _merge_repeated_roles(turns: list[ChatTurn]) -> list[ChatTurn]:
    # A failed answer left out of the history can leave two user messages in a row.
    merged: list[ChatTurn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role and turn.role != "system":
            merged[-1] = ChatTurn(turn.role, f"{merged[-1].content}\n\n{turn.content}")
        else:
            merged.append(turn)
    return merged


# -- checks and split -------------------------------------------------------------------------


def flag_long_examples(report: DatasetReport, counts: Sequence[int], max_length: int) -> None:
    """Move examples longer than `max_length` tokens into the problems (counts in order)."""
    kept: list[TrainingExample] = []
    for example, count in zip(report.examples, counts, strict=True):
        if count > max_length:
            report.problems.append(
                RowProblem(
                    example.source,
                    f"is too long: {count} tokens, and the limit is {max_length}. Shorten it "
                    "or raise the maximum length (which needs more memory).",
                )
            )
        else:
            kept.append(example)
            report.token_counts[example.source] = count
    report.examples = kept


def split_validation(
    report: DatasetReport, share: float = DEFAULT_VALIDATION_SHARE, *, seed: int = 0
) -> None:
    """Set aside a random share of the examples to measure learning on unseen text.

    With fewer than MIN_EXAMPLES_FOR_VALIDATION examples, or share 0, everything trains.
    The same data and seed always give the same split, so a resumed run sees the same one.
    """
    everything = report.examples + report.validation
    count = round(len(everything) * share) if len(everything) >= MIN_EXAMPLES_FOR_VALIDATION else 0
    if share > 0 and len(everything) >= MIN_EXAMPLES_FOR_VALIDATION:
        count = max(1, count)
    order = list(range(len(everything)))
    random.Random(seed).shuffle(order)
    held_out = set(order[:count])
    report.validation = [e for i, e in enumerate(everything) if i in held_out]
    report.examples = [e for i, e in enumerate(everything) if i not in held_out]


def write_examples(
    path: Path, examples: Iterable[TrainingExample], files: WorkspaceFiles | None = None
) -> None:
    """Save examples as JSONL (the job folder's copy, so the source file may change later);
    sealed when `files` belong to a protected workspace."""
    lines = [json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in examples]
    (files or WorkspaceFiles()).write(path, "".join(lines).encode("utf-8"))


def read_examples(path: Path, files: WorkspaceFiles | None = None) -> list[TrainingExample]:
    text = (files or WorkspaceFiles()).read(path).decode("utf-8")
    # Split on "\n" only: JSON written with ensure_ascii=False keeps U+2028 inside strings.
    lines = [line for line in text.split("\n") if line.strip()]
    return [TrainingExample.from_json(json.loads(line)) for line in lines]
