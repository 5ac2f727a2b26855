"""API chats kept as conversations: what is kept, what is not, and never in plaintext."""

from __future__ import annotations

from pathlib import Path

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.server.api_conversations import API_TITLE_PREFIX, save_as_conversation
from localai_desktop.core.server.jobs import GenerationJob, run_generation
from localai_desktop.core.server.parsing import Sampling

PASSPHRASE = "staple battery horse"
WORD = "zyxquokkaserve"


def _grep(folder: Path, word: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and word in p.read_bytes()]


def test_a_kept_api_chat_is_a_conversation_in_the_protected_database_only(
    tmp_path: Path, models_dir: Path
) -> None:
    root = tmp_path / "data"
    info = WorkspaceDirectory(DataPaths(root)).create("Clinic")
    info.key_file.create(PASSPHRASE)
    with Workspace.open(root, workspace="Clinic", passphrase=lambda _i: PASSPHRASE) as ws:
        stories = ws.registry.import_model(
            models_dir / "stories260K.gguf", name="stories", probe=False
        )
        service = ChatService(ws.conversations, ws.registry, LlamaEngine(n_threads=1))
        turns = (
            ChatTurn("system", "You write short stories."),
            ChatTurn("user", f"A story about {WORD}."),
            ChatTurn("assistant", "Once upon a time."),
            ChatTurn("user", "Go on."),
        )
        job = GenerationJob(stories, Sampling(max_tokens=12, seed=3), 2048, turns=turns)
        run_generation(service, job)
        conversation_id = save_as_conversation(ws.conversations, job)
        assert conversation_id is not None

        cancelled = GenerationJob(stories, Sampling(max_tokens=12), 2048, turns=turns)
        cancelled.cancel.set()
        run_generation(service, cancelled)
        assert save_as_conversation(ws.conversations, cancelled) is None  # nobody got it
        service.engine.unload()

        kept = ws.conversations.get(conversation_id)
        assert [c.id for c in ws.conversations.list()] == [conversation_id]
        assert kept.title == API_TITLE_PREFIX + f"A story about {WORD}."
        assert kept.system_prompt == "You write short stories."
        assert [(m.role, m.content) for m in kept.messages] == [
            ("user", f"A story about {WORD}."),
            ("assistant", "Once upon a time."),
            ("user", "Go on."),
            ("assistant", job.text),
        ]
        answer = kept.messages[-1]
        assert answer.status == "complete" and job.text
        assert answer.provenance["model_sha256"] == stories.sha256
        assert answer.provenance["api_completion_tokens"] == 12
    # Encrypted with the workspace: the word is in no file of the data folder.
    assert _grep(root, WORD.encode()) == []
