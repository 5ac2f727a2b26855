"""Start-up time of the desktop app and its idle memory, with no model and with stories260K.

Run by hand:
    .venv/bin/python bench/bench_startup.py [--starts 5]

Every measurement is a fresh `python -c` process, the kinds interleaved (warm disk cache):
- baselines: bare Python; `import PySide6.QtWidgets`; a plain llama-cpp-python
  `Llama(stories260K)` loaded with the app's context length (memory baseline for a loaded model);
- the app: the real `localai-desktop` entry point (`localai_desktop.ui.app.main`) on a data
  folder with a database and no model; it reports on its first event-loop turn after the main
  window is shown, then its RSS 1 s later;
- the app with stories260K imported: the same, then the model is picked in the Chat tab's model
  picker (which loads it on the ChatWorker's thread), RSS 1 s after it is loaded.
Two clocks: the child's age from the kernel (/proc, 10 ms ticks) when it reports, and the
parent's clock from Popen to reading that line (precise; includes fork and exec).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (  # also puts the repo on sys.path
    REPO_ROOT,
    STORIES_260K,
    ForeignLoad,
    fmt,
    machine_line,
    markdown_table,
    median,
    save_json,
    wait_for_quiet,
)

from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.inference.engine import default_thread_count
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database

_REPORT = """
import json, os, sys, time
def _since_start_s():
    # The process's age from the kernel's clock (psutil's create_time() adds a boot time that
    # /proc/stat gives in whole seconds, so its absolute figure can be off by up to 1 s).
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
def _report(**extra):
    print(json.dumps({"since_start_s": _since_start_s(), "rss": _rss(), **extra}), flush=True)
"""

_APP = """
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from localai_desktop.ui.app import main
from localai_desktop.ui.shell.main_window import MainWindow
app = QApplication([sys.argv[0]])
WITH_MODEL = sys.argv[2] == "model"
def _window():
    return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
def _first_turn():
    _report(llama_cpp_imported="llama_cpp" in sys.modules)
    QTimer.singleShot(1000, _load_model if WITH_MODEL else _done)
def _load_model():
    chat = _window().chat_tab
    chat.requests.model_loaded.connect(lambda *_: QTimer.singleShot(1000, _done))
    combo = chat.model_picker.combo
    index = combo.findText("stories260K")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)  # as a person picking it: the tab loads the model now
def _done():
    print(json.dumps({"idle_rss": _rss()}), flush=True)
    _window().close()
    app.quit()
QTimer.singleShot(0, _first_turn)  # runs on the first turn of the event loop main() starts
sys.exit(main(["--data-dir", sys.argv[1]]))
"""

_PLAIN_LLAMA = """
import llama_cpp
llm = llama_cpp.Llama(sys.argv[1], n_ctx=int(sys.argv[2]), n_threads=int(sys.argv[3]),
                      n_gpu_layers=-1, flash_attn=True, verbose=False)
_report()
time.sleep(1)
print(json.dumps({"idle_rss": _rss()}), flush=True)
"""

PASS = "python -c pass"
QT = "python -c 'import PySide6.QtWidgets'"
PLAIN = "plain llama-cpp-python, stories260K loaded"
APP = "**app: localai-desktop, window shown** (no model)"
APP_MODEL = "**app, stories260K loaded** (picked in the Chat tab)"


def app_n_ctx() -> int:
    """The context the Chat tab loads stories260K with (ChatService.context_length_for)."""
    from localai_desktop.core.models.gguf_info import read_gguf_info

    trained = read_gguf_info(STORIES_260K).context_length
    wanted = GenerationSettings().context_length
    return max(256, min(wanted, trained) if trained else wanted)


def prepare(root: Path) -> tuple[Path, Path]:
    """Two data folders: one with a database and no model, one with stories260K imported."""
    empty, with_model = root / "empty", root / "with-model"
    for folder in (empty, with_model):
        Database(init_data_paths(folder).database).close()
    paths = init_data_paths(with_model)
    db = Database(paths.database)
    ModelRegistry(db, paths.models).import_model(STORIES_260K, name="stories260K")
    db.close()
    return empty, with_model


def commands(empty: Path, with_model: Path) -> dict[str, list[str]]:
    n_ctx, threads = str(app_n_ctx()), str(default_thread_count())
    return {
        PASS: [_REPORT + "_report()\n"],
        QT: ["import PySide6.QtWidgets\n" + _REPORT + "_report()\n"],
        PLAIN: [_REPORT + _PLAIN_LLAMA, str(STORIES_260K), n_ctx, threads],
        APP: [_REPORT + _APP, str(empty), "none"],
        APP_MODEL: [_REPORT + _APP, str(with_model), "model"],
    }


def start(code_and_args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    spawned = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", *code_and_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    assert child.stdout is not None and child.stderr is not None
    line = child.stdout.readline()
    parent_s = time.perf_counter() - spawned
    if not line:
        child.wait(60)
        raise RuntimeError(f"the child said nothing: {child.stderr.read()[-2000:]}")
    result = json.loads(line)
    result["parent_clock_s"] = parent_s
    for more in child.stdout:
        result.update(json.loads(more))
    if child.wait(120) != 0:
        raise RuntimeError(f"the child failed: {child.stderr.read()[-2000:]}")
    return result


def measure(n: int, quiet_wait_s: float, root: Path) -> dict[str, list[dict[str, Any]]]:
    kinds = commands(*prepare(root))
    names = list(kinds)
    for name in names:  # warm-up: disk cache, Python's bytecode cache, Qt's font cache
        start(kinds[name])
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for r in range(n):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            if quiet_wait_s > 0:
                wait_for_quiet(max_wait_s=quiet_wait_s)
            load = ForeignLoad()
            result = start(kinds[name])
            result["foreign_load"] = load.stop()
            results[name].append(result)
        print(f"  round {r + 1} of {n} done", flush=True)
    return results


def tables(results: dict[str, list[dict[str, Any]]]) -> tuple[str, str, str]:
    base = median(r["parent_clock_s"] for r in results[QT])
    start_rows = [
        [
            name,
            fmt(median(r["since_start_s"] * 1000 for r in runs), 0),
            fmt(median(r["parent_clock_s"] * 1000 for r in runs), 0),
            fmt(median(r["parent_clock_s"] for r in runs) / base, 2),
            f"{median(r['foreign_load'] for r in runs):.0%}",
        ]
        for name, runs in results.items()
        if name != PLAIN
    ]
    start_table = markdown_table(
        (
            "process",
            "start → window shown / ready, ms (child's clock, 10 ms ticks)",
            "spawn → ready, ms (parent's clock)",
            "× import QtWidgets",
            "foreign load",
        ),
        start_rows,
    )

    def rss(name: str) -> float:
        key = "idle_rss" if "idle_rss" in results[name][0] else "rss"
        return median(r[key] / 2**20 for r in results[name]) or 0.0

    memory_rows = [[name, fmt(rss(name), 0)] for name in results]
    memory_table = markdown_table(("process", "RSS MiB (median)"), memory_rows)
    note = (
        f"Loading stories260K adds {fmt(rss(APP_MODEL) - rss(APP), 0)} MiB to the app "
        f"(llama_cpp's libraries, the model, its context); a plain Llama of it takes "
        f"{fmt(rss(PLAIN) - rss(PASS), 0)} MiB over bare Python. App start-up: "
        f"{fmt(median(r['parent_clock_s'] * 1000 for r in results[APP]), 0)} ms, "
        f"{fmt(median(r['parent_clock_s'] for r in results[APP]) / base, 2)}× a bare "
        "`import PySide6.QtWidgets`; llama_cpp imported before the window showed: "
        f"{any(r.get('llama_cpp_imported') for r in results[APP])}."
    )
    return start_table, memory_table, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="process starts per kind")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=15.0,
        help="before each start, wait up to this many seconds for other processes to go quiet",
    )
    args = parser.parse_args()
    if not STORIES_260K.is_file():
        raise SystemExit(f"missing {STORIES_260K} (set LOCALAI_TEST_MODELS_DIR)")
    print(f"start-up and memory: {args.starts} starts of each kind", flush=True)
    with tempfile.TemporaryDirectory(prefix="localai-bench-start-") as tmp:
        results = measure(args.starts, args.quiet_wait, Path(tmp))
    start_table, memory_table, note = tables(results)
    print(f"\n# Start-up and memory\n{machine_line()}")
    print(f"\n### Start-up (median of {args.starts}, interleaved, offscreen platform)\n")
    print(start_table)
    print("\n### Idle memory (RSS 1 s after the window is shown / the model is loaded)\n")
    print(memory_table)
    print(f"\n{note}")
    print(f"\nraw numbers: {save_json('startup', results)}")


if __name__ == "__main__":
    main()
