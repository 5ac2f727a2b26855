"""`localai eval run|resume|list|show`: test models on your own questions from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localai_desktop.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED
from localai_desktop.cli.interruptible import run_interruptibly
from localai_desktop.cli.output import print_json, print_table
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.units import format_duration
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.evaluation.metrics import (
    context_tokens,
    memory_setting,
    results_json,
    summarize,
)
from localai_desktop.core.evaluation.report import csv_report, html_report
from localai_desktop.core.evaluation.runner import (
    DEFAULT_MAX_TOKENS,
    EvalProgress,
    Evaluator,
)
from localai_desktop.core.evaluation.store import EvalRun, EvalStore, RunStatus
from localai_desktop.core.evaluation.testset import read_test_set
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import (
    AUTOMATIC_CONTEXT_LENGTH,
    GenerationSettings,
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = commands.add_parser("eval", help="test models on your own questions").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    run = evaluate.add_parser("run", help="run a test set (JSONL or CSV) against models")
    run.add_argument("tests", help="the test set: a .jsonl file (one question a line) or .csv")
    run.add_argument(
        "--model", action="append", default=[], metavar="NAME", help="a model (repeatable)"
    )
    run.add_argument(
        "--adapter",
        action="append",
        default=[],
        metavar="MODEL:ADAPTER",
        help="a model with a fine-tuned adapter, as its own entry (repeatable)",
    )
    run.add_argument(
        "--collection",
        metavar="NAME",
        help="answer from this collection (for questions without one)",
    )
    run.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS)
    run.add_argument("--seed", type=int, help="the same seed gives the same answers (default 1)")
    run.add_argument("--temperature", type=float, default=GenerationSettings.temperature)
    run.add_argument(
        "--context-length",
        type=int,
        default=AUTOMATIC_CONTEXT_LENGTH,
        help="tokens each model keeps in mind (default: as much as this computer comfortably "
        "holds, up to each model's own limit, as in chat)",
    )
    run.add_argument("--name", help="a name for the run (default: the file's name)")
    _add_output_options(run)
    run.set_defaults(handler=_run)

    resume = evaluate.add_parser("resume", help="continue a cancelled or interrupted run")
    resume.add_argument("run_id", type=int)
    _add_output_options(resume)
    resume.set_defaults(handler=_resume)

    listing = evaluate.add_parser("list", help="past evaluation runs, newest first")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    show = evaluate.add_parser("show", help="one run: figures per model and every answer")
    show.add_argument("run_id", type=int)
    _add_output_options(show)
    show.set_defaults(handler=_show)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report")
    parser.add_argument("--csv", metavar="FILE.csv", help="write every answer as CSV")


def _evaluator(workspace: Workspace) -> Evaluator:
    chat = ChatService(
        workspace.conversations,
        workspace.registry,
        LlamaEngine(),
        workspace.adapters,
        documents=workspace.documents,
        remotes=workspace.remotes,
    )
    return Evaluator(
        EvalStore(workspace.db), workspace.registry, workspace.adapters, workspace.documents, chat
    )


def _run(workspace: Workspace, args: argparse.Namespace) -> int:
    questions = read_test_set(args.tests)  # every bad line is reported before anything runs
    if args.collection:
        questions = [
            q if q.collection else type(q)(q.id, q.question, q.expect, args.collection, q.source)
            for q in questions
        ]
    evaluator = _evaluator(workspace)
    targets = evaluator.targets_for(args.model, args.adapter)
    settings = GenerationSettings(
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        context_length=args.context_length,
        seed=args.seed,
    )
    run = evaluator.prepare(args.name or Path(args.tests).name, questions, targets, settings)
    print(
        f"Run {run.id}: {len(questions)} questions x {len(targets)} models "
        f"(resume with 'localai eval resume {run.id}' if stopped).",
        file=sys.stderr,
    )
    return _work(evaluator, run.id, args)


def _resume(workspace: Workspace, args: argparse.Namespace) -> int:
    evaluator = _evaluator(workspace)
    run = evaluator.store.get(args.run_id)
    print(f"Run {run.id}: {run.done} of {run.total} answers already kept.", file=sys.stderr)
    return _work(evaluator, run.id, args)


def _work(evaluator: Evaluator, run_id: int, args: argparse.Namespace) -> int:
    cancel = Cancellation()

    def on_progress(progress: EvalProgress) -> None:
        left = (
            f", {format_duration(progress.seconds_left)} left"
            if progress.seconds_left is not None
            else ""
        )
        what = "loading" if progress.phase == "loading" else "answered"
        sys.stderr.write(
            f"\r\x1b[K[{progress.done}/{progress.total}] {progress.target_label}: {what}{left}"
        )
        sys.stderr.flush()

    try:
        run = run_interruptibly(
            lambda: evaluator.run(run_id, on_progress=on_progress, cancel=cancel),
            on_interrupt=cancel.set,
            name="evaluation",
        )
    finally:
        sys.stderr.write("\r\x1b[K")
        evaluator.engine.unload()
    _output(evaluator.store, run, args)
    if run.status is RunStatus.CANCELLED:
        print(
            f"Stopped; {run.done} of {run.total} answers are kept. "
            f"Continue with 'localai eval resume {run.id}'.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0 if run.status is RunStatus.FINISHED else EXIT_ERROR


def _output(store: EvalStore, run: EvalRun, args: argparse.Namespace) -> None:
    results = store.results(run.id)
    summaries = summarize(run, results)
    if args.report:
        write_atomically(Path(args.report), html_report(run, results).encode("utf-8"))
        print(f"Report written to {args.report}", file=sys.stderr)
    if args.csv:
        write_atomically(Path(args.csv), csv_report(run, results).encode("utf-8"))
        print(f"CSV written to {args.csv}", file=sys.stderr)
    if args.json:
        print_json(
            {
                "run_id": run.id,
                "status": run.status,
                "runs": [s.to_dict() for s in summaries],
                "results": results_json(run, results),
            }
        )
        return
    print(f"Run {run.id} ({run.name}): {run.status}, {run.done} of {run.total} answers")
    print(f"Memory: {memory_setting(run.settings)}")
    rows = [
        [
            target.label,
            f"{s.passed}/{s.total}",
            _percent(s.accuracy),
            str(s.made_up),
            _percent(s.citation_accuracy),
            _number(s.ttft_ms_median),
            _number(s.tokens_per_second_median),
            _number(s.peak_memory_mb),
            "n/a" if context is None else str(context),
        ]
        for target, s, context in zip(
            run.targets, summaries, context_tokens(run, results), strict=True
        )
    ]
    print_table(
        [
            "MODEL",
            "PASSED",
            "ACCURACY",
            "MADE UP",
            "CITATIONS",
            "TTFT MS",
            "TOK/S",
            "PEAK MB",
            "CONTEXT",
        ],
        rows,
    )


def _list(workspace: Workspace, args: argparse.Namespace) -> int:
    runs = EvalStore(workspace.db).runs()
    if args.json:
        print_json([r.to_json() for r in runs])
        return 0
    if not runs:
        print("No evaluation runs yet. Start one with: localai eval run TESTS.jsonl --model NAME")
        return 0
    rows = [
        [
            str(r.id),
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            str(r.status),
            f"{r.done}/{r.total}",
            ", ".join(t.label for t in r.targets),
            r.name,
        ]
        for r in runs
    ]
    print_table(["ID", "STARTED (UTC)", "STATUS", "ANSWERS", "MODELS", "NAME"], rows)
    return 0


def _show(workspace: Workspace, args: argparse.Namespace) -> int:
    store = EvalStore(workspace.db)
    run = store.get(args.run_id)
    _output(store, run, args)
    if not args.json:
        results = store.results(run.id)
        for r in results:
            mark = "PASS" if r.passed else "FAIL"
            answer = " ".join(r.answer.split())
            if len(answer) > 160:
                answer = answer[:159] + "…"
            print(f"\n{mark} {r.question_id} [{run.targets[r.target_index].label}] {r.reason}")
            print(f"  {answer}")
    return 0


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


__all__ = ["EXIT_ERROR", "add_commands"]
