"""Start-up time of the built app (PyInstaller one folder) next to `python -m`, in one run.

    packaging/build_linux.sh --no-deb          # once, makes dist/localai-desktop
    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_startup_frozen.py [--runs 7]

Measures, alternating the two so machine load hits both alike, the wall time of:
  - the desktop app's `--smoke-test` (builds the main window with all tabs, lets it live
    300 ms, exits), on a fresh data folder each run, so each run also creates the database;
  - the command line's `models list --json` on a data folder made once (imports the core).
Baseline: the same commands through this Python (`python -m localai_desktop`,
`python -m localai_desktop.cli`). Prints a Markdown table and the bundle's size; saves the
numbers to bench/results/startup_frozen.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "localai-desktop")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    app = args.app.resolve()
    if not (app / "localai-desktop").is_file():
        print(f"No built app in {app}: run packaging/build_linux.sh --no-deb first.")
        return 1
    env = {k: v for k, v in os.environ.items() if k != "LOCALAI_DATA_DIR"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = str(ROOT)  # for python -m from any folder; the frozen app ignores it

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        cli_data = scratch / "cli-data"
        commands = {
            "app --smoke-test": {
                "python -m": [sys.executable, "-m", "localai_desktop", "--smoke-test"],
                "frozen": [str(app / "localai-desktop"), "--smoke-test"],
            },
            "cli models list": {
                "python -m": [sys.executable, "-m", "localai_desktop.cli"],
                "frozen": [str(app / "localai")],
            },
        }
        cli_args = ["--data-dir", str(cli_data), "models", "list", "--json"]
        timed([str(app / "localai"), *cli_args], env, scratch)  # creates the folder; warms up
        times: dict[str, dict[str, list[float]]] = {
            task: {"python -m": [], "frozen": []} for task in commands
        }
        for run in range(args.runs):
            for task, variants in commands.items():
                for variant, command in variants.items():
                    extra = (
                        ["--data-dir", str(scratch / f"{variant[:6]}-{run}")]
                        if task.startswith("app")
                        else cli_args
                    )
                    times[task][variant].append(timed([*command, *extra], env, scratch))

    size = folder_size(app)
    print(f"Bundle: {app} ({size / 1e6:.0f} MB, {sum(1 for _ in app.rglob('*'))} files)")
    print(f"{args.runs} runs each, alternating; wall time in seconds\n")
    print("| task | python -m (baseline) median | frozen median | frozen min | frozen / baseline |")
    print("|---|---|---|---|---|")
    results: dict[str, object] = {"bundle_bytes": size, "runs": args.runs, "tasks": {}}
    for task, variants in times.items():
        base = statistics.median(variants["python -m"])
        frozen = statistics.median(variants["frozen"])
        print(
            f"| {task} | {base:.2f} | {frozen:.2f} | {min(variants['frozen']):.2f} "
            f"| {frozen / base:.2f}x |"
        )
        results["tasks"][task] = variants  # type: ignore[index]
    out = ROOT / "bench" / "results" / "startup_frozen.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nRaw numbers: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
