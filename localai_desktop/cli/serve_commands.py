"""`localai serve` and `localai server token`: the OpenAI-compatible local server."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from localai_desktop.cli.exit_codes import EXIT_INTERRUPTED
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import DEFAULT_CONTEXT_LENGTH
from localai_desktop.core.server.access import (
    ALL_INTERFACES,
    DEFAULT_PORT,
    LOOPBACK_HOST,
    NETWORK_WARNING,
    is_loopback,
)
from localai_desktop.core.server.api import ApiService, audit_recorder
from localai_desktop.core.server.http_server import ApiServer
from localai_desktop.core.server.owner import (
    DEFAULT_MAX_WAITING,
    DEFAULT_PARALLEL,
    ThreadedModelOwner,
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve` and `server token` to the top-level commands."""
    serve = commands.add_parser(
        "serve",
        help="let other programs use your models through an OpenAI-compatible API",
        description="Serve the models on this computer through an OpenAI-compatible API "
        "(base URL printed at start). Every request needs the access token that "
        "'localai server token' prints. Stop with Ctrl-C.",
    )
    serve.add_argument(
        "--host", help=f"address to listen on (default {LOOPBACK_HOST}: this computer only)"
    )
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="default %(default)s")
    serve.add_argument(
        "--allow-network",
        action="store_true",
        help=f"let other computers connect (listens on {ALL_INTERFACES} unless --host says "
        "otherwise); read the warning it prints",
    )
    serve.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME",
        help="serve only this model, loaded at start (repeatable; default: every model, "
        "each loaded when first asked for)",
    )
    serve.add_argument(
        "--context-length",
        type=int,
        default=DEFAULT_CONTEXT_LENGTH,
        help="tokens a chat model reads at once (capped at what it was trained for; "
        "default %(default)s)",
    )
    serve.add_argument(
        "--queue-limit",
        type=int,
        default=DEFAULT_MAX_WAITING,
        help="requests that may wait per model; more get 429 (default %(default)s)",
    )
    serve.add_argument(
        "--parallel",
        type=int,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help="requests a chat model answers at once, decoded together (more tokens per "
        "second in all; each costs memory for one more context; 1: one after the other; "
        "default %(default)s)",
    )
    serve.set_defaults(handler=_serve)

    server = commands.add_parser("server", help="the local server's access token").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    token = server.add_parser("token", help="print the access token clients must send")
    token.add_argument(
        "--regenerate",
        action="store_true",
        help="make a new token; clients still sending the old one are refused",
    )
    token.set_defaults(handler=_token)


def _token(workspace: Workspace, args: argparse.Namespace) -> int:
    print(workspace.settings.server_token(regenerate=args.regenerate))
    if args.regenerate:
        print("The old token no longer works; give clients this one.", file=sys.stderr)
    return 0


def _serve(workspace: Workspace, args: argparse.Namespace) -> int:
    host = _listen_address(args)
    if not 0 <= args.port <= 65535:
        raise LocalAIError(f"{args.port} is not a port number.", "Choose one from 1024 to 65535.")
    if args.context_length < 256 or args.queue_limit < 0 or args.parallel < 1:
        raise LocalAIError(
            "--context-length must be at least 256, --queue-limit at least 0 and --parallel "
            "at least 1.",
            "Leave them out to use the defaults.",
        )
    workspace.settings.server_token()  # made on first use, so clients can be given it now
    service = ChatService(workspace.conversations, workspace.registry, LlamaEngine())
    owner = ThreadedModelOwner(service, max_waiting=args.queue_limit, parallel=args.parallel)
    try:
        api = ApiService(
            workspace.registry,
            owner,
            models=args.model,
            context_length=args.context_length,
            recorder=audit_recorder(workspace.audit),
        )
        for name in api.allowed:
            print(f"Loading '{name}'...", file=sys.stderr, flush=True)
            owner.load(workspace.registry.get(name), args.context_length)
        server = ApiServer(
            api, lambda: workspace.settings.load().server_token, host=host, port=args.port
        )
    except KeyboardInterrupt:
        owner.close()
        print("Stopped before the server started.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        owner.close()
        raise
    try:
        _announce(server, api)
        _serve_until_stopped(server)
    finally:
        print("Stopping: unfinished requests are cancelled...", file=sys.stderr, flush=True)
        server.close()
        owner.close()
    print("Stopped.", file=sys.stderr)
    return 0


def _listen_address(args: argparse.Namespace) -> str:
    host = args.host or (ALL_INTERFACES if args.allow_network else LOOPBACK_HOST)
    if not is_loopback(host) and not args.allow_network:
        raise LocalAIError(
            f"Listening on {host} would let other computers reach your models.",
            "Add --allow-network if that is what you want (read the warning it prints), or "
            "leave --host out to serve this computer only.",
        )
    return host


def _announce(server: ApiServer, api: ApiService) -> None:
    print(server.base_url, flush=True)
    names = [model.name for model in api.served_models()]
    served = ", ".join(names) if names else "none yet (import one with 'localai models import')"
    print(
        f"Serving an OpenAI-compatible API at {server.base_url} (models: {served}).\n"
        "Clients send the access token as their API key: 'localai server token' prints it.\n"
        "Requests are recorded in the audit trail as hashes, not stored as conversations.\n"
        "Press Ctrl-C to stop.",
        file=sys.stderr,
    )
    if not is_loopback(server.host):
        print(
            "Warning: " + NETWORK_WARNING.format(host=server.host, port=server.port),
            file=sys.stderr,
        )
    sys.stderr.flush()


def _serve_until_stopped(server: ApiServer) -> None:
    """Serve until Ctrl-C (or a termination signal)."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    stops = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    previous = {number: signal.signal(number, on_signal) for number in stops}
    try:
        server.start()
        while not stop.wait(0.5):
            pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
