"""`localai chat --attach FILE`: a short file read whole, a long one indexed and cited (real
stories260K and MiniLM, run as real processes); a file that cannot be attached saves nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localai_desktop.core.chat.attachments import AttachmentStore
from localai_desktop.core.datafolder.workspace import Workspace
from tests.cli.test_documents_cli import localai
from tests.support import documents_support as docs


@pytest.fixture
def models(data_dir: Path, models_dir: Path) -> Path:
    localai(data_dir, "models", "import", str(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf"))
    localai(data_dir, "models", "import", str(models_dir / "stories260K.gguf"), "--name", "st")
    return data_dir


def chat(data_dir: Path, *args: str, check: bool = True) -> object:
    return localai(
        data_dir, "chat", "--model", "st", "--max-tokens", "20", "--seed", "3", *args, check=check
    )


def saved_attachments(data_dir: Path) -> dict[str, object]:
    workspace = Workspace.open(data_dir)
    try:
        [summary] = workspace.conversations.list()
        question = workspace.conversations.get(summary.id).messages[0]
        found = AttachmentStore(workspace.db).for_message(question.id)
        return {a.name: a for a in found}
    finally:
        workspace.close()


def test_a_short_file_is_read_whole_and_saved_with_the_question(
    models: Path, tmp_path: Path
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("The tenant pays the water bill. The landlord pays for repairs.\n", "utf-8")
    result = chat(models, "--attach", str(note), "Who pays for repairs?")
    assert "Attached note.txt (read whole)." in result.stderr  # type: ignore[attr-defined]
    [conversation] = json.loads(localai(models, "chats", "list", "--json").stdout)
    shown = json.loads(localai(models, "chats", "show", str(conversation["id"]), "--json").stdout)
    assert shown["messages"][0]["content"] == "Who pays for repairs?"  # the question as typed
    [listed] = shown["messages"][0]["attachments"]
    assert listed["name"] == "note.txt" and listed["used"] == "whole"
    text = localai(models, "chats", "show", str(conversation["id"])).stdout
    assert "  attached: note.txt" in text
    [used] = shown["messages"][1]["provenance"]["attachments"]
    assert used["name"] == "note.txt" and used["used"] == "whole"
    attachment = saved_attachments(models)["note.txt"]
    assert "landlord pays for repairs" in attachment.text  # type: ignore[attr-defined]


def test_a_long_file_is_indexed_in_a_hidden_collection_and_its_passages_cited(
    models: Path, tmp_path: Path
) -> None:
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4)
    result = chat(models, "--attach", str(pdf), "How quickly must antibiotics be given in sepsis?")
    stderr = result.stderr  # type: ignore[attr-defined]
    assert "Attached guideline.pdf (indexed; its best passages are used)." in stderr
    _, _, sources = result.stdout.partition("\nSources:\n")  # type: ignore[attr-defined]
    assert sources.startswith('[1] guideline.pdf, page 7: "Sepsis.')
    # The conversation's own collection is not among the person's collections.
    assert json.loads(localai(models, "docs", "list", "--json").stdout) == []
    attachment = saved_attachments(models)["guideline.pdf"]
    assert not attachment.whole and attachment.pages == 10  # type: ignore[attr-defined]


def test_a_file_that_cannot_be_attached_says_why_and_saves_nothing(
    models: Path, tmp_path: Path
) -> None:
    odd = tmp_path / "model.bin"
    odd.write_bytes(b"\0" * 100)
    result = chat(models, "--attach", str(odd), "Read this", check=False)
    assert result.returncode != 0  # type: ignore[attr-defined]
    assert "model.bin cannot be attached" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    missing = chat(models, "--attach", str(tmp_path / "gone.pdf"), "Read", check=False)
    assert "gone.pdf to attach could not be found" in missing.stderr  # type: ignore[attr-defined]
    scan = chat(
        models, "--attach", str(docs.write_scanned_pdf(tmp_path / "scan.pdf")), "Read", check=False
    )
    assert scan.returncode != 0  # type: ignore[attr-defined]
    assert "scan.pdf" in scan.stderr  # type: ignore[attr-defined]
    assert json.loads(localai(models, "chats", "list", "--json").stdout) == []


def test_a_long_file_follows_the_conversation_even_after_data_import(
    models: Path, tmp_path: Path, models_dir: Path
) -> None:
    # Asked with the file, then the conversation goes to another data folder through
    # 'data export' / 'data import' (the file itself stays behind): continuing it there indexes
    # the file again from its saved text before the turn, and the follow-up is answered from it.
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4)
    chat(models, "--attach", str(pdf), "What is this guideline about?")
    backup = tmp_path / "backup.json"
    localai(models, "data", "export", str(backup))
    pdf.unlink()
    other = tmp_path / "other"
    localai(other, "models", "import", str(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf"))
    localai(other, "models", "import", str(models_dir / "stories260K.gguf"), "--name", "st")
    localai(other, "data", "import", str(backup))
    [conversation] = json.loads(localai(other, "chats", "list", "--json").stdout)
    follow_up = "How quickly must antibiotics be given in sepsis?"
    result = chat(other, "--conversation", str(conversation["id"]), follow_up)
    stderr = result.stderr  # type: ignore[attr-defined]
    assert "Indexing guideline.pdf again from the text saved with the conversation" in stderr
    _, _, sources = result.stdout.partition("\nSources:\n")  # type: ignore[attr-defined]
    assert sources.startswith('[1] guideline.pdf, page 7: "Sepsis.')
    # Indexed once: the next turn finds its passages ready.
    again = chat(other, "--conversation", str(conversation["id"]), follow_up)
    assert "again from the text" not in again.stderr  # type: ignore[attr-defined]
    assert "\nSources:\n[1] guideline.pdf, page 7" in again.stdout  # type: ignore[attr-defined]
