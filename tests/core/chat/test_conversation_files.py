"""Files attached to earlier questions count on later turns (core.chat.conversation_files):
short ones whole while they fit, long ones searched, only the versions shown; long files of a
conversation that came back through a backup are indexed again from their saved text.
Real stories260K and MiniLM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.chat.attachments import AttachmentStore
from localai_desktop.core.chat.context_use import left_out_notes
from localai_desktop.core.chat.conversation_files import (
    files_to_index,
    ground_with_files,
    shown_attachments,
)
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.backup import export_backup, import_backup
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from tests.support import documents_support as docs

SETTINGS = GenerationSettings(seed=3, max_tokens=16, context_length=2048)
SEPSIS = "How quickly must antibiotics be given in sepsis?"


@pytest.fixture
def workspace(data_dir: Path, models_dir: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(data_dir)
    workspace.registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm")
    workspace.registry.import_model(models_dir / "stories260K.gguf", name="st")
    yield workspace
    workspace.close()


def service_for(workspace: Workspace) -> ChatService:
    return ChatService(
        workspace.conversations,
        workspace.registry,
        LlamaEngine(),
        workspace.adapters,
        documents=workspace.documents,
        remotes=workspace.remotes,
    )


def note(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, "utf-8")
    return path


def test_a_short_file_of_an_earlier_question_counts_on_a_follow_up(
    workspace: Workspace, tmp_path: Path
) -> None:
    service = service_for(workspace)
    conversation = workspace.conversations.create()
    letter = note(tmp_path, "letter.txt", "Take one tablet of 5 mg of amlodipine each morning.")
    first = service.send(
        conversation.id, "Summarise the letter.", model_id="st", settings=SETTINGS, attach=[letter]
    )
    second = service.send(
        conversation.id, "And what does it say about the dose?", model_id="st", settings=SETTINGS
    )
    [used] = second.provenance["attachments"]
    assert used["name"] == "letter.txt" and used["used"] == "whole"
    assert used["earlier_question"] == first.id - 1  # the first question, answered by `first`
    # The letter is in the follow-up's prompt, above the question.
    messages = workspace.conversations.get(conversation.id).messages[:3]
    turns = [ChatTurn(m.role, m.content) for m in messages]
    grounded = ground_with_files(
        None,
        service.attachments,
        messages,
        messages[-1],
        turns,
        None,
        (),
        tokenize=service.engine.tokenize,
        n_ctx=2048,
        max_tokens=16,
    )
    last = grounded.turns[-1].content
    assert "5 mg of amlodipine" in last and last.endswith("And what does it say about the dose?")
    assert "5 mg" not in grounded.turns[0].content  # the first question is as typed
    service.engine.unload()


def test_earlier_short_files_that_do_not_fit_are_named_as_left_out(
    workspace: Workspace, tmp_path: Path
) -> None:
    service = service_for(workspace)
    conversation = workspace.conversations.create()
    small = GenerationSettings(seed=3, max_tokens=16, context_length=512)
    for number in (1, 2, 3):
        text = f"Letter {number}. " + "The patient walked in the garden every day. " * 10
        service.send(
            conversation.id,
            f"Read letter {number}.",
            model_id="st",
            settings=small,
            attach=[note(tmp_path, f"letter{number}.txt", text)],
        )
    answer = service.send(
        conversation.id, "Which letter was longest?", model_id="st", settings=small
    )
    used = {a["name"]: a["used"] for a in answer.provenance["attachments"]}
    # The newest earlier file fits whole; the older ones do not and are said to be left out.
    assert used == {"letter1.txt": "left out", "letter2.txt": "left out", "letter3.txt": "whole"}
    notes = " ".join(left_out_notes(answer.provenance))
    assert "“letter1.txt”, “letter2.txt” attached to an earlier question" in notes
    assert "raise “Memory”" in notes  # what to do about it
    service.engine.unload()


def test_a_long_file_of_an_earlier_question_is_searched_on_later_turns(
    workspace: Workspace, tmp_path: Path
) -> None:
    service = service_for(workspace)
    conversation = workspace.conversations.create()
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4)
    service.send(
        conversation.id,
        "What is this guideline about?",
        model_id="st",
        settings=SETTINGS,
        attach=[pdf],
    )
    answer = service.send(conversation.id, SEPSIS, model_id="st", settings=SETTINGS)
    sources = answer.provenance.sources or ()
    assert sources and sources[0]["file_name"] == "guideline.pdf" and sources[0]["page"] == 7
    [used] = answer.provenance["attachments"]
    assert used["name"] == "guideline.pdf" and used["used"] == "best passages"
    assert "guideline.pdf" in answer.provenance["collections"]  # named by the file
    # A later question about something else is answered, not refused as "not covered".
    story = service.send(
        conversation.id, "Tell me a story about a dragon.", model_id="st", settings=SETTINGS
    )
    assert "do not seem to cover" not in story.content
    assert story.provenance.retrieval is None and not story.provenance.sources
    assert [a["name"] for a in story.provenance["attachments"]] == ["guideline.pdf"]
    service.engine.unload()


def test_only_the_files_of_the_versions_shown_count(workspace: Workspace, tmp_path: Path) -> None:
    service = service_for(workspace)
    conversation = workspace.conversations.create()
    letter = note(tmp_path, "letter.txt", "Take one tablet of 5 mg of amlodipine each morning.")
    first = service.send(
        conversation.id, "Summarise the letter.", model_id="st", settings=SETTINGS, attach=[letter]
    )
    question_id = first.id - 1
    # The question edited without the file: the new version has no file, and the old one's
    # file does not follow the conversation any more.
    edited = service.edit(
        conversation.id, question_id, "Tell me a story.", model_id="st", settings=SETTINGS
    )
    assert "attachments" not in edited.provenance.extra
    messages = workspace.conversations.get(conversation.id).messages
    assert shown_attachments(AttachmentStore(workspace.db), messages) == []
    service.engine.unload()


def test_long_files_of_an_imported_conversation_are_indexed_again_from_their_saved_text(
    workspace: Workspace, tmp_path: Path, models_dir: Path
) -> None:
    service = service_for(workspace)
    conversation = workspace.conversations.create()
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4)
    service.send(
        conversation.id,
        "What is this guideline about?",
        model_id="st",
        settings=SETTINGS,
        attach=[pdf],
    )
    service.engine.unload()
    backup = tmp_path / "backup.json"
    export_backup(workspace.db, workspace.settings, backup)
    pdf.unlink()  # the file itself is not on the other computer

    with Workspace.open(tmp_path / "other") as other:
        other.registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm")
        other.registry.import_model(models_dir / "stories260K.gguf", name="st")
        import_backup(other.db, other.settings, backup)
        [summary] = other.conversations.list()
        messages = other.conversations.get(summary.id).messages
        store = AttachmentStore(other.db)
        [attached] = shown_attachments(store, messages)
        assert not attached.whole and attached.collection_id is None  # text kept, no passages
        assert files_to_index(other.documents, [attached]) == [attached]

        again = service_for(other)
        assert again.index_saved_files(summary.id) == 1
        [attached] = shown_attachments(store, messages)
        assert files_to_index(other.documents, [attached]) == []
        assert again.index_saved_files(summary.id) == 0  # nothing left to do
        answer = again.send(summary.id, SEPSIS, model_id="st", settings=SETTINGS)
        sources = answer.provenance.sources or ()
        assert sources and sources[0]["file_name"] == "guideline.pdf" and sources[0]["page"] == 7
        assert "Sepsis" in sources[0]["text"]
        again.engine.unload()


def test_without_an_embedding_model_an_imported_long_file_is_said_not_searched(
    workspace: Workspace, tmp_path: Path, models_dir: Path
) -> None:
    service = service_for(workspace)
    conversation = workspace.conversations.create()
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4)
    service.send(
        conversation.id, "What is it about?", model_id="st", settings=SETTINGS, attach=[pdf]
    )
    service.engine.unload()
    backup = tmp_path / "backup.json"
    export_backup(workspace.db, workspace.settings, backup)
    with Workspace.open(tmp_path / "other") as other:
        other.registry.import_model(models_dir / "stories260K.gguf", name="st")  # no MiniLM
        import_backup(other.db, other.settings, backup)
        [summary] = other.conversations.list()
        again = service_for(other)
        with pytest.raises(LocalAIError, match="needs an embedding model"):
            again.index_saved_files(summary.id)
        # The question is still answered, and the answer says what it could not use.
        answer = again.send(summary.id, SEPSIS, model_id="st", settings=SETTINGS)
        assert answer.status == "complete" and answer.content.strip()
        [used] = answer.provenance["attachments"]
        assert used["name"] == "guideline.pdf" and used["used"] == "left out"
        notes = " ".join(left_out_notes(answer.provenance))
        assert "“guideline.pdf” could not be searched" in notes and "Models tab" in notes
        again.engine.unload()
