"""What the app records as it is used: real answers, deletions, backups, models and adapters."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localai_desktop import __version__
from localai_desktop.core.audit.entries import (
    ADAPTER_DELETED,
    ANSWER,
    BACKUP_EXPORTED,
    BACKUP_IMPORTED,
    COLLECTION_DELETED,
    CONVERSATION_DELETED,
    DOCUMENT_REMOVED,
    MODEL_REMOVED,
)
from localai_desktop.core.chat.conversations import Message
from localai_desktop.core.chat.service import AdapterChoice, ChatService
from localai_desktop.core.datafolder.backup import export_backup, import_backup
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.finetune.exporter import BaseShape, export_lora_adapter
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from tests.support import documents_support as docs
from tests.support.finetune_support import STORIES_SHAPE, random_lora_state

STORIES_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
SETTINGS = GenerationSettings(seed=7, max_tokens=40, temperature=0.8)
QUESTION = "Tell me about Mrs Dalloway's appointment."


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def workspace(data_dir: Path, stories260k: Path) -> Iterator[Workspace]:
    opened = Workspace.open(data_dir)
    opened.registry.import_model(stories260k, name="stories", probe=False)
    yield opened
    opened.close()


@pytest.fixture
def chat(workspace: Workspace) -> Iterator[ChatService]:
    service = ChatService(
        workspace.conversations,
        workspace.registry,
        LlamaEngine(n_threads=1),
        workspace.adapters,
        documents=workspace.documents,
    )
    yield service
    service.engine.unload()


def ask(chat: ChatService, question: str = QUESTION, **options: Any) -> Message:
    conversation = chat.store.create()
    return chat.send(conversation.id, question, model_id="stories", settings=SETTINGS, **options)


def test_an_answer_is_recorded_as_hashes_with_model_settings_and_seed(
    workspace: Workspace, chat: ChatService
) -> None:
    answer = ask(chat)
    assert answer.status == "complete" and answer.content

    [entry] = workspace.audit.entries()
    assert entry.kind == ANSWER
    assert entry.conversation_id == answer.conversation_id
    assert entry.message_id == answer.id
    facts = entry.facts
    assert facts["question_message_id"] == answer.id - 1
    assert facts["question_sha256"] == sha256(QUESTION)
    assert facts["answer_sha256"] == sha256(answer.content)
    assert facts["model_sha256"] == STORIES_SHA256 and facts["model_name"] == "stories"
    assert facts["seed"] == 7 and facts["settings"]["temperature"] == 0.8
    assert facts["adapter_sha256"] is None and facts["sources"] == []
    assert facts["app_version"] == __version__ and facts["status"] == "complete"
    # Hashes, not content: neither text is anywhere in the trail.
    raw = sqlite3.connect(workspace.db.path)
    stored = " ".join(str(v) for row in raw.execute("SELECT * FROM audit_entries") for v in row)
    raw.close()
    assert "Dalloway" not in stored and answer.content[:20] not in stored
    assert workspace.audit.verify().summary() == "The 1 entry checks out."


def test_an_answer_edited_directly_in_the_database_fails_verification(
    workspace: Workspace, chat: ChatService
) -> None:
    ask(chat)
    edited = ask(chat, "And then?")
    ask(chat, "What happened next?")
    assert workspace.audit.verify().ok

    raw = sqlite3.connect(workspace.db.path)
    raw.execute(
        "UPDATE messages SET content = content || ' (amended)' WHERE id = ?",
        (edited.id,),
    )
    raw.commit()
    raw.close()

    report = workspace.audit.verify()
    assert not report.ok and report.first_bad_entry == 2
    assert report.summary() == (
        f"Entry 2 does not match: the answer of message {edited.id} was changed "
        "after it was written."
    )


def test_deleting_a_conversation_through_the_app_is_recorded_and_verifies(
    workspace: Workspace, chat: ChatService
) -> None:
    kept, deleted = ask(chat), ask(chat, "A second story, please.")
    workspace.conversations.delete(deleted.conversation_id)

    entries = workspace.audit.entries()
    assert [e.kind for e in entries] == [ANSWER, ANSWER, CONVERSATION_DELETED]
    assert entries[-1].conversation_id == deleted.conversation_id
    assert entries[-1].facts == {"messages": 2}
    assert workspace.audit.verify().summary() == "All 3 entries check out."
    assert kept.id in {e.message_id for e in entries}


def test_writing_an_answer_again_keeps_the_old_one_as_a_version(
    workspace: Workspace, chat: ChatService
) -> None:
    first = ask(chat)
    second = chat.regenerate(
        first.conversation_id,
        model_id="stories",
        settings=SETTINGS.with_seed(8),
    )
    # Nothing is deleted any more: the first answer stays, as version 1 (issue 14).
    kinds = [(e.kind, e.message_id) for e in workspace.audit.entries()]
    assert kinds == [(ANSWER, first.id), (ANSWER, second.id)]
    assert second.version_ids == (first.id, second.id)
    assert workspace.audit.entries()[-1].facts["seed"] == 8
    assert workspace.audit.verify().ok


def test_a_grounded_answer_records_each_cited_files_sha256_and_page(
    workspace: Workspace, chat: ChatService, models_dir: Path, tmp_path: Path
) -> None:
    workspace.registry.import_model(
        models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False
    )
    library = workspace.documents
    library.create("Ward guideline")
    pdf = docs.write_pdf(tmp_path / "ward-guideline.pdf", docs.GUIDELINE_PAGES)
    library.add_paths("Ward guideline", [pdf])
    library.index("Ward guideline")

    answer = ask(chat, "How quickly must antibiotics be given in sepsis?", collections=["1"])
    sources = answer.provenance["sources"]
    [entry] = workspace.audit.entries()
    pdf_sha256 = hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert entry.facts["sources"][0] == {"n": 1, "file_sha256": pdf_sha256, "page": 7}
    assert len(entry.facts["sources"]) == len(sources)
    assert sources[0]["file_sha256"] == pdf_sha256  # the answer's provenance cites it too

    library.remove_file("Ward guideline", pdf)
    library.delete("Ward guideline")
    removed, deleted = workspace.audit.entries()[1:]
    assert removed.kind == DOCUMENT_REMOVED and removed.facts["file_sha256"] == pdf_sha256
    assert deleted.kind == COLLECTION_DELETED and deleted.facts["documents"] == 0
    assert workspace.audit.verify().ok


def test_backups_exported_and_imported_are_recorded(
    workspace: Workspace, chat: ChatService, tmp_path: Path
) -> None:
    ask(chat)
    backup = tmp_path / "backup.json"
    export_backup(workspace.db, workspace.settings, backup, audit=workspace.audit)
    with Workspace.open(tmp_path / "other") as other:
        import_backup(other.db, other.settings, backup, audit=other.audit)
        [imported] = other.audit.entries()
        assert imported.kind == BACKUP_IMPORTED
        assert imported.facts["file_sha256"] == hashlib.sha256(backup.read_bytes()).hexdigest()
        assert imported.facts["messages_added"] == 2
        assert other.audit.verify().ok
    exported = workspace.audit.entries()[-1]
    assert exported.kind == BACKUP_EXPORTED
    assert exported.facts["file_sha256"] == hashlib.sha256(backup.read_bytes()).hexdigest()
    assert exported.describe() == "Conversations and settings exported (1 conversation)"


def test_answers_with_an_adapter_record_it_and_removing_it_and_the_model_is_recorded(
    workspace: Workspace, chat: ChatService
) -> None:
    base = workspace.registry.get("stories")
    path = workspace.paths.adapters / "bluebell.gguf"
    path.parent.mkdir(parents=True, exist_ok=True)
    export_lora_adapter(
        path,
        random_lora_state(**STORIES_SHAPE, scale=0.5),
        BaseShape("llama", STORIES_SHAPE["n_layers"], 8, 4),
        alpha=8,
        name="bluebell",
        metadata={"localai.base_model.sha256": base.sha256},
    )
    adapter = workspace.adapters.register(
        "bluebell", path, base, settings={}, dataset={}, final_loss=None,
        final_val_loss=None, samples=[],
    )  # fmt: skip
    ask(chat, adapter=AdapterChoice("bluebell", 0.5))
    chat.engine.unload()
    workspace.adapters.remove("bluebell")
    workspace.registry.remove("stories")

    answer, adapter_gone, model_gone = workspace.audit.entries()
    assert answer.facts["adapter_sha256"] == adapter.sha256
    assert answer.facts["adapter_scale"] == 0.5
    assert adapter_gone.kind == ADAPTER_DELETED
    assert adapter_gone.facts["adapter_sha256"] == adapter.sha256
    assert model_gone.kind == MODEL_REMOVED and model_gone.facts["model_sha256"] == STORIES_SHA256
    assert model_gone.describe() == "Model 'stories' removed (its file kept)"
    assert workspace.audit.verify().ok
