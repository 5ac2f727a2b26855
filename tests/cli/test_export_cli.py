"""`localai chats export`: a real answer from a real model, exported and read back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pypdfium2
from docx import Document

from tests.cli.test_cli import localai

STORIES_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"


def test_a_real_answer_exports_to_pdf_and_word_with_its_model_hash(
    data_dir: Path, stories260k: Path, tmp_path: Path
) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--name", "stories")
    localai(data_dir, "chat", "--model", "stories", "--seed", "3", "--max-tokens", "40",
            "Once upon a time")  # fmt: skip

    pdf_path = tmp_path / "story.pdf"
    out = localai(data_dir, "chats", "export", "1", "--format", "pdf", "-o", str(pdf_path))
    assert f"to {pdf_path} (PDF document" in out.stdout
    document = pypdfium2.PdfDocument(str(pdf_path))
    text = "".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    assert "Once upon a time" in text and "User · " in text and "Assistant · " in text
    assert STORIES_SHA256 in text.replace("\r\n", "")
    assert "Seed" in text

    docx_path = tmp_path / "story.docx"
    written = json.loads(
        localai(data_dir, "chats", "export", "1", "-o", str(docx_path), "--json").stdout
    )
    assert written["format"] == "docx" and written["messages"] == 2
    word = Document(written["file"])
    assert word.paragraphs[0].text == "Once upon a time"  # the title
    digest = hashlib.sha256(Path(written["file"]).read_bytes()).hexdigest()
    assert written["sha256"] == digest

    trail = json.loads(localai(data_dir, "audit", "list", "--json").stdout)
    exports = [e for e in trail if e["kind"] == "conversation_exported"]
    assert [e["facts"]["format"] for e in exports] == ["docx", "pdf"]  # newest first
    assert exports[0]["facts"]["file_sha256"] == digest


def test_export_into_a_folder_uses_the_title_and_bad_input_is_explained(
    data_dir: Path, tmp_path: Path
) -> None:
    from localai_desktop.core.datafolder.workspace import Workspace
    from tests.support.export_support import store_lease_conversation

    workspace = Workspace.open(data_dir)
    conversation = store_lease_conversation(workspace.conversations)
    workspace.close()

    out = localai(data_dir, "chats", "export", str(conversation.id), "--format", "md",
                  "-o", str(tmp_path))  # fmt: skip
    assert (tmp_path / "Lease review for Mrs Example.md").is_file(), out.stdout

    wrong = localai(data_dir, "chats", "export", str(conversation.id), "-o",
                    str(tmp_path / "x.odt"), check=False)  # fmt: skip
    assert wrong.returncode == 1 and "ending in .docx, .pdf, .md or .html" in wrong.stderr
    missing = localai(data_dir, "chats", "export", "99", "--format", "pdf", check=False)
    assert missing.returncode == 1 and "Conversation 99 does not exist" in missing.stderr
    bad_message = localai(data_dir, "chats", "export", str(conversation.id), "--message", "77",
                          "-o", str(tmp_path / "m.pdf"), check=False)  # fmt: skip
    assert bad_message.returncode == 1 and "Message 77 is not in conversation" in bad_message.stderr
