"""`localai finetune prepare|run|log`, `localai adapters list|rm`: LoRA fine-tuning in scripts."""

from __future__ import annotations

import argparse
import sys

from localai_desktop.cli.exit_codes import EXIT_INTERRUPTED
from localai_desktop.cli.interruptible import run_interruptibly
from localai_desktop.cli.output import print_json, print_table
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import NotFoundError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.finetune.dataset import DatasetReport
from localai_desktop.core.finetune.events import TrainingEvent, TrainingSettings

_DEFAULTS = TrainingSettings()


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `finetune` and `adapters` to the top-level commands."""
    finetune = commands.add_parser("finetune", help="teach a model from examples (LoRA)")
    actions = finetune.add_subparsers(dest="action", required=True, metavar="ACTION")
    prepare = actions.add_parser("prepare", help="check a dataset: usable rows, problems, split")
    prepare.add_argument("data", help="a .jsonl (messages or prompt/completion) or .csv file")
    prepare.add_argument("--base", required=True, help="the model to fine-tune")
    prepare.add_argument("--max-length", type=int, default=_DEFAULTS.max_length)
    prepare.add_argument("--json", action="store_true")
    prepare.set_defaults(handler=_prepare)

    run = actions.add_parser("run", help="train an adapter (resumes an interrupted run)")
    run.add_argument("--base", required=True, help="the model to fine-tune")
    run.add_argument("--data", required=True, help="the dataset file")
    run.add_argument("--name", required=True, help="the adapter's name")
    run.add_argument("--epochs", type=int, default=_DEFAULTS.epochs)
    run.add_argument("--rank", type=int, default=_DEFAULTS.rank)
    run.add_argument("--alpha", type=float, help="LoRA alpha (default: twice the rank)")
    run.add_argument("--learning-rate", type=float, default=_DEFAULTS.learning_rate)
    run.add_argument("--max-length", type=int, default=_DEFAULTS.max_length)
    run.add_argument("--batch-size", type=int, default=_DEFAULTS.batch_size)
    run.add_argument("--validation-share", type=float, default=_DEFAULTS.validation_share)
    run.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    run.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    run.add_argument("--restart", action="store_true", help="discard an unfinished run first")
    run.set_defaults(handler=_run)

    show_log = actions.add_parser("log", help="show the training log of a run (decrypted)")
    show_log.add_argument("name", help="the adapter's name (its newest run)")
    show_log.set_defaults(handler=_log)

    adapters = commands.add_parser("adapters", help="fine-tuned adapters").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    listing = adapters.add_parser("list", help="list adapters")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_adapters_list)
    remove = adapters.add_parser("rm", help="remove an adapter and its file")
    remove.add_argument("name")
    remove.set_defaults(handler=_adapters_rm)


def _prepare(workspace: Workspace, args: argparse.Namespace) -> int:
    base = workspace.registry.get(args.base)
    settings = TrainingSettings(max_length=args.max_length)
    service = workspace.finetune
    report = service.prepare_file(args.data, base, settings)
    estimate = service.estimate(base, report, settings)
    if args.json:
        print_json({**report.to_json(), "estimate": estimate.to_json()})
        return 0
    _print_report(report)
    print(estimate.describe())
    if estimate.problem:
        print(f"Warning: {estimate.problem}", file=sys.stderr)
    return 0


def _log(workspace: Workspace, args: argparse.Namespace) -> int:
    jobs = [j for j in workspace.finetune.jobs.list() if j.name == args.name]
    if not jobs:
        raise NotFoundError(
            f"There is no training run called '{args.name}'.",
            "The name is the adapter's name, as given to 'localai finetune run --name'.",
        )
    sys.stdout.write(workspace.finetune.read_log(jobs[0]))
    return 0


def _print_report(report: DatasetReport) -> None:
    print(
        f"{report.rows} rows: {len(report.examples)} to train on, {len(report.validation)} "
        f"for validation, {len(report.problems)} with problems."
    )
    for problem in report.problems:
        print(f"  {problem.source} {problem.reason}")


def _run(workspace: Workspace, args: argparse.Namespace) -> int:
    base = workspace.registry.get(args.base)
    service = workspace.finetune
    job = service.jobs.latest_resumable(args.name)
    if job is not None and (args.restart or job.base_model_sha256 != base.sha256):
        service.discard_job(job.id)
        job = None
    if job is not None:
        print(
            f"Resuming '{job.name}' from step {job.step} of {job.total_steps} "
            "(add --restart to start over).",
            file=sys.stderr,
        )
    else:
        settings = TrainingSettings(
            rank=args.rank,
            alpha=args.alpha if args.alpha is not None else 2.0 * args.rank,
            learning_rate=args.learning_rate,
            epochs=args.epochs,
            max_length=args.max_length,
            batch_size=args.batch_size,
            validation_share=args.validation_share,
            seed=args.seed,
            threads=args.threads,
        )
        report = service.prepare_file(args.data, base, settings)
        _print_report(report)
        print(service.estimate(base, report, settings).describe(), file=sys.stderr)
        job = service.create_job(args.name, base, report, settings)
    cancel = Cancellation()

    def on_interrupt() -> None:
        print("\nStopping after this step (the progress is kept)...", file=sys.stderr)
        cancel.set()

    # Every Ctrl-C asks the child to stop cleanly with a checkpoint.
    result = run_interruptibly(
        lambda: service.run(job.id, on_event=_print_event, cancel=cancel),
        on_interrupt=on_interrupt,
        name="finetune",
        give_up_on_second=False,
        poll_seconds=0.2,
    )
    if result.adapter is None:
        print(
            f"Stopped at step {result.job.step}. Run the same command again to resume.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    adapter = result.adapter
    losses = ""
    if adapter.final_loss is not None:  # the figure the last step printed
        losses = f"training loss {adapter.final_loss:.4f} (epoch average)"
    if adapter.final_val_loss is not None:
        losses += f", validation loss {adapter.final_val_loss:.4f}"
    print(f"Saved adapter '{adapter.name}' ({losses}).")
    print(f"Chat with it: localai chat --model {base.name} --adapter {adapter.name} 'Hello'")
    return 0


def _print_event(event: TrainingEvent) -> None:
    if event.kind == "loading":
        line = f"{event.message}..."
    elif event.kind == "started":
        where = f" from step {event.resumed_from_step}" if event.resumed_from_step else ""
        line = f"Training on the {event.device.upper()}{where}: {event.total_steps} steps."
    elif event.kind == "step":
        line = f"step {event.step}/{event.total_steps} epoch {event.epoch:.2f}/{event.epochs}"
        if event.loss is not None:
            line += f" training loss {event.loss:.4f}"
        if event.tokens_per_second:
            line += f", {event.tokens_per_second:,.0f} tokens/s"
        if event.eta_s is not None:
            line += f", {_duration(event.eta_s)} left"
    elif event.kind == "validation":
        line = f"validation loss {event.val_loss:.4f} after epoch {event.epoch:.0f}"
    elif event.kind == "exporting":
        line = "Saving the adapter and checking it with llama.cpp..."
    else:
        return  # checkpoints are quiet; the end is reported by the caller
    print(line, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _adapters_list(workspace: Workspace, args: argparse.Namespace) -> int:
    adapters = workspace.adapters.list()
    if args.json:
        print_json([a.to_json() for a in adapters])
        return 0
    if not adapters:
        print(
            "No adapters yet. Make one with: localai finetune run --base MODEL --data FILE "
            "--name NAME"
        )
        return 0
    rows = [
        [
            a.name,
            a.base_model_name,
            str(a.rank),
            f"{a.final_loss:.3f}" if a.final_loss is not None else "-",
            f"{a.final_val_loss:.3f}" if a.final_val_loss is not None else "-",
            format_bytes(a.file_size),
            a.created_at.strftime("%Y-%m-%d %H:%M"),
            "" if a.file_exists else "FILE MISSING",
        ]
        for a in adapters
    ]
    header = ["NAME", "BASE MODEL", "RANK", "LOSS", "VAL LOSS", "SIZE", "CREATED (UTC)", ""]
    print_table(header, rows)
    return 0


def _adapters_rm(workspace: Workspace, args: argparse.Namespace) -> int:
    adapter = workspace.adapters.remove(args.name)
    print(
        f"Removed the adapter '{adapter.name}' and deleted {adapter.path}. Answers written "
        "with it are kept and still name it."
    )
    return 0
