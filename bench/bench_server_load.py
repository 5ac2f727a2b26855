"""The desktop app's API server under load, against llama-cpp-python's own OpenAI server.

Run by hand:
    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_server_load.py [--repeats 2]

Both servers get the same requests in the same run, interleaved (app, llama-cpp-python, app,
...): `--clients` streaming chats started together, `--rounds` times, on stories260K, at most
`--max-tokens` tokens each, from the official `openai` client in a child process at nice 10
(so the load generator does not starve what it measures). The app's server is the real one: a
MainWindow (offscreen) with its server switched on, answering on the Chat tab's worker, with a
5 ms heartbeat timing its GUI thread. llama-cpp-python's server (`python -m llama_cpp.server`)
gets the app's default thread count (the physical cores; the app itself takes fewer while
other programs keep the CPUs busy), the same context length and token, and
`--interrupt_requests False` (by default a new request cuts off the one streaming). Printed:
requests completed and refused (429), completion tokens per second over the whole run, time to
first token (median and p95 of completed requests), the app's longest GUI stall, and how much
of the machine other programs used.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchlib import (  # also puts the repo on sys.path
    REPO_ROOT,
    STORIES_260K,
    fmt,
    machine_line,
    markdown_table,
    save_json,
    wait_for_quiet,
)
from guiprobe import TickProbe, run_until
from PySide6.QtWidgets import QApplication

from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.generation import DEFAULT_CONTEXT_LENGTH
from localai_desktop.core.inference.llama_runtime import default_thread_count
from localai_desktop.ui.shell.main_window import MainWindow

MODEL_NAME = "stories"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))]


class OtherPrograms:
    """The share of the machine other processes used (ours and our children excluded)."""

    def __init__(self, *ours: int) -> None:
        import psutil

        self._psutil = psutil
        self._ours = [psutil.Process(pid) for pid in ours]
        self._start = self._times()

    def _times(self) -> tuple[float, float, float]:
        machine = self._psutil.cpu_times()
        busy = machine.user + machine.nice + machine.system
        mine = 0.0
        for process in self._ours:
            times = process.cpu_times()
            mine += times.user + times.system + times.children_user + times.children_system
        return time.monotonic(), busy, mine

    def share(self) -> float:
        (t0, busy0, mine0), (t1, busy1, mine1) = self._start, self._times()
        cores = self._psutil.cpu_count() or 1
        return max(0.0, ((busy1 - busy0) - (mine1 - mine0)) / ((t1 - t0) * cores))


def run_clients(base_url: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    """The load, from a child process; returns its report (see tests/support/api_load.py)."""
    command = [
        "nice",
        "-n",
        "10",
        sys.executable,
        "-m",
        "tests.support.api_load",
        f"--base-url={base_url}",
        f"--token={token}",
        f"--model={MODEL_NAME}",
        f"--clients={args.clients}",
        f"--rounds={args.rounds}",
        f"--max-tokens={args.max_tokens}",
        "--deadline=120",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    clients = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    # The GUI's event loop runs meanwhile (the app's server needs none, but its window does).
    run_until(lambda: clients.poll() is not None, args.rounds * 150.0)
    out, _ = clients.communicate()
    return json.loads(out)


def summary(
    name: str, report: dict[str, Any], others: float, stall: float | None
) -> dict[str, Any]:
    results = report["results"]
    completed = [r for r in results if r["outcome"] == "completed"]
    first = [r["time_to_first_token_s"] for r in completed]
    tokens = sum(r["completion_tokens"] for r in completed)
    return {
        "server": name,
        "requests": len(results),
        "completed": len(completed),
        "refused_429": sum(r["outcome"] == "429" for r in results),
        "failed": sum(r["outcome"] not in ("completed", "429") for r in results),
        "tokens_per_s": tokens / report["wall_s"],
        "ttft_median_ms": (percentile(first, 0.5) or 0) * 1000,
        "ttft_p95_ms": (percentile(first, 0.95) or 0) * 1000,
        "wall_s": report["wall_s"],
        "longest_gui_stall_ms": stall,
        "others_share": others,
        "outcomes": dict(Counter(r["outcome"] for r in results)),
        "requests_raw": results,
    }


def start_llama_server(port: int, token: str, threads: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(STORIES_260K),
            "--model_alias",
            MODEL_NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(DEFAULT_CONTEXT_LENGTH),
            "--n_threads",
            str(threads),
            "--api_key",
            token,
            "--interrupt_requests",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("llama_cpp.server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each server, interleaved")
    parser.add_argument("--quiet-wait", type=float, default=15.0)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    data_dir = Path(tempfile.mkdtemp(prefix="bench-server-"))
    workspace = Workspace.open(data_dir)
    workspace.registry.import_model(STORIES_260K, name=MODEL_NAME, probe=False)
    workspace.settings.update(server_enabled=True, server_port=free_port())
    window = MainWindow(workspace)
    window.show()
    run_until(lambda: window.server.state.running, 30)
    address = window.server.state.address
    assert address is not None
    token = window.server.access_token()
    threads = default_thread_count()
    llama_port = free_port()
    llama = start_llama_server(llama_port, token, threads)
    rows: list[dict[str, Any]] = []
    try:
        for _ in range(args.repeats):
            wait_for_quiet(max_wait_s=args.quiet_wait)
            probe = TickProbe()
            others = OtherPrograms(os.getpid(), llama.pid)
            probe.start()
            report = run_clients(address.base_url, token, args)
            gaps = probe.stop()
            rows.append(summary("app (GUI, Chat tab's worker)", report, others.share(), max(gaps)))
            wait_for_quiet(max_wait_s=args.quiet_wait)
            others = OtherPrograms(os.getpid(), llama.pid)
            report = run_clients(f"http://127.0.0.1:{llama_port}/v1", token, args)
            rows.append(summary("llama_cpp.server", report, others.share(), None))
    finally:
        llama.terminate()
        llama.wait(30)
        window.close()
        workspace.close()
        del app

    print(f"\n{machine_line()}; {threads} llama.cpp threads each")
    print(
        f"{args.clients} streaming clients x {args.rounds} rounds, stories260K, "
        f"max {args.max_tokens} tokens, seeds per request; the app's queue limit 8 per model\n"
    )
    header = [
        "server",
        "completed",
        "429",
        "failed",
        "tokens/s",
        "TTFT median ms",
        "TTFT p95 ms",
        "wall s",
        "longest GUI stall ms",
        "other programs",
    ]
    table = [
        [
            r["server"],
            f"{r['completed']}/{r['requests']}",
            r["refused_429"],
            r["failed"],
            fmt(r["tokens_per_s"], 0),
            fmt(r["ttft_median_ms"], 0),
            fmt(r["ttft_p95_ms"], 0),
            fmt(r["wall_s"], 1),
            fmt(r["longest_gui_stall_ms"], 1) if r["longest_gui_stall_ms"] is not None else "-",
            f"{r['others_share']:.0%}",
        ]
        for r in rows
    ]
    print(markdown_table(header, table))
    path = save_json("server_load", {"machine": machine_line(), "args": vars(args), "rows": rows})
    print(f"\nRaw numbers: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
