"""`localai models import|list|rm`: the local model registry."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from localai_desktop.cli.output import print_json, print_table
from localai_desktop.core.common.units import format_bytes, format_parameter_count
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.models.prompt_formats import FORMATS, format_choice, parse_format
from localai_desktop.core.models.registry import LocalModel


def add_commands(models: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the local-model actions to the `models` command."""
    imp = models.add_parser("import", help="add a GGUF model file")
    imp.add_argument("path")
    imp.add_argument("--name", help="name to show (default: from the file)")
    imp.add_argument("--copy", action="store_true", help="copy into the app's model folder")
    imp.set_defaults(handler=_models_import)
    lst = models.add_parser("list", help="list local models")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_models_list)
    template = models.add_parser(
        "template", help="show or set the prompt format a model is written to in"
    )
    template.add_argument("name")
    template.add_argument(
        "--set",
        metavar="FORMAT",
        help="one of: auto, " + ", ".join(FORMATS) + " (auto: the file's own template, or a "
        "guess from the model's architecture and tokens)",
    )
    template.set_defaults(handler=_models_template)
    rm = models.add_parser("rm", help="remove a model")
    rm.add_argument("name")
    rm.add_argument("--delete-file", action="store_true", help="also delete the file")
    rm.set_defaults(handler=_models_rm)


def _models_import(workspace: Workspace, args: argparse.Namespace) -> int:
    stages = {"checking": "Checking the file", "hashing": "Fingerprinting", "copying": "Copying"}

    def progress(stage: str, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        end = "\n" if done >= total else ""
        if sys.stderr.isatty() or done >= total:
            print(f"\r{stages.get(stage, stage)}: {percent:3d}%", end=end, file=sys.stderr)

    model = workspace.registry.import_model(
        args.path, name=args.name, copy=args.copy, progress=progress
    )
    print(f"Imported '{model.name}' ({_describe(model.to_json())}).")
    if not model.has_chat_template and not model.is_embedding_model:
        choice = format_choice(model)
        print(
            f"Note: '{model.name}' has no chat template; prompt format "
            f"{choice.describe()} (change it with: localai models template NAME --set FORMAT)"
        )
    if model.chat_template_notice:
        print(f"Note: '{model.name}': {model.chat_template_notice}.")
    return 0


def _models_list(workspace: Workspace, args: argparse.Namespace) -> int:
    models = workspace.registry.list()
    if args.json:
        print_json([m.to_json() for m in models])
        return 0
    if not models:
        print("No models yet. Add one with: localai models import PATH")
        return 0
    rows = [
        [
            m.name,
            m.architecture,
            format_parameter_count(m.parameter_count),
            m.quantization,
            str(m.context_length),
            format_bytes(m.file_size),
            m.license or "-",
            _template_cell(m),
            "" if m.file_exists else "FILE MISSING",
        ]
        for m in models
    ]
    header = ["NAME", "ARCH", "PARAMS", "QUANT", "CONTEXT", "SIZE", "LICENSE", "TEMPLATE", ""]
    print_table(header, rows)
    for m in models:
        if m.chat_template_notice:
            print(f"Note: '{m.name}': {m.chat_template_notice}.")
    return 0


def show_local_model(model: LocalModel) -> None:
    """`localai models show NAME` for a model in the registry: its facts, in lines."""
    print(model.name)
    print(f"File: {model.path}{'' if model.file_exists else ' (MISSING)'}")
    print(f"Model: {_describe(model.to_json())}, context {model.context_length:,} tokens")
    print(f"License: {model.license or model.source.get('license') or 'not stated'}")
    if not model.has_chat_template or format_choice(model).origin == "chosen":
        print(f"Chat format: {format_choice(model).describe()}")
    elif model.chat_template_notice:
        print(f"Chat format: standard. Note: {model.chat_template_notice}.")
    elif model.chat_template_check is None:
        print("Chat format: the model's own (checked when it is first loaded)")
    else:
        print("Chat format: the model's own")


def _models_template(workspace: Workspace, args: argparse.Namespace) -> int:
    model = workspace.registry.get(args.name)
    if args.set is not None:
        model = workspace.registry.set_prompt_format(model.id, parse_format(args.set))
    choice = format_choice(model)
    print(f"Prompt format of '{model.name}': {choice.key} ({choice.origin})")
    print(choice.describe())
    if model.chat_template_notice:
        print(f"Note: {model.chat_template_notice}.")
    return 0


def _template_cell(model: LocalModel) -> str:
    if not model.has_chat_template:
        return f"no ({format_choice(model).key})"
    return "refused" if model.chat_template_notice else "yes"


def _models_rm(workspace: Workspace, args: argparse.Namespace) -> int:
    model = workspace.registry.remove(args.name, delete_file=args.delete_file)
    deleted = f" and deleted {model.path}" if args.delete_file else ""
    print(f"Removed '{model.name}'{deleted}.")
    return 0


def _describe(model: dict[str, Any]) -> str:
    return (
        f"{model['architecture']}, {format_parameter_count(model['parameter_count'])} parameters, "
        f"{model['quantization']}, {format_bytes(model['file_size'])}"
    )
