"""Datasets for fine-tuning: every format, every bad row with its reason, chat-template masks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.finetune.dataset import (
    DatasetError,
    examples_from_conversations,
    flag_long_examples,
    load_dataset_file,
    parse_csv,
    parse_jsonl,
    split_validation,
)
from localai_desktop.core.finetune.template import (
    IGNORE_INDEX,
    TrainingFormatter,
    tokenize_example,
)
from localai_desktop.core.finetune.tokenizer import GgufTokenizer
from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.storage import Database


def _reasons(report: object) -> dict[str, str]:
    return {p.source: p.reason for p in report.problems}  # type: ignore[attr-defined]


def test_jsonl_reads_messages_and_prompt_completion_rows() -> None:
    lines = [
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
            ]
        },
        {"prompt": "2+2?", "completion": "4", "system": "Be brief."},
    ]
    report = parse_jsonl("\n".join(json.dumps(line) for line in lines))
    assert report.problems == []
    assert [t.role for t in report.examples[0].turns] == ["user", "assistant"]
    assert [(t.role, t.content) for t in report.examples[1].turns] == [
        ("system", "Be brief."),
        ("user", "2+2?"),
        ("assistant", "4"),
    ]


def test_malformed_jsonl_rows_are_reported_with_line_and_reason() -> None:
    text = "\n".join(
        [
            '{"prompt": "ok", "completion": "fine"}',
            "{not json",
            '["a list"]',
            '{"prompt": "no answer"}',
            '{"prompt": "empty answer", "completion": "   "}',
            '{"messages": [{"role": "wizard", "content": "x"}]}',
            '{"messages": [{"role": "user", "content": "only a question"}]}',
            '{"text": "unknown format"}',
        ]
    )
    report = parse_jsonl(text)
    assert len(report.examples) == 1
    reasons = _reasons(report)
    assert set(reasons) == {f"line {n}" for n in range(2, 9)}  # nothing silently dropped
    assert "not valid JSON" in reasons["line 2"]
    assert "not a JSON object" in reasons["line 3"]
    assert "no 'completion'" in reasons["line 4"]
    assert "empty" in reasons["line 5"]
    assert "'wizard'" in reasons["line 6"]
    assert "does not end with an assistant answer" in reasons["line 7"]
    assert "neither 'messages' nor 'prompt'" in reasons["line 8"]


def test_csv_with_header_and_bad_rows() -> None:
    text = (
        "instruction,answer\n"
        "Greet the patient,Good morning.\n"
        "Only one column\n"
        "Sign off,\n"
        'Quoted, with comma,"Yes, quoted."\n'
        "a,b,c\n"
    )
    report = parse_csv(text)
    assert [e.turns[1].content for e in report.examples] == ["Good morning."]
    reasons = _reasons(report)
    assert "has 1 columns" in reasons["row 3"]
    assert "the answer" in reasons["row 4"] and "empty" in reasons["row 4"]
    assert "has 3 columns" in reasons["row 5"] and "has 3 columns" in reasons["row 6"]


def test_dataset_files_of_the_wrong_kind_are_refused_plainly(tmp_path: Path) -> None:
    latin1 = tmp_path / "data.csv"
    latin1.write_bytes("caf\xe9,answer\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="not a text file in UTF-8"):
        load_dataset_file(latin1)
    notes = tmp_path / "notes.txt"
    notes.write_text("Some notes")
    with pytest.raises(DatasetError, match="neither a JSONL nor a CSV"):
        load_dataset_file(notes)
    with pytest.raises(DatasetError, match="There is no file"):
        load_dataset_file(tmp_path / "missing.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(DatasetError, match="empty"):
        load_dataset_file(empty)


def test_answers_picked_from_saved_conversations_keep_their_history(data_dir: Path) -> None:
    store = ConversationStore(Database(data_dir / "db.sqlite"))
    conversation = store.create(system_prompt="You write clinic letters.")
    store.add_message(conversation.id, "user", "Draft a reminder.")
    first = store.add_message(conversation.id, "assistant", "Dear patient, ...")
    store.add_message(conversation.id, "user", "Shorter.")
    second = store.add_message(conversation.id, "assistant", "Reminder: Monday 9am.")
    stopped = store.add_message(conversation.id, "assistant", "half", status="stopped")
    report = examples_from_conversations(store, [second.id, first.id, stopped.id, 999])
    by_source = {e.source: e.turns for e in report.examples}
    turns = by_source[f"message {second.id}"]
    assert [t.role for t in turns] == ["system", "user", "assistant", "user", "assistant"]
    assert turns[-1].content == "Reminder: Monday 9am."
    assert [t.role for t in by_source[f"message {first.id}"]] == ["system", "user", "assistant"]
    reasons = _reasons(report)
    assert "unfinished" in reasons[f"message {stopped.id}"]
    assert "no longer exists" in reasons["message 999"]


def test_validation_split_is_deterministic_and_skipped_for_tiny_sets() -> None:
    rows = [json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) for i in range(20)]
    first, again = parse_jsonl("\n".join(rows)), parse_jsonl("\n".join(rows))
    split_validation(first, 0.2, seed=3)
    split_validation(again, 0.2, seed=3)
    assert len(first.validation) == 4 and len(first.examples) == 16
    assert [e.source for e in first.validation] == [e.source for e in again.validation]
    tiny = parse_jsonl("\n".join(rows[:3]))
    split_validation(tiny, 0.2)
    assert tiny.validation == [] and len(tiny.examples) == 3


def test_too_long_examples_are_flagged_not_dropped(stories260k: Path) -> None:
    report = parse_jsonl(
        "\n".join(
            json.dumps({"prompt": "Tell me", "completion": text})
            for text in ("A short answer.", "A very long answer. " * 40)
        )
    )
    with GgufTokenizer(stories260k) as tokenizer:
        formatter = TrainingFormatter(None, bos_text=tokenizer.bos_text, eos_text="")
        counts = [
            len(tokenize_example(formatter, tokenizer, e.turns).input_ids) for e in report.examples
        ]
    flag_long_examples(report, counts, max_length=100)
    assert [e.source for e in report.examples] == ["line 1"]
    assert "too long" in _reasons(report)["line 2"] and "limit is 100" in _reasons(report)["line 2"]


def test_without_a_template_only_the_answer_and_end_token_are_learned(stories260k: Path) -> None:
    with GgufTokenizer(stories260k) as tokenizer:
        formatter = TrainingFormatter(
            tokenizer.chat_template, bos_text=tokenizer.bos_text, eos_text=tokenizer.eos_text
        )
        turns = [ChatTurn("user", "Who is Lily?"), ChatTurn("assistant", "Lily is a girl.")]
        example = tokenize_example(formatter, tokenizer, turns)
        learned = [
            t for t, label in zip(example.input_ids, example.labels, strict=True) if label != -100
        ]
        prompt_tokens = tokenizer.tokenize("### User:\nWho is Lily?\n\n### Assistant:\n")
        assert example.input_ids[0] == tokenizer.bos_ids[0]
        assert example.input_ids[1 : 1 + len(prompt_tokens)] == prompt_tokens  # as chat prompts
        assert learned[-1] == tokenizer.eos_id
        text = "".join(tokenizer.token_text(t) for t in learned[:-1]).replace("\u2581", " ")
        assert text.strip() == "Lily is a girl."


def test_chat_template_masks_everything_but_the_assistant_turns(models_dir: Path) -> None:
    with GgufTokenizer(models_dir / "ggml-vocab-phi-3.gguf") as tokenizer:
        assert tokenizer.chat_template
        formatter = TrainingFormatter(
            tokenizer.chat_template, bos_text=tokenizer.bos_text, eos_text=tokenizer.eos_text
        )
        turns = [
            ChatTurn("user", "Hi"),
            ChatTurn("assistant", "Hello there"),
            ChatTurn("user", "Bye"),
            ChatTurn("assistant", "Goodbye"),
        ]
        example = tokenize_example(formatter, tokenizer, turns)
        runs, current = [], ""
        for token, label in zip(example.input_ids, example.labels, strict=True):
            if label != IGNORE_INDEX:
                current += tokenizer.token_text(token).replace("\u2581", " ")
            elif current:
                runs, current = [*runs, current], ""
        learned = [run.strip() for run in [*runs, current] if run]
        assert learned == ["Hello there<|end|>", "Goodbye<|end|>"]


def test_a_row_with_a_huge_number_or_deep_nesting_is_one_bad_row() -> None:
    text = "\n".join(
        [
            '{"prompt": "Greet me", "completion": "Hello"}',
            '{"prompt": "Count", "completion": "Done", "n": ' + "7" * 5000 + "}",
            '{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}",
            '{"prompt": "Thank me", "completion": "You are welcome"}',
        ]
    )
    report = parse_jsonl(text)
    assert [e.source for e in report.examples] == ["line 1", "line 4"]
    assert _reasons(report) == {
        "line 2": "holds a number too long to read (over 4,300 digits).",
        "line 3": "is nested too deeply to be an example.",
    }


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_or_a_folder_is_refused_without_waiting(tmp_path: Path) -> None:
    pipe = tmp_path / "examples.jsonl"
    os.mkfifo(pipe)  # reading it would wait for a writer that never comes
    with pytest.raises(DatasetError) as caught:
        load_dataset_file(pipe)
    assert caught.value.message == (
        "examples.jsonl is not a regular file. Choose a .jsonl or .csv file instead."
    )
    with pytest.raises(DatasetError, match=r"folder\.jsonl is not a regular file"):
        (tmp_path / "folder.jsonl").mkdir()
        load_dataset_file(tmp_path / "folder.jsonl")
