"""The audit trail itself: the chain, tampering named, two writers at once, CSV and JSON."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.audit.entries import (
    ANSWER,
    BACKUP_EXPORTED,
    CONVERSATION_DELETED,
    GENESIS_HASH,
    TRAIL_EXPORTED,
)
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.storage import Database
from localai_desktop.core.storage.tables import MessageRow

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def db(data_dir: Path) -> Iterator[Database]:
    database = Database(data_dir / "localai.db")
    yield database
    database.close()


def raw(db: Database) -> sqlite3.Connection:
    return sqlite3.connect(db.path, isolation_level=None)


def test_entries_chain_from_a_fixed_start_and_verify(db: Database) -> None:
    trail = AuditTrail(db)
    first = trail.record(BACKUP_EXPORTED, file_sha256="ab" * 32, conversations=2)
    second = trail.record(CONVERSATION_DELETED, conversation_id=4, messages=6)
    third = trail.record(TRAIL_EXPORTED, format="csv", entries=2, file_sha256="cd" * 32)

    assert [e.id for e in trail.entries()] == [1, 2, 3]
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.hash and third.previous_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    assert [e.id for e in trail.entries(newest_first=True)] == [3, 2, 1]
    report = trail.verify()
    assert report.ok and report.entries == 3
    assert report.summary() == "All 3 entries check out."
    assert trail.entries()[1].describe() == "Conversation 4 deleted (6 messages)"


def test_an_empty_trail_says_so(db: Database) -> None:
    report = AuditTrail(db).verify()
    assert report.ok
    assert report.summary() == "The audit trail is empty: nothing has been recorded yet."


def test_entries_cannot_be_changed_or_deleted_through_sql(db: Database) -> None:
    AuditTrail(db).record(CONVERSATION_DELETED, conversation_id=1, messages=2)
    connection = raw(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("UPDATE audit_entries SET facts = '{}' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute("DELETE FROM audit_entries")
    connection.close()


def test_an_entry_changed_around_the_triggers_is_named(db: Database) -> None:
    trail = AuditTrail(db)
    for number in range(1, 6):
        trail.record(CONVERSATION_DELETED, conversation_id=number, messages=number)
    connection = raw(db)
    connection.execute("DROP TRIGGER audit_entries_append_only_update")
    connection.execute(
        "UPDATE audit_entries SET facts = '{\"messages\":0}' WHERE id = 3"
    )  # someone hides how many messages went
    connection.close()

    report = trail.verify()
    assert not report.ok and report.first_bad_entry == 3
    assert report.summary() == (
        "Entry 3 does not match: the entry itself was changed after it was written."
    )


def test_an_entry_removed_from_the_middle_is_named(db: Database) -> None:
    trail = AuditTrail(db)
    for number in range(1, 6):
        trail.record(CONVERSATION_DELETED, conversation_id=number, messages=1)
    connection = raw(db)
    connection.execute("DROP TRIGGER audit_entries_append_only_delete")
    connection.execute("DELETE FROM audit_entries WHERE id = 4")
    connection.close()

    report = trail.verify()
    assert report.first_bad_entry == 4
    assert "missing from the trail (entry 3 is followed by entry 5)" in report.summary()


def test_an_answer_edited_in_the_database_is_named(db: Database) -> None:
    store = ConversationStore(db, audit=AuditTrail(db))
    conversation = store.create()
    question = store.add_message(conversation.id, "user", "Is the contract binding?")
    answer = store.add_message(conversation.id, "assistant", "", status="interrupted")
    store.finish_answer(
        answer.id,
        question=question,
        content="Yes, from the day it was signed.",
        status="complete",
        provenance={"model_name": "stories", "model_sha256": "ef" * 32, "settings": {"seed": 3}},
    )
    assert AuditTrail(db).verify().ok

    connection = raw(db)
    connection.execute(
        "UPDATE messages SET content = 'No, it never was.' WHERE id = ?", (answer.id,)
    )
    connection.close()

    report = AuditTrail(db).verify()
    assert report.first_bad_entry == 1
    assert report.summary() == (
        f"Entry 1 does not match: the answer of message {answer.id} was changed after it "
        "was written."
    )


def test_a_question_edited_in_the_database_is_named(db: Database) -> None:
    store = ConversationStore(db, audit=AuditTrail(db))
    conversation = store.create()
    question = store.add_message(conversation.id, "user", "What is the dose?")
    answer = store.add_message(conversation.id, "assistant", "")
    store.finish_answer(
        answer.id, question=question, content="5 mg.", status="complete", provenance={}
    )
    connection = raw(db)
    connection.execute("UPDATE messages SET content = 'What is the max dose?' WHERE id = ?", (1,))
    connection.close()

    assert AuditTrail(db).verify().summary() == (
        f"Entry 1 does not match: the question answered by message {answer.id} was changed "
        "after it was written."
    )


def test_an_answer_deleted_behind_the_apps_back_is_named_and_through_the_app_is_not(
    db: Database,
) -> None:
    trail = AuditTrail(db)
    store = ConversationStore(db, audit=trail)
    ids = []
    for _ in range(2):
        conversation = store.create()
        question = store.add_message(conversation.id, "user", "Summarise the file.")
        answer = store.add_message(conversation.id, "assistant", "")
        store.finish_answer(
            answer.id, question=question, content="A summary.", status="complete", provenance={}
        )
        ids.append((conversation.id, answer.id))
    store.delete_message(ids[0][1])  # the app deletes an answer: recorded
    assert trail.verify().ok
    assert trail.entries()[-1].describe() == (
        f"Answer {ids[0][1]} deleted from conversation {ids[0][0]}"
    )

    connection = raw(db)
    connection.execute("DELETE FROM messages WHERE id = ?", (ids[1][1],))
    connection.close()
    report = trail.verify()
    assert report.first_bad_entry == 2
    assert report.problem == f"message {ids[1][1]} is gone, but its deletion was not recorded"


def test_two_processes_appending_at_once_keep_one_chain(db: Database) -> None:
    AuditTrail(db).record(CONVERSATION_DELETED, conversation_id=0, messages=0)
    script = (
        "import sys\n"
        "from localai_desktop.core.audit.trail import AuditTrail\n"
        "from localai_desktop.core.storage import Database\n"
        "db = Database(sys.argv[1])\n"
        "trail = AuditTrail(db)\n"
        "for n in range(150):\n"
        "    trail.record('conversation_deleted', conversation_id=n, messages=int(sys.argv[2]))\n"
        "db.close()\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(db.path), str(w)], cwd=REPO_ROOT)
        for w in (1, 2)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]

    entries = AuditTrail(db).entries()
    assert [e.id for e in entries] == list(range(1, 302))
    by_writer = [sum(1 for e in entries if e.facts.get("messages") == w) for w in (1, 2)]
    assert by_writer == [150, 150]
    assert AuditTrail(db).verify().summary() == "All 301 entries check out."


def test_export_as_csv_and_json_for_the_record(db: Database, tmp_path: Path) -> None:
    trail = AuditTrail(db)
    trail.record(BACKUP_EXPORTED, file_sha256="ab" * 32, conversations=2, messages=5)
    trail.record(CONVERSATION_DELETED, conversation_id=7, messages=3)

    as_csv = trail.export(tmp_path / "trail.csv")
    assert as_csv.format == "csv" and as_csv.entries == 2
    with (tmp_path / "trail.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[1]["what"] == "Conversation 7 deleted (3 messages)"
    assert json.loads(rows[1]["facts"]) == {"messages": 3}
    assert hashlib.sha256((tmp_path / "trail.csv").read_bytes()).hexdigest() == as_csv.sha256

    as_json = trail.export(tmp_path / "trail.data", "json")
    document = json.loads((tmp_path / "trail.data").read_text(encoding="utf-8"))
    assert document["format"] == "localai-desktop-audit-trail"
    assert document["verification"]["verified"] is True
    assert [e["kind"] for e in document["entries"]] == [
        BACKUP_EXPORTED,
        CONVERSATION_DELETED,
        "audit_exported",  # the CSV export just before is on the record too
    ]
    # Anyone can recompute the chain from the file alone, following its recipe.
    previous = document["genesis_hash"]
    for entry in document["entries"]:
        body = {k: entry[k] for k in ("id", "recorded_at", "kind", "conversation_id")}
        body |= {"message_id": entry["message_id"], "facts": entry["facts"]}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert entry["previous_hash"] == previous
        previous = hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()
        assert entry["hash"] == previous
    assert as_json.entries == 3
    assert trail.entries()[-1].describe() == "Audit trail exported as JSON (3 entries)"
    assert trail.verify().ok

    with pytest.raises(LocalAIError, match="cannot be saved as 'xml'"):
        trail.export(tmp_path / "trail.xml", "xml")


def test_export_to_a_folder_that_cannot_be_written_says_what_to_do(
    db: Database, tmp_path: Path
) -> None:
    AuditTrail(db).record(CONVERSATION_DELETED, conversation_id=1, messages=1)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    with pytest.raises(LocalAIError) as raised:
        AuditTrail(db).export(blocker / "trail.csv")
    assert "could not be written" in raised.value.message
    assert "Choose another folder" in raised.value.message
    assert AuditTrail(db).count() == 1  # a failed export is not recorded as one


@pytest.mark.slow
def test_verifying_ten_thousand_entries_takes_well_under_a_second(db: Database) -> None:
    trail = AuditTrail(db)
    conversation = ConversationStore(db).create()
    with db.session() as session:
        for number in range(5000):
            texts = (f"Question {number}", f"Answer {number} " * 40)
            question, answer = (
                MessageRow(
                    conversation_id=conversation.id,
                    role=role,
                    content=text,
                    created_at=conversation.created_at,
                    updated_at=conversation.created_at,
                )
                for role, text in zip(("user", "assistant"), texts, strict=True)
            )
            session.add_all([question, answer])
            session.flush()
            trail.append(
                session,
                ANSWER,
                conversation_id=conversation.id,
                message_id=answer.id,
                facts={
                    "question_message_id": question.id,
                    "question_sha256": hashlib.sha256(texts[0].encode()).hexdigest(),
                    "answer_sha256": hashlib.sha256(texts[1].encode()).hexdigest(),
                    "model_sha256": "ab" * 32,
                    "settings": {"temperature": 0.7, "top_p": 0.95, "seed": number},
                    "sources": [{"n": 1, "file_sha256": "cd" * 32, "page": 7}],
                },
            )
            trail.append(session, CONVERSATION_DELETED, conversation_id=-number, facts={})
    started = time.perf_counter()
    report = trail.verify()
    seconds = time.perf_counter() - started
    print(f"verify: {report.entries} entries in {seconds:.3f} s")
    assert report.summary() == "All 10000 entries check out."
    assert seconds < 2.0
