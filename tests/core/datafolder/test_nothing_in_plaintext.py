"""A protected workspace after real use: a unique word is found in no byte of any file.

The word goes into a question, a document and a conversation export; the test chats with a
real model, indexes and searches a PDF, exports, and runs a migration, then reads every file
under the data folder and the temporary folder the app used. (Fine-tuning data, checkpoints
and adapters are checked by tests/core/finetune's protected-workspace test.)
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.chat.attachments import AttachmentStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.datafolder.backup import export_backup
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.storage import Database
from tests.support import documents_support as docs

PASSPHRASE = "staple battery horse"
WORD = "zyxquokkamoon"
ATTACHED = "qwvplatypusdawn"  # only in files attached to a question


def _grep(folder: Path, word: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and word in p.read_bytes()]


@pytest.fixture
def app_temp(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "app-temp"
    folder.mkdir()
    previous = tempfile.tempdir
    tempfile.tempdir = str(folder)
    yield folder
    tempfile.tempdir = previous


def test_a_unique_word_is_found_nowhere_on_disk(
    tmp_path: Path, models_dir: Path, app_temp: Path
) -> None:
    root = tmp_path / "data"
    info = WorkspaceDirectory(DataPaths(root)).create("Clinic")
    vault = info.key_file.create(PASSPHRASE)
    # A database at an older schema version, so that opening it runs a migration (and makes
    # the backup copy migrations make).
    Database(
        info.folder / "localai.db", vault=vault, library=root / "library.db", target_version=8
    ).close()
    documents = tmp_path / "user-files"  # the person's own files: not the app's to encrypt
    documents.mkdir()
    pdf = docs.write_pdf(
        documents / "referral.pdf",
        [f"The patient {WORD} was referred for a cardiology review.", *docs.GUIDELINE_PAGES],
    )
    with Workspace.open(root, workspace="Clinic", passphrase=lambda _i: PASSPHRASE) as ws:
        assert ws.db.backup_path is not None  # the migration ran, with its backup
        ws.registry.import_model(
            models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False
        )
        stories = ws.registry.import_model(
            models_dir / "stories260K.gguf", name="stories", probe=False
        )
        ws.documents.create("Referrals")
        ws.documents.add_paths("Referrals", [pdf])
        ws.documents.index("Referrals")
        hits = ws.documents.search(["Referrals"], f"{WORD} cardiology")
        assert hits and WORD in hits[0].text
        service = ChatService(ws.conversations, ws.registry, LlamaEngine(), documents=ws.documents)
        conversation = ws.conversations.create(f"About {WORD}")
        answer = service.send(
            conversation.id,
            f"Summarise the referral of {WORD}.",
            model_id=stories.id,
            settings=GenerationSettings(seed=1, max_tokens=30),
            collections=["Referrals"],
        )
        assert answer.status == "complete"
        # Files attached to a question: a short one kept whole, a long one indexed.
        note = documents / "note.txt"
        note.write_text(f"Allergy noted by {ATTACHED}: penicillin.\n", "utf-8")
        letter = docs.write_pdf(
            documents / "letter.pdf", [f"Letter from {ATTACHED}.", *docs.GUIDELINE_PAGES], filler=4
        )
        attached_answer = service.send(
            conversation.id,
            "What do the letters say?",
            model_id=stories.id,
            settings=GenerationSettings(seed=1, max_tokens=20),
            attach=[note, letter],
        )
        service.engine.unload()
        export = root.parent / "export.age"
        report = export_backup(
            ws.db, ws.settings, export, audit=ws.audit, passphrase=ws.export_passphrase
        )
        assert report.encrypted
        ws.documents.close()
    assert _grep(root, WORD.encode()) == []
    assert _grep(app_temp, WORD.encode()) == []
    assert _grep(root, ATTACHED.encode()) == []
    assert _grep(app_temp, ATTACHED.encode()) == []
    assert WORD.encode() not in export.read_bytes()
    # And the word really went in: the workspace, unlocked, has it.
    with Workspace.open(root, workspace="Clinic", passphrase=lambda _i: PASSPHRASE) as ws:
        assert WORD in ws.conversations.get(conversation.id).messages[0].content
        question = ws.conversations.get(conversation.id).messages[-2]
        assert question.id < attached_answer.id
        kept = AttachmentStore(ws.db).for_message(question.id)
        assert [a.name for a in kept] == ["note.txt", "letter.pdf"]
        assert all(ATTACHED in a.text for a in kept)
