"""The trainer child process: `python -m localai_desktop.core.finetune.trainer_child JOB_DIR`.

With `--sealed` after JOB_DIR (a protected workspace), the first line of stdin is the
workspace's file key in hex: the child then reads its job file, data and checkpoint sealed and
writes its checkpoints and the adapter sealed, keeping every plaintext in memory. The key
never travels on the command line or in the environment, which other programs can read.

Runs one fine-tuning job described by JOB_DIR/job.json (see `events.JobSpec`) and prints one
JSON `TrainingEvent` per line on stdout; everything else (library chatter, progress bars,
tracebacks) goes to stderr, which the parent keeps in JOB_DIR/trainer.log. It stops at the
next step when the file JOB_DIR/cancel appears, after writing a checkpoint, and resumes from
that checkpoint when started again on the same folder. A crash or out-of-memory here costs
this process only, never the app.

Exit codes: 0 finished (adapter written and checked), 1 failed, 3 cancelled.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TextIO

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.finetune.events import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    SEALED_FLAG,
    TrainingEvent,
)
from localai_desktop.core.vault.workspace_files import WorkspaceFiles


def _event_stream() -> TextIO:
    """A private copy of stdout for events; fd 1 itself then points at stderr.

    Libraries print to stdout (C code included); a stray line there must never be mistaken
    for, or interleave with, an event.
    """
    events = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return events


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    events = _event_stream()

    def emit(event: TrainingEvent) -> None:
        events.write(event.to_json_line() + "\n")
        events.flush()

    sealed = args[1:] == [SEALED_FLAG]
    if len(args) != 1 and not sealed:
        emit(TrainingEvent("error", message="usage: trainer_child JOB_DIR [--sealed]"))
        return EXIT_FAILED
    try:
        files = WorkspaceFiles(_key_from_stdin() if sealed else None)
    except ValueError:
        emit(TrainingEvent("error", message="The trainer was not given the workspace's key."))
        return EXIT_FAILED
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network from here
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from localai_desktop.core.finetune.training import Cancelled, run_job

        try:
            return run_job(Path(args[0]), emit, files)
        except Cancelled:
            return EXIT_CANCELLED
    except LocalAIError as error:
        emit(TrainingEvent("error", message=error.what, todo=error.todo))
    except MemoryError:
        emit(_out_of_memory())
    except Exception as error:
        traceback.print_exc()
        if "out of memory" in str(error).lower():
            emit(_out_of_memory())
        else:
            emit(
                TrainingEvent(
                    "error",
                    message=f"Training stopped with an unexpected error ({type(error).__name__}: "
                    f"{error}).",
                    todo="Try again; the details are in the training log. A checkpoint, if "
                    "one was written, is kept, so the run can resume.",
                )
            )
    return EXIT_FAILED


def _key_from_stdin() -> bytes:
    line = sys.stdin.buffer.readline()
    key = bytes.fromhex(line.decode("ascii").strip())
    if len(key) != 32:
        raise ValueError("a file key is 32 bytes")
    return key


def _out_of_memory() -> TrainingEvent:
    return TrainingEvent(
        "error",
        message="Training ran out of memory.",
        todo="Close other programs, or lower the maximum length or the batch size, then resume.",
    )


if __name__ == "__main__":
    sys.exit(main())
