"""Protected (encrypted) workspaces against plaintext ones: the cost of SQLCipher where it shows.

Run by hand: `.venv/bin/python bench/bench_encryption.py` (about 10 minutes on 2 cores with the
default 100,000 passages; `--passages 10000` for a quick look). Two workspaces of one data
folder hold the same content, one plaintext and one protected; every measurement alternates
between them round by round, so a busy moment of this shared machine hits both alike. Printed:

- unlock: scrypt (N=2^17, r=8) unwrapping the data key, plus opening the encrypted database
  (goal < 1 s);
- chat write-through: a streamed answer as the app writes it (one UPDATE of the growing text
  per second of decoding through PartialAnswerWriter, then the final update), per answer;
- conversation listing: ConversationStore.list() over 2,000 conversations;
- retrieval: DocumentLibrary.search (query embedding with MiniLM, BM25 over FTS5, vectors,
  fusion, fetching the passages) at --passages passages.
Goal for the last three: encrypted within 1.3x of plaintext (p95 ratio).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_documents import grow, zipf_vocabulary
from documents_eval import write_eval_set

from localai_desktop.core.chat.conversations import PartialAnswerWriter
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory

PASSPHRASE = "benchmark passphrase"
MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _open(root: Path, name: str) -> Workspace:
    return Workspace.open(root, workspace=name, passphrase=lambda _i: PASSPHRASE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-encryption-"))
    directory = WorkspaceDirectory(DataPaths(root))
    directory.create("Plain")
    directory.create("Protected").key_file.create(PASSPHRASE)

    unlock_s = []
    for _ in range(5):
        started = time.perf_counter()
        _open(root, "Protected").close()
        unlock_s.append(time.perf_counter() - started)

    spaces = {name: _open(root, name) for name in ("Plain", "Protected")}
    docs_folder = root / "eval-docs"
    questions = write_eval_set(docs_folder)
    vocabulary = zipf_vocabulary([w for q in questions for w in q.text.split()])
    for ws in spaces.values():
        ws.registry.import_model(MODELS / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False)
        break
    for name, ws in spaces.items():
        ws.documents.create("Eval")
        ws.documents.add_paths("Eval", sorted(docs_folder.iterdir()))
        ws.documents.index("Eval")
        grow(ws.documents, args.passages, vocabulary, seed=3)
        for i in range(args.conversations):
            conversation = ws.conversations.create(f"Conversation {i}")
            if i % 100 == 0:
                ws.conversations.add_message(conversation.id, "user", "A question " * 20)
        print(f"{name}: filled", file=sys.stderr)

    timings: dict[str, dict[str, list[float]]] = {
        n: {"write": [], "list": [], "search": []} for n in spaces
    }
    answer = " ".join(["word"] * 400)
    for _round in range(args.rounds):
        for name, ws in spaces.items():
            conversation = ws.conversations.create("Streaming")
            for _ in range(10):
                message = ws.conversations.add_message(conversation.id, "assistant", "")
                started = time.perf_counter()
                writer = PartialAnswerWriter(ws.db, message.id)
                for cut in range(40, len(answer), 40):  # ten partial writes, then the last
                    writer.write(answer[:cut])
                writer.close()
                ws.conversations.update_message(message.id, content=answer)
                timings[name]["write"].append((time.perf_counter() - started) * 1000)
            for _ in range(5):
                started = time.perf_counter()
                ws.conversations.list()
                timings[name]["list"].append((time.perf_counter() - started) * 1000)
            for question in questions[:20]:
                started = time.perf_counter()
                ws.documents.search(["Eval"], question.text, k=5)
                timings[name]["search"].append((time.perf_counter() - started) * 1000)
    for ws in spaces.values():
        ws.documents.close()
        ws.close()

    print(
        f"\nunlock (scrypt + open): median {statistics.median(unlock_s):.2f} s, "
        f"max {max(unlock_s):.2f} s (goal < 1 s)"
    )
    print(
        f"{args.passages:,} passages, {args.conversations:,} conversations, "
        f"{args.rounds} rounds alternating\n"
    )
    print(
        f"{'what':<28}{'plain p50':>10}{'p95':>9}{'protected p50':>15}{'p95':>9}{'ratio p95':>11}"
    )
    for key, label in (
        ("write", "chat write-through (ms)"),
        ("list", "conversation listing (ms)"),
        ("search", "retrieval (ms)"),
    ):
        plain, protected = timings["Plain"][key], timings["Protected"][key]
        ratio = _p(protected, 0.95) / _p(plain, 0.95)
        print(
            f"{label:<28}{_p(plain, 0.5):>10.1f}{_p(plain, 0.95):>9.1f}"
            f"{_p(protected, 0.5):>15.1f}{_p(protected, 0.95):>9.1f}{ratio:>10.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
