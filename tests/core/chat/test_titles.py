"""Titles suggested by the loaded model from the first exchange; a person's title stays."""

from __future__ import annotations

from pathlib import Path

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.chat.titles import suggest_title, tidy_title
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database


def test_the_model_titles_the_first_exchange_but_never_over_a_persons_title(
    data_dir: Path, stories260k: Path
) -> None:
    db = Database(data_dir / "localai.db")
    store = ConversationStore(db)
    service = ChatService(store, ModelRegistry(db, data_dir / "models"), LlamaEngine())
    try:
        model = service.registry.import_model(stories260k, name="stories")
        conversation = store.create()
        assert suggest_title(store, service.engine, conversation.id) is None  # nothing yet
        service.send(
            conversation.id,
            "Once upon a time",
            model_id=model.id,
            settings=GenerationSettings(seed=1, max_tokens=30),
        )
        title = suggest_title(store, service.engine, conversation.id)
        assert title and store.get(conversation.id).title == title
        assert store.get(conversation.id).title_origin == "model"
        assert suggest_title(store, service.engine, conversation.id) is None  # once only

        other = store.create()
        store.add_message(other.id, "user", "Q")
        store.add_message(other.id, "assistant", "A")
        store.rename(other.id, "Mine")
        assert suggest_title(store, service.engine, other.id) is None
        assert store.get(other.id).title == "Mine"
    finally:
        service.engine.unload()
        db.close()


def test_a_suggestion_is_tidied_to_one_short_line() -> None:
    assert tidy_title('Title: "Lease risks."\nMore text') == "Lease risks"
    assert tidy_title("\n\n  **Discharge letter summary**  ") == "Discharge letter summary"
    assert len(tidy_title("word " * 30).split()) == 10
    assert tidy_title("   ") == ""
