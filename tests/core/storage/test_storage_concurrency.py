"""Several threads writing at once (the answer writer, the GUI, a CLI) wait their turn."""

from __future__ import annotations

import threading
from pathlib import Path

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.storage import Database


def test_concurrent_read_then_write_transactions_do_not_fail(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    store = ConversationStore(db)
    conversation = store.create()
    answer = store.add_message(conversation.id, "assistant", "")
    errors: list[BaseException] = []

    def write_answer() -> None:
        try:
            for index in range(150):
                store.update_message(answer.id, content="x" * index)
        except BaseException as error:
            errors.append(error)

    def add_messages() -> None:
        try:
            for index in range(150):
                store.add_message(conversation.id, "user", f"message {index}")
                store.rename(conversation.id, f"title {index}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write_answer), threading.Thread(target=add_messages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    saved = store.get(conversation.id)
    assert len(saved.messages) == 151
    assert saved.messages[0].content == "x" * 149
    db.close()
