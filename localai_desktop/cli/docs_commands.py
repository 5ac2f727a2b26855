"""`localai docs ...`: document collections from the command line (create, add, search, remove)."""

from __future__ import annotations

import argparse
import sys
import time

from localai_desktop.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED
from localai_desktop.cli.interruptible import run_interruptibly
from localai_desktop.cli.output import print_json, print_table
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.documents.collections import AddResult, DocumentLibrary
from localai_desktop.core.documents.index_store import DocumentFile
from localai_desktop.core.documents.indexer import IndexingState, IndexProgress, IndexReport
from localai_desktop.core.documents.retrieval import MODES


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `docs` and its actions to the top-level commands."""
    docs = commands.add_parser("docs", help="document collections to search and chat with")
    actions = docs.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a collection")
    create.add_argument("name")
    create.add_argument(
        "--embedding-model", help="embedding model to index with (default: the only one)"
    )
    create.set_defaults(handler=_create)
    add = actions.add_parser("add", help="add files or folders and index them")
    add.add_argument("name")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--no-index", action="store_true", help="only register; index later")
    add.set_defaults(handler=_add)
    index = actions.add_parser("index", help="index what is pending or was interrupted")
    index.add_argument("name")
    index.set_defaults(handler=_index)
    refresh = actions.add_parser(
        "refresh", help="re-index changed files, drop deleted ones, pick up new folder files"
    )
    refresh.add_argument("name")
    refresh.set_defaults(handler=_refresh)
    lst = actions.add_parser("list", help="list collections")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_list)
    status = actions.add_parser("status", help="each file of a collection and its status")
    status.add_argument("name")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)
    search = actions.add_parser("search", help="find passages (hybrid keyword + meaning)")
    search.add_argument("name")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5, help="passages to show (default 5)")
    search.add_argument("--mode", choices=MODES, default="hybrid")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_search)
    remove = actions.add_parser(
        "remove",
        help="take files out of a collection with their passages (the files are not touched)",
    )
    remove.add_argument("name", metavar="COLLECTION")
    remove.add_argument(
        "files", nargs="+", metavar="FILE", help="a path, or a file name as 'docs status' lists it"
    )
    remove.set_defaults(handler=_remove)
    rm = actions.add_parser("rm", help="delete a collection (your files are not touched)")
    rm.add_argument("name")
    rm.set_defaults(handler=_rm)


def _create(workspace: Workspace, args: argparse.Namespace) -> int:
    collection = workspace.documents.create(args.name, embedding_model=args.embedding_model)
    print(
        f"Created the collection '{collection.name}' "
        f"(embedding model: {collection.embedding_model_name}). "
        f"Add files with: localai docs add '{collection.name}' PATH..."
    )
    return 0


def _add(workspace: Workspace, args: argparse.Namespace) -> int:
    library = workspace.documents
    result = library.add_paths(args.name, args.paths)
    _print_added(result)
    if args.no_index:
        return EXIT_ERROR if result.not_found else 0
    code = _run_indexing(library, args.name)
    return code or (EXIT_ERROR if result.not_found else 0)


def _index(workspace: Workspace, args: argparse.Namespace) -> int:
    return _run_indexing(workspace.documents, args.name)


def _refresh(workspace: Workspace, args: argparse.Namespace) -> int:
    library = workspace.documents
    _print_added(library.refresh(args.name))
    return _run_indexing(library, args.name)


def _print_added(result: AddResult) -> None:
    for path in result.not_found:
        print(f"Not found (skipped): {path}", file=sys.stderr)
    for path in result.removed:
        print(f"Removed (no longer there): {path}", file=sys.stderr)
    if result.pending:
        print(f"{len(result.pending)} file(s) to check and index.", file=sys.stderr)


class _ProgressPrinter:
    """Progress on stderr: one updating line on a terminal; a line every 10 s and per file in
    a log or a pipe."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._last = time.monotonic()

    def on_progress(self, progress: IndexProgress) -> None:
        now = time.monotonic()
        if now - self._last < (0.2 if self.tty else 10.0):
            return
        self._last = now
        where = progress.current_file or ""
        if progress.current_page and progress.current_file_pages:
            where += f" page {progress.current_page}/{progress.current_file_pages}"
        left = f", {_duration(progress.eta_s)} left" if progress.eta_s is not None else ""
        line = (
            f"[{progress.fraction * 100:3.0f}%] {progress.files_done}/{progress.files_total} "
            f"files, {progress.pages_done} pages{left}  {where}"
        )
        if self.tty:
            print(f"\r{line[:110]:<110}", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def on_file(self, file: DocumentFile) -> None:
        if self.tty:
            print("\r" + " " * 110 + "\r", end="", file=sys.stderr)
        detail = f" ({file.chunks} passages)" if file.status == "indexed" else ""
        if file.status == "indexed" and file.recognition_note:
            detail = f" ({file.chunks} passages, {file.recognition_note})"
        reason = f": {file.reason}" if file.reason else ""
        print(f"{file.status:>8}  {file.name}{detail}{reason}", file=sys.stderr, flush=True)


def _run_indexing(library: DocumentLibrary, name: str) -> int:
    printer = _ProgressPrinter()
    state = IndexingState(on_progress=printer.on_progress, on_file=printer.on_file)

    def on_interrupt() -> None:
        print("\nStopping after the current passages…", file=sys.stderr)
        state.request_interruption()

    try:
        report = run_interruptibly(
            lambda: library.index(name, state), on_interrupt=on_interrupt, name="indexer"
        )
    finally:
        library.close()
    print(_summary(report), file=sys.stderr)
    if report.cancelled:
        print(
            f"Stopped. Everything indexed so far is kept; continue with: localai docs index "
            f"'{name}'",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


def _summary(report: IndexReport) -> str:
    parts = [f"{report.indexed} indexed"]
    for count, label in (
        (report.unchanged, "unchanged"),
        (report.skipped, "skipped"),
        (report.failed, "failed"),
    ):
        if count:
            parts.append(f"{count} {label}")
    speed = ""
    if report.seconds > 0 and report.words:
        speed = f", {report.words / report.seconds:.0f} words/s"
        if report.pages:
            speed += f", {report.pages / report.seconds:.1f} pages/s"
    return (
        f"Done: {', '.join(parts)}; {report.chunks} passages, {report.pages} pages in "
        f"{_duration(report.seconds)}{speed}."
    )


def _duration(seconds: float | None) -> str:
    seconds = max(0, round(seconds or 0))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _list(workspace: Workspace, args: argparse.Namespace) -> int:
    collections = workspace.documents.list()
    if args.json:
        print_json([c.to_json() for c in collections])
        return 0
    if not collections:
        print("No collections yet. Create one with: localai docs create NAME")
        return 0
    rows = [
        [c.name, str(c.file_count), str(c.chunk_count), c.embedding_model_name] for c in collections
    ]
    print_table(["NAME", "FILES", "PASSAGES", "EMBEDDING MODEL"], rows)
    return 0


def _status(workspace: Workspace, args: argparse.Namespace) -> int:
    library = workspace.documents
    collection = library.get(args.name)
    files = library.files(collection.id)
    if args.json:
        print_json({**collection.to_json(), "files": [f.to_json() for f in files]})
        return 0
    counts = ", ".join(f"{n} {s}" for s, n in collection.status_counts) or "no files"
    print(f"{collection.name}: {counts}; {collection.chunk_count} passages")
    rows = [
        [
            f"{f.status} ({f.recognition_note})"
            if f.status == "indexed" and f.recognition_note
            else f.status,
            str(f.pages or ""),
            str(f.chunks),
            f.display_name or str(f.path),
            f.reason or "",
        ]
        for f in files
    ]
    if rows:
        print_table(["STATUS", "PAGES", "PASSAGES", "FILE", "REASON"], rows)
    return 0


def _search(workspace: Workspace, args: argparse.Namespace) -> int:
    library = workspace.documents
    try:
        hits = library.search([args.name], args.query, k=args.k, mode=args.mode)
    finally:
        library.close()
    if args.json:
        print_json([hit.to_json() for hit in hits])
        return 0
    if not hits:
        print("Nothing found. Is the collection indexed? See: localai docs status", args.name)
        return 0
    for hit in hits:
        marker = "" if hit.relevant else "  (weak match)"
        print(f"[{hit.rank}] {hit.location}  score {hit.score:.4f}{marker}")
        text = " ".join(hit.text.split())
        print(f"    {text[:400]}{'…' if len(text) > 400 else ''}\n")
    return 0


def _remove(workspace: Workspace, args: argparse.Namespace) -> int:
    library = workspace.documents
    collection = library.get(args.name)
    removed = library.remove_files(collection.id, args.files)
    for file in removed:
        passages = ""
        if file.chunks:
            passages = (
                " and its passage" if file.chunks == 1 else f" and its {file.chunks} passages"
            )
        print(f"Removed {file.path}{passages} from '{collection.name}'.")
    print("Searches and chats no longer find them; the files themselves were not touched.")
    for file in removed:
        if file.folder is not None and file.path.exists():
            print(
                f"Note: {file.name} is still in {file.folder}, a folder this collection follows: "
                f"'localai docs refresh' adds it again unless you move it out of that folder.",
                file=sys.stderr,
            )
    return 0


def _rm(workspace: Workspace, args: argparse.Namespace) -> int:
    collection = workspace.documents.delete(args.name)
    print(f"Deleted the collection '{collection.name}'. Your files were not touched.")
    return 0
