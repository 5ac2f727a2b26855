"""Reading files to attach to a question (core.chat.attachments): every kind the document
parsers read, pages kept; files that cannot be attached say why in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.core.chat.attachments import (
    WHOLE_LIMIT_CHARS,
    AttachmentStore,
    prompt_with_files,
    read_attachment,
)
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from tests.support import documents_support as docs


def test_pdf_word_markdown_html_and_text_are_read_with_their_pages(tmp_path: Path) -> None:
    pdf = read_attachment(docs.write_pdf(tmp_path / "g.pdf", docs.GUIDELINE_PAGES[:3]))
    assert pdf.kind == "pdf" and pdf.pages == 3 and "[page 2]" in pdf.text and pdf.whole
    for path in (
        docs.write_docx(tmp_path / "w.docx"),
        docs.write_markdown(tmp_path / "m.md"),
        docs.write_html(tmp_path / "h.html"),
    ):
        read = read_attachment(path)
        assert read.text.strip() and read.name == path.name and read.pages == 0
    text = tmp_path / "t.txt"
    text.write_text("word " * (WHOLE_LIMIT_CHARS // 4), "utf-8")
    assert not read_attachment(text).whole  # long: indexed, not read whole


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda d: d / "missing.pdf", "could not be found"),
        (lambda d: _write(d / "weights.bin", b"\0" * 10), "cannot be attached"),
        (lambda d: _write(d / "empty.txt", b""), "empty.txt"),
        (lambda d: docs.write_encrypted_pdf(d / "locked.pdf"), "locked.pdf could not be attached"),
        (lambda d: docs.write_scanned_pdf(d / "scan.pdf"), "scan.pdf"),
    ],
)
def test_a_file_that_cannot_be_attached_says_what_to_do(
    tmp_path: Path, make: object, says: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(LocalAIError) as raised:
        read_attachment(path)
    assert says in raised.value.message and raised.value.todo


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_attachments_are_kept_with_their_question_and_short_ones_go_into_the_prompt(
    data_dir: Path, tmp_path: Path
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("Rent is due on the first day of the month.", "utf-8")
    with Workspace.open(data_dir) as workspace:
        conversation = workspace.conversations.create("Lease")
        question = workspace.conversations.add_message(conversation.id, "user", "When is rent due?")
        store = AttachmentStore(workspace.db)
        kept = store.add(question.id, read_attachment(note))
        assert store.for_message(question.id) == [kept]
        prompt = prompt_with_files("When is rent due?", [kept])
        assert prompt.startswith("Attached file “note.txt”:") and "first day" in prompt
        assert prompt.endswith("When is rent due?")
        # Deleted with its question.
        workspace.conversations.delete_message(question.id)
        assert store.for_message(question.id) == []


def test_a_question_is_saved_with_its_files_in_one_transaction(
    data_dir: Path, tmp_path: Path
) -> None:
    # A kill right after the question is saved must not leave it without its files: the files'
    # text is written in the question's own transaction, before anything is indexed.
    note = tmp_path / "note.txt"
    note.write_text("Rent is due on the first day of the month.", "utf-8")
    long = tmp_path / "lease.txt"
    long.write_text("The tenant keeps the garden tidy. " * (WHOLE_LIMIT_CHARS // 20), "utf-8")
    files = [read_attachment(note), read_attachment(long)]
    with Workspace.open(data_dir) as workspace:
        conversation = workspace.conversations.create("Lease")
        question = workspace.conversations.add_message(
            conversation.id, "user", "When is rent due?", attachments=files
        )
        kept = AttachmentStore(workspace.db).for_message(question.id)
        assert [(a.name, a.whole, a.collection_id) for a in kept] == [
            ("note.txt", True, None),
            ("lease.txt", False, None),  # not indexed yet, but its text is kept
        ]
        assert "garden tidy" in kept[1].text

        _saved, message = workspace.conversations.save_question(
            None,
            "And the garden?",
            system_prompt="",
            settings={},
            model_id=None,
            attachments=files[1:],
        )
        assert message is not None
        assert [a.name for a in AttachmentStore(workspace.db).for_message(message.id)] == [
            "lease.txt"
        ]


def test_deleting_a_conversation_for_good_deletes_its_attached_files_index(
    data_dir: Path, tmp_path: Path, models_dir: Path
) -> None:
    # The passages of a long attached file live in the conversation's hidden collection; once
    # the conversation is deleted for good, nothing of them may stay where no list shows it.
    from sqlalchemy import func, select

    from localai_desktop.core.storage.tables import DocumentChunkRow, DocumentCollectionRow

    lease = tmp_path / "lease.txt"
    lease.write_text("The tenant keeps the garden tidy all year round. " * 300, "utf-8")
    with Workspace.open(data_dir) as workspace:
        workspace.registry.import_model(
            models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False
        )
        kept, other = (workspace.conversations.create(t) for t in ("Lease", "Other"))
        for conversation in (kept, other):
            collection = workspace.documents.conversation_collection(conversation.id)
            workspace.documents.add_paths(collection.id, [lease])
            workspace.documents.index(collection.id)

        def chunks() -> int:
            with workspace.db.session() as session:
                return int(session.scalar(select(func.count(DocumentChunkRow.id))) or 0)

        before = chunks()
        assert before > 0 and before % 2 == 0
        workspace.conversations.trash(other.id)
        workspace.conversations.empty_trash()

        assert chunks() == before // 2  # the other conversation's passages are gone
        with workspace.db.session() as session:
            owners = set(session.scalars(select(DocumentCollectionRow.conversation_id)))
        assert owners == {kept.id}
