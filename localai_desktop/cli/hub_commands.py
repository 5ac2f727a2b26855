"""`localai models search|show|pull|catalog` and `localai hardware`: find, size and fetch models.

The Hub modules are imported inside the handlers, so commands that never go online (chat,
models list) do not pay for importing huggingface_hub.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from localai_desktop.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED
from localai_desktop.cli.output import print_json, print_table
from localai_desktop.core.common.errors import ModelTooLargeError
from localai_desktop.core.common.units import format_bytes, format_parameter_count
from localai_desktop.core.datafolder.settings import resolve_hub_endpoint
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.hub.licenses import commercial_use_label
from localai_desktop.core.inference.generation import DEFAULT_CONTEXT_LENGTH
from localai_desktop.core.models.hardware import (
    VERDICT_LABELS,
    Machine,
    detect_machine,
    fit_verdict,
)
from localai_desktop.core.speed.prediction import describe_speed, predicted_speed

if TYPE_CHECKING:
    from localai_desktop.core.hub.client import HubClient
    from localai_desktop.core.hub.download_store import DownloadProgress

SORTS = ("downloads", "likes", "recent")


def add_global_options(parser: argparse.ArgumentParser, *, on_subcommand: bool = False) -> None:
    """--hub-endpoint and --offline, accepted before the command or after it."""
    # On a subcommand the default is SUPPRESS, so it does not overwrite a value given earlier.
    default: Any = argparse.SUPPRESS if on_subcommand else None
    parser.add_argument(
        "--hub-endpoint",
        metavar="URL",
        default=default,
        help="Hugging Face address (default: $HF_ENDPOINT, the saved setting or huggingface.co)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        default=argparse.SUPPRESS if on_subcommand else False,
        help="do not connect to Hugging Face, nor to remote engines not allowed offline",
    )


def add_model_commands(models: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add search, show, pull and catalog to the `models` command."""
    search = models.add_parser("search", help="search Hugging Face for GGUF models")
    search.add_argument("query")
    search.add_argument("--sort", choices=SORTS, default="downloads")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_search)
    show = models.add_parser(
        "show", help="a local model's facts, or a Hub repo's files and whether they fit here"
    )
    show.add_argument("repo", help="a model in your list (see 'models list') or a Hub repo")
    show.add_argument("--context-length", type=int, default=DEFAULT_CONTEXT_LENGTH)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)
    pull = models.add_parser("pull", help="download a model (Ctrl-C pauses; run again to resume)")
    pull.add_argument("repo")
    which = pull.add_mutually_exclusive_group()
    which.add_argument("--quant", help="quantization, e.g. Q4_K_M (default: recommended)")
    which.add_argument("--file", help="exact file name in the repo")
    pull.add_argument("--context-length", type=int, default=DEFAULT_CONTEXT_LENGTH)
    pull.set_defaults(handler=_pull)
    catalog = models.add_parser("catalog", help="recommended models (works offline)")
    catalog.add_argument("--json", action="store_true")
    catalog.set_defaults(handler=_catalog)
    for parser in (search, show, pull):
        add_global_options(parser, on_subcommand=True)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `hardware` to the top-level commands."""
    hardware = commands.add_parser("hardware", help="memory and GPU of this computer")
    hardware.add_argument("--json", action="store_true")
    hardware.set_defaults(handler=_hardware)


def _online_settings(workspace: Workspace, args: argparse.Namespace) -> tuple[str, bool, int]:
    settings = workspace.load_settings()
    endpoint = resolve_hub_endpoint(getattr(args, "hub_endpoint", None), settings)
    offline = bool(getattr(args, "offline", False)) or settings.offline_mode
    return endpoint, offline, settings.max_parallel_downloads


def _hub(workspace: Workspace, args: argparse.Namespace) -> HubClient:
    return workspace.hub_client(
        getattr(args, "hub_endpoint", None), offline=bool(getattr(args, "offline", False))
    )


def _search(workspace: Workspace, args: argparse.Namespace) -> int:
    results = _hub(workspace, args).search(args.query, sort=args.sort, limit=args.limit)
    if args.json:
        print_json([r.to_json() for r in results])
        return 0
    if not results:
        print(f"No GGUF models found for '{args.query}'.")
        return 0
    rows = [
        [r.repo_id, str(r.downloads), str(r.likes), (r.last_modified or "")[:10], r.license or "-"]
        for r in results
    ]
    print_table(["REPO", "DOWNLOADS", "LIKES", "UPDATED", "LICENSE"], rows)
    return 0


def _show(workspace: Workspace, args: argparse.Namespace) -> int:
    from localai_desktop.cli.model_commands import show_local_model
    from localai_desktop.core.models.hardware import recommend_quant

    local = next((m for m in workspace.registry.list() if m.name == args.repo), None)
    if local is not None:
        if args.json:
            print_json(local.to_json())
        else:
            show_local_model(local)
        return 0
    hub = _hub(workspace, args)
    details = hub.details(args.repo)
    facts = hub.model_facts(details)
    machine = detect_machine()
    recommended = recommend_quant(details.choices, facts, args.context_length, machine)
    verdicts = {
        c.first_file: fit_verdict(c.total_bytes, facts, args.context_length, machine)
        for c in details.choices
    }
    speed = workspace.speed_for_predictions()
    embedding = bool(details.catalog_entry and details.catalog_entry.is_embedding_model)
    speeds = {
        c.first_file: predicted_speed(
            c.total_bytes, c.quantization, verdicts[c.first_file], speed, embedding=embedding
        )
        for c in details.choices
    }
    if args.json:
        data = details.to_json()
        for choice in data["choices"]:
            choice["verdict"] = verdicts[choice["first_file"]]
            choice["predicted_tokens_per_second"] = _rounded(speeds[choice["first_file"]])
            choice["recommended"] = bool(
                recommended and recommended.first_file == choice["first_file"]
            )
        data["machine"] = machine.to_json()
        data["machine_speed"] = speed.to_json()
        data["context_length_for_verdicts"] = args.context_length
        print_json(data)
        return 0
    print(f"{details.repo_id} (commit {details.commit[:12]})")
    if details.catalog_entry is not None:
        print(details.catalog_entry.good_for)
    license_text = details.license or "unknown"
    print(f"License: {license_text}. {commercial_use_label(details.commercial_use)}.")
    print(f"This computer: {machine.describe()}")
    if not details.choices:
        print("This repo has no GGUF model files.")
        return 0
    rows = [
        [
            choice.label,
            format_bytes(choice.total_bytes),
            VERDICT_LABELS[verdicts[choice.first_file]],
            describe_speed(speeds[choice.first_file]),
            "recommended" if choice is recommended else "",
        ]
        for choice in details.choices
    ]
    header = ["QUANT", "SIZE", f"AT {args.context_length} TOKENS OF CONTEXT", "SPEED HERE", ""]
    print_table(header, rows)
    return 0


def _pull(workspace: Workspace, args: argparse.Namespace) -> int:
    from localai_desktop.core.hub.download_store import DownloadRequest
    from localai_desktop.core.hub.downloads import DownloadManager
    from localai_desktop.core.models.hardware import recommend_quant

    endpoint, offline, _ = _online_settings(workspace, args)
    hub = _hub(workspace, args)
    details = hub.details(args.repo)
    facts = hub.model_facts(details)
    machine = detect_machine()
    if args.quant or args.file:
        choice = details.choice(quant=args.quant, file=args.file)
    else:
        choice = recommend_quant(details.choices, facts, args.context_length, machine)
        if choice is None:
            raise _too_large(details.repo_id, machine)
        print(f"Choosing {choice.label}, recommended for this computer.", file=sys.stderr)
    verdict = fit_verdict(choice.total_bytes, facts, args.context_length, machine)
    if verdict == "too_large":
        raise _too_large(f"{details.repo_id} {choice.label}", machine)
    if details.commercial_use is False:
        print(
            f"Note: the license ({details.license}) does not allow commercial use.", file=sys.stderr
        )
    manager = DownloadManager(
        workspace.db, workspace.registry, workspace.paths.models, endpoint=endpoint, offline=offline
    )
    manager.add_listener(_ProgressPrinter())
    interrupted = threading.Event()

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if interrupted.is_set():  # a second Ctrl-C while pausing: give up at once
            raise KeyboardInterrupt
        interrupted.set()

    # The handler only sets a flag: it runs on the main thread, which may hold the manager's
    # lock at that moment.
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        download_id = manager.start(DownloadRequest.for_choice(details, choice))
        progress = manager.wait(download_id, timeout=0.2)
        while manager.is_active(download_id):
            if interrupted.is_set():
                manager.pause(download_id)
            progress = manager.wait(download_id, timeout=0.2)
    finally:
        signal.signal(signal.SIGINT, previous)
        manager.shutdown()
    return _report_outcome(progress)


def _report_outcome(progress: DownloadProgress | None) -> int:
    if progress is None:
        return EXIT_ERROR
    if progress.state == "done":
        print(
            f"Downloaded, verified and added '{progress.name}'. "
            f'Chat with it: localai chat --model {progress.name} "Hello"',
        )
        return 0
    if progress.state == "paused":
        print(
            f"Paused with {format_bytes(progress.bytes_done)} of "
            f"{format_bytes(progress.bytes_total)} saved. Run the same command again to resume.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(f"Error: {progress.error or 'the download stopped.'}", file=sys.stderr)
    return EXIT_ERROR


def _too_large(what: str, machine: Machine) -> ModelTooLargeError:
    return ModelTooLargeError(
        f"{what} needs more memory than this computer has ({machine.describe()}).",
        "Choose a smaller quantization with --quant (see 'localai models show REPO') or a "
        "smaller model.",
    )


_STATE_WORDS = {
    "queued": "Waiting to download",
    "downloading": "Downloading",
    "registering": "Checking and adding",
    "paused": "Paused",
    "failed": "Failed",
    "done": "Added",
    "cancelled": "Cancelled",
}


class _ProgressPrinter:
    """Download progress on stderr: one updating line on a terminal, a line per 10% otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_state = ""
        self.last_tenth = -1
        self.lock = threading.Lock()

    def __call__(self, progress: DownloadProgress) -> None:
        with self.lock:
            tenth = int(progress.fraction * 10)
            if not self.tty and progress.state == self.last_state and tenth == self.last_tenth:
                return
            self.last_state, self.last_tenth = progress.state, tenth
            state = _STATE_WORDS.get(progress.state, progress.state)
            line = f"{state} {progress.name}: {progress.fraction:4.0%}"
            line += f"  {format_bytes(progress.bytes_done)} of {format_bytes(progress.bytes_total)}"
            if progress.state == "downloading" and progress.bytes_per_second:
                line += f"  {format_bytes(int(progress.bytes_per_second))}/s"
                if progress.seconds_left and progress.bytes_done < progress.bytes_total:
                    line += f"  {_duration(progress.seconds_left)} left"
            end = "\n" if not self.tty or progress.state != "downloading" else ""
            print(("\r\033[K" if self.tty else "") + line, end=end, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _catalog(workspace: Workspace, args: argparse.Namespace) -> int:
    from localai_desktop.core.hub.catalog import load_catalog

    catalog = load_catalog()
    if args.json:
        machine = detect_machine()
        speed = workspace.speed_for_predictions()
        models = []
        for entry in catalog.entries:
            data = entry.to_json()
            data["files"] = [
                {
                    "quantization": choice.quantization,
                    "estimated_bytes": choice.total_bytes,
                    "predicted_tokens_per_second": _rounded(
                        predicted_speed(
                            choice.total_bytes,
                            choice.quantization,
                            fit_verdict(
                                choice.total_bytes, entry.facts(), DEFAULT_CONTEXT_LENGTH, machine
                            ),
                            speed,
                            embedding=entry.is_embedding_model,
                        )
                    ),
                }
                for choice in entry.estimated_choices()
            ]
            models.append(data)
        print_json(
            {
                "schema_version": catalog.schema_version,
                "machine_speed": speed.to_json(),
                "models": models,
            }
        )
        return 0
    rows = [
        [
            e.name,
            e.kind,
            format_parameter_count(e.parameter_count),
            f"{e.context_length // 1024}K",
            e.license + ("" if e.commercial_use else " (not commercial)"),
            e.repo_id,
        ]
        for e in catalog.entries
    ]
    print_table(["NAME", "KIND", "PARAMS", "CONTEXT", "LICENSE", "REPO"], rows)
    print("\nSee the files and whether they fit this computer: localai models show REPO")
    return 0


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _hardware(workspace: Workspace, args: argparse.Namespace) -> int:
    machine = detect_machine()
    if args.json:
        print_json(machine.to_json())
        return 0
    print(machine.describe())
    print(f"CPU cores: {machine.cpu_cores}")
    print(f"GPU offload in this build: {'yes' if machine.gpu_offload_supported else 'no'}")
    return 0
