"""What an answer stores: its status and its provenance keep the JSON and strings of before."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from localai_desktop.core.chat.conversations import ConversationStore, MessageStatus
from localai_desktop.core.storage import Database


def test_a_message_status_is_stored_and_read_back_as_its_plain_string(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    store = ConversationStore(db)
    conversation = store.create()
    answer = store.add_message(conversation.id, "assistant", "", status=MessageStatus.INTERRUPTED)
    store.update_message(answer.id, content="Done.", status=MessageStatus.STOPPED)
    with db.session() as session:
        raw = session.execute(
            text("SELECT status, typeof(status) FROM messages WHERE id = :id"), {"id": answer.id}
        ).one()
    assert tuple(raw) == ("stopped", "text")
    [stored] = store.get(conversation.id).messages
    assert stored.status is MessageStatus.STOPPED and stored.to_json()["status"] == "stopped"
    db.close()
