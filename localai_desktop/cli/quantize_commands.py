"""`localai models quantize NAME --type TYPE`: make a smaller copy with llama.cpp's quantizer."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from localai_desktop.cli.exit_codes import EXIT_INTERRUPTED
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.units import format_bytes, format_duration
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.quantize.runner import QuantizeCancelled, quantize_model
from localai_desktop.core.quantize.targets import QUALITY_SOURCE, TARGET_NAMES, target_named

_STAGES = {
    "quantizing": "Quantizing",
    "checking": "Checking that the copy answers",
    "registering": "Adding it to your models",
}


def add_commands(models: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `quantize` to the `models` command."""
    quantize = models.add_parser(
        "quantize",
        help="make a smaller copy of a model (F32, F16, BF16 or Q8_0); Ctrl-C cancels",
        description="Make a smaller copy of a model with llama.cpp's quantizer. " + QUALITY_SOURCE,
    )
    quantize.add_argument("name", help="a model in your list (see 'models list')")
    quantize.add_argument(
        "--type", required=True, type=str.upper, choices=TARGET_NAMES, dest="target"
    )
    quantize.add_argument("--name", dest="copy_name", help="the copy's name (default: from it)")
    quantize.add_argument(
        "--threads", type=int, default=0, help="threads (default: all of this computer's)"
    )
    quantize.set_defaults(handler=_quantize)


def _quantize(workspace: Workspace, args: argparse.Namespace) -> int:
    target = target_named(args.target)
    cancellation = Cancellation()

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        cancellation.set()  # kills the child; the partial file is removed

    def progress(stage: str, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        end = "\n" if done >= total else ""
        if sys.stderr.isatty() or done >= total:
            label = _STAGES.get(stage, stage)
            print(f"\r{label}: {percent:3d}%", end=end, file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = quantize_model(
            workspace.registry,
            args.name,
            target.name,
            name=args.copy_name,
            progress=progress,
            cancellation=cancellation,
            threads=args.threads,
        )
    except QuantizeCancelled:
        print("\nCancelled: the partial file was removed, nothing was added.", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, previous)
    copy = result.model
    print(
        f"Made '{copy.name}' ({copy.quantization}, {format_bytes(copy.file_size)}) in "
        f"{format_duration(result.seconds_total)}; it loaded and answered. "
        f"Typical quality loss: {target.quality_text}."
    )
    return 0
