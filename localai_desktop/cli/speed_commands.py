"""`localai models recommend` (the models the first-run guide would suggest, with their speed)
and `localai models layout` (the faster weight layout for a model on this computer)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from localai_desktop.cli.output import print_json
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.hub.starter_models import (
    StarterPick,
    recommend_chat_model,
    recommend_embedding_model,
)
from localai_desktop.core.inference.llama_runtime import default_thread_count
from localai_desktop.core.models.hardware import VERDICT_LABELS, detect_machine
from localai_desktop.core.speed.layout import (
    WEIGHT_LAYOUT_KEY,
    Work,
    measure_layouts,
    stored_choice,
)
from localai_desktop.core.speed.prediction import MIN_USEFUL_TOKENS_PER_SECOND, describe_speed


def add_commands(models: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `recommend` to the `models` command."""
    recommend = models.add_parser(
        "recommend",
        help="the chat and embedding model suggested for this computer, with predicted speed",
    )
    recommend.add_argument("--json", action="store_true")
    recommend.add_argument(
        "--measure",
        action="store_true",
        help="measure this computer's speed again first (a few seconds)",
    )
    recommend.set_defaults(handler=_recommend)

    layout = models.add_parser(
        "layout",
        help="which weight layout (llama.cpp's repacked one or the file's own) is faster here",
    )
    layout.add_argument("name", help="the model's name")
    layout.add_argument(
        "--measure",
        action="store_true",
        help="measure both layouts now (about a minute for a small model)",
    )
    layout.add_argument(
        "--work",
        choices=[str(w) for w in Work],
        help="choose for document questions (long prompt, short answer) or chat turns "
        "(default: documents when this workspace has collections, otherwise chat)",
    )
    layout.add_argument("--threads", type=int, help="CPU threads (default: the physical cores)")
    layout.add_argument("--json", action="store_true")
    layout.set_defaults(handler=_layout)


def _recommend(workspace: Workspace, args: argparse.Namespace) -> int:
    catalog, problem = workspace.catalog()
    if catalog is None:
        print(f"Error: {problem}", file=sys.stderr)
        return 1
    measured = workspace.machine_speed()
    if args.measure or measured is None:
        print("Measuring this computer's speed (a few seconds)…", file=sys.stderr)
        measured = workspace.measure_machine_speed()
    machine = detect_machine()
    chat = recommend_chat_model(catalog, machine, speed=measured)
    embedding = recommend_embedding_model(catalog, machine)
    if args.json:
        print_json(
            {
                "machine": machine.to_json(),
                "machine_speed": measured.to_json(),
                "min_useful_tokens_per_second": MIN_USEFUL_TOKENS_PER_SECOND,
                "chat": _pick_json(chat),
                "embedding": _pick_json(embedding),
            }
        )
        return 0
    print(f"This computer: {machine.describe()}")
    busy = (
        f" (the computer was {measured.busy_share:.0%} busy)" if measured.busy_share > 0.2 else ""
    )
    print(
        f"Measured speed: {measured.bytes_per_second / 1e9:.1f} GB/s through its "
        f"{measured.threads} cores{busy}; repeat with --measure."
    )
    for label, pick in (("Chat", chat), ("Documents (embeddings)", embedding)):
        if pick is None:
            print(f"{label}: nothing in the catalog fits this computer.")
            continue
        speed = (
            "" if pick.tokens_per_second is None else f", {describe_speed(pick.tokens_per_second)}"
        )
        print(f"{label}: {pick.describe()}: {VERDICT_LABELS[pick.verdict]}{speed}")
        print(f"  localai models pull {pick.entry.repo_id} --quant {pick.choice.quantization}")
    return 0


def _pick_json(pick: StarterPick | None) -> dict[str, Any] | None:
    if pick is None:
        return None
    return {
        "repo": pick.entry.repo_id,
        "name": pick.entry.name,
        "quantization": pick.choice.quantization,
        "estimated_bytes": pick.choice.total_bytes,
        "verdict": pick.verdict,
        "predicted_tokens_per_second": (
            None if pick.tokens_per_second is None else round(pick.tokens_per_second, 1)
        ),
    }


def _layout(workspace: Workspace, args: argparse.Namespace) -> int:
    model = workspace.registry.get(args.name)
    work = Work(args.work) if args.work else _usual_work(workspace)
    choice = stored_choice(model)
    if args.measure or choice is None:
        print(
            f"Measuring '{model.name}' in both weight layouts (about a minute for a small model)…",
            file=sys.stderr,
        )
        choice = measure_layouts(
            model,
            work=work,
            threads=args.threads or default_thread_count(),
            on_progress=lambda line: print(f"  {line}", file=sys.stderr),
        )
        workspace.registry.set_source(
            model.id, {**model.source, WEIGHT_LAYOUT_KEY: choice.to_json()}
        )
    elif choice.work is not work:
        choice = choice.for_work(work)
        workspace.registry.set_source(
            model.id, {**model.source, WEIGHT_LAYOUT_KEY: choice.to_json()}
        )
    if args.json:
        print_json({"model": model.name, **choice.to_json()})
        return 0
    print(f"'{model.name}' on this computer ({choice.machine}), {choice.threads} threads:")
    for label, speed in (("rearranged", choice.repacked), ("own layout", choice.plain)):
        print(
            f"  {label:>10}: reads a prompt at {speed.prompt_tokens_per_second:.0f} tokens/s, "
            f"writes at {speed.answer_tokens_per_second:.1f} tokens/s"
        )
    print(f"Chosen: {choice.describe()}.")
    if model.plain_buffers:
        print("(The file's own layout is used anyway: the repacked one crashed here at import.)")
    return 0


def _usual_work(workspace: Workspace) -> Work:
    """Document questions where this workspace has collections, chat turns otherwise."""
    return Work.DOCUMENTS if workspace.documents.list() else Work.CHAT
