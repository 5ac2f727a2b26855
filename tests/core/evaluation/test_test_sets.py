"""Test sets kept in the workspace, and a reference question made from a conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.evaluation.test_sets import TestSetStore, question_from_answer
from localai_desktop.core.evaluation.testset import Rule, parse_jsonl
from localai_desktop.core.storage import Database

SOURCES = [
    {"n": 1, "file_name": "g.pdf", "page": 3, "text": "Falls are assessed within six hours."},
    {"n": 2, "file_name": "g.pdf", "page": 7, "text": "Antibiotics within one hour."},
]


def test_a_set_is_saved_replaced_listed_and_deleted(tmp_path: Path) -> None:
    db = Database(tmp_path / "w.db")
    store = TestSetStore(db)
    questions = parse_jsonl('{"id": "q1", "question": "?", "expect": {"abstain": true}}')
    assert store.save("Ward", questions).questions == tuple(questions)
    more = store.add_question("Ward", questions[0])
    assert [q.id for q in more.questions] == ["q1", "q1-2"]
    assert [s.name for s in store.list()] == ["Ward"]
    store.delete("Ward")
    with pytest.raises(NotFoundError):
        store.get("Ward")
    with pytest.raises(LocalAIError, match="same id"):
        store.save("Twice", [questions[0], questions[0]])
    db.close()


def test_an_answer_becomes_a_reference_question_with_its_collection_and_source(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "w.db")
    conversations = ConversationStore(db)
    conversation = conversations.create()
    conversations.add_message(conversation.id, "user", "How fast are antibiotics given?")
    answer = conversations.add_message(
        conversation.id,
        "assistant",
        "Within one hour [2].",
        provenance={"collections": ["Ward"], "sources": SOURCES},
    )
    question = question_from_answer(conversations, answer.id, conversation.id)
    assert question.question == "How fast are antibiotics given?"
    assert question.expect.rule is Rule.SIMILAR_TO
    assert question.expect.similar_to == "Within one hour [2]."
    assert question.collection == "Ward"
    assert question.source is not None and (question.source.file, question.source.page) == (
        "g.pdf",
        7,
    )
    with pytest.raises(LocalAIError, match="not an answer"):
        question_from_answer(conversations, answer.id - 1, conversation.id)
    db.close()
