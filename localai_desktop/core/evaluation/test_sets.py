"""Test sets kept in the workspace's database, and questions made from a conversation.

What the Evaluate tab's table editor saves: a named list of questions (core.evaluation.testset),
stored with the rest of what a person wrote, so it is encrypted with the workspace. A question
can be made from an answer in a conversation ("add this question and answer as the
reference"): its question, the answer as the reference of a "similar_to" rule, the collection
it was answered from and the first passage it cites as the required source.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.documents.grounding import cited_source_numbers
from localai_desktop.core.evaluation.testset import (
    DEFAULT_SIMILARITY_THRESHOLD,
    Expectation,
    RequiredSource,
    Rule,
    TestQuestion,
)
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import EvalTestSetRow


@dataclass(frozen=True)
class TestSet:
    __test__ = False

    id: int
    name: str
    questions: tuple[TestQuestion, ...]
    created_at: datetime
    updated_at: datetime


class TestSetStore:
    """Named test sets; each method is one short transaction."""

    __test__ = False

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, name: str, questions: Sequence[TestQuestion]) -> TestSet:
        """Create the set, or replace the questions of the one with this name."""
        name = name.strip()
        if not name:
            raise LocalAIError("A test set needs a name.", "Type a name for it.")
        ids = [q.id for q in questions]
        if len(set(ids)) != len(ids):
            raise LocalAIError(
                "Two questions of the set have the same id.", "Give each question its own id."
            )
        now = utcnow()
        data = json.dumps([q.to_dict() for q in questions], ensure_ascii=False)
        with self.db.session() as session:
            row = session.scalar(select(EvalTestSetRow).where(EvalTestSetRow.name == name))
            if row is None:
                row = EvalTestSetRow(name=name, questions=data, created_at=now, updated_at=now)
                session.add(row)
            else:
                row.questions = data
                row.updated_at = now
        return self.get(name)

    def get(self, name: str) -> TestSet:
        with self.db.session() as session:
            row = session.scalar(select(EvalTestSetRow).where(EvalTestSetRow.name == name))
            if row is None:
                raise NotFoundError(f"There is no test set called '{name}'.")
            return _test_set(row)

    def list(self) -> builtins.list[TestSet]:
        with self.db.session() as session:
            rows = session.scalars(select(EvalTestSetRow).order_by(EvalTestSetRow.name)).all()
            return [_test_set(r) for r in rows]

    def delete(self, name: str) -> None:
        self.get(name)
        with self.db.session() as session:
            session.execute(delete(EvalTestSetRow).where(EvalTestSetRow.name == name))

    def rename(self, name: str, new_name: str) -> TestSet:
        """Give a set another name (refused when another set has it)."""
        new_name = " ".join(new_name.split())
        if not new_name:
            raise LocalAIError("A test set needs a name.", "Type a name for it.")
        self.get(name)
        if new_name == name:
            return self.get(name)
        with self.db.session() as session:
            if session.scalar(select(EvalTestSetRow).where(EvalTestSetRow.name == new_name)):
                raise LocalAIError(
                    f"There is already a test set called '{new_name}'.", "Choose another name."
                )
            row = session.scalar(select(EvalTestSetRow).where(EvalTestSetRow.name == name))
            if row is not None:
                row.name = new_name
                row.updated_at = utcnow()
        return self.get(new_name)

    def add_question(self, name: str, question: TestQuestion) -> TestSet:
        """Append a question to the set (created if new), renaming its id if already used."""
        try:
            existing = list(self.get(name).questions)
        except NotFoundError:
            existing = []
        used = {q.id for q in existing}
        qid, n = question.id, 2
        while qid in used:
            qid, n = f"{question.id}-{n}", n + 1
        existing.append(
            TestQuestion(
                qid, question.question, question.expect, question.collection, question.source
            )
        )
        return self.save(name, existing)


def question_from_answer(
    conversations: ConversationStore, message_id: int, conversation_id: int
) -> TestQuestion:
    """A test question from an answer: the question before it, the answer as the reference."""
    conversation = conversations.get(conversation_id)
    messages = list(conversation.messages)
    index = next((i for i, m in enumerate(messages) if m.id == message_id), None)
    if index is None or messages[index].role != "assistant" or not messages[index].content.strip():
        raise LocalAIError(
            "That message is not an answer that can be a reference.",
            "Choose an answer of the model.",
        )
    answer = messages[index]
    question = next((m for m in reversed(messages[:index]) if m.role == "user"), None)
    if question is None:
        raise LocalAIError("There is no question before that answer.")
    collections = answer.provenance.collections or ()
    sources = list(answer.provenance.sources or ())
    cited = sorted(cited_source_numbers(answer.content, len(sources)))
    source = None
    if cited:
        first = next(s for s in sources if s.get("n") == cited[0])
        page = first.get("page")
        source = RequiredSource(
            str(first.get("file_name")), page if isinstance(page, int) else None
        )
    return TestQuestion(
        f"m{answer.id}",
        question.content.strip(),
        Expectation(
            Rule.SIMILAR_TO,
            similar_to=answer.content.strip(),
            threshold=DEFAULT_SIMILARITY_THRESHOLD,
        ),
        collections[0] if collections else None,
        source,
    )


def _test_set(row: EvalTestSetRow) -> TestSet:
    questions = tuple(TestQuestion.from_dict(q) for q in json.loads(row.questions or "[]"))
    return TestSet(row.id, row.name, questions, row.created_at, row.updated_at)
