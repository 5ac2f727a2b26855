"""Generation speed: the app's ChatWorker pipeline against a plain llama-cpp-python loop.

Run by hand (after bench/make_models.py):
    .venv/bin/python bench/bench_generation.py [--models 0.5b stories] [--rounds 7] [--ladder]

Every round runs each path once on the same prompt tokens, seed and sampler settings, in a
rotating order (A,B,C / B,C,A / ...), so the machine's noise falls on all paths alike; the
tables show medians, and ratios/differences are taken per round (paired) before the median.
Every path decodes on the same thread (the ChatWorker's), see OnWorkerThread. Before each run
the script waits (up to --quiet-wait s) for other processes to leave the CPUs alone, and it
records the share of the machine they used during the run ("foreign load").
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchlib import (  # also puts the repo on sys.path
    BENCH_DIR,
    STORIES_260K,
    ForeignLoad,
    batch_decode_crashes,
    disable_extra_buffer_types,
    fmt,
    machine_line,
    save_json,
    wait_for_quiet,
)
from generation_paths import (
    OnWorkerThread,
    Receiver,
    Run,
    TokenClock,
    plain_llama,
    run_plain_generate,
)
from generation_report import APP, BASELINE, ENGINE, OWN, SERVICE, print_reports
from PySide6.QtWidgets import QApplication

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.inference.prompt import PromptPlan, plan_prompt
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.workers.chat import ChatWorker

MODEL_0_5B = BENCH_DIR / "models" / "random-qwen2-0.5b-Q4_K_M.gguf"
CONTEXT_LENGTH = 2048
TTFT_TOKENS = 2
PATHS = (BASELINE, OWN, APP)
LADDER = (ENGINE, SERVICE)
SHORT = {BASELINE: "plain", OWN: "own", APP: "app", ENGINE: "engine", SERVICE: "service"}


def prompt_plans(
    path: Path,
    model: Any,
    service_parts: tuple[ConversationStore, ModelRegistry],
    count: int,
    n_tokens: int,
) -> tuple[list[PromptPlan], list[str], int, int]:
    """The exact tokens the app will send for each question: plan_prompt on a loaded engine."""
    planner = LlamaEngine()
    settings = GenerationSettings(max_tokens=n_tokens, context_length=CONTEXT_LENGTH)
    n_ctx = ChatService(*service_parts, planner).context_length_for(model, settings)
    loaded = planner.load(path, n_ctx=n_ctx, chat_template=model.chat_template)
    questions = [
        f"Question {i}: tell me a long story about a dog, a boat and the sea." for i in range(count)
    ]
    plans = [
        plan_prompt(
            [ChatTurn("user", q)],
            planner.formatter,
            planner.tokenize,
            n_ctx=loaded.n_ctx,
            max_tokens=n_tokens,
            bos_token_ids=planner.bos_token_ids,
        )
        for q in questions
    ]
    n_threads = planner.n_threads
    planner.unload()
    return plans, questions, loaded.n_ctx, n_threads


def bench_model(
    label: str, path: Path, n_tokens: int, args: argparse.Namespace, data_dir: Path
) -> dict[str, Any]:
    rounds = args.rounds
    print(f"\n## {label}: {path.name}, {n_tokens} tokens, {rounds} rounds", flush=True)
    db = Database(data_dir / f"{label}.db")
    store = ConversationStore(db)
    registry = ModelRegistry(db, data_dir / "models")
    model = registry.import_model(path, name=label, probe=False)
    plans, questions, n_ctx, n_threads = prompt_plans(
        path, model, (store, registry), rounds + 1, n_tokens
    )

    worker = ChatWorker.start(store, registry)
    receiver = Receiver(worker)
    receiver.load(1, model.id, n_ctx)
    on_worker = OnWorkerThread(worker)
    # The baseline runs on the app's own Llama (on the worker's thread, while the worker is
    # idle): two Llama objects of the same file can differ by a few percent from where their
    # buffers landed in memory, more than what is measured. A plain loop on its own Llama,
    # built as LlamaEngine.load builds it, is reported too. Every run starts from an empty KV
    # cache (reset first), so every path evaluates the whole prompt.
    engine = worker._service.engine
    app_llm = engine._llm
    own_llm = on_worker.call(lambda: plain_llama(path, n_ctx, n_threads))
    llms = {OWN: own_llm}
    clock = TokenClock()
    service = ChatService(store, registry, engine)  # the worker's engine, driven without Qt
    request_ids = iter(range(2, 1_000_000))
    paths = PATHS + (LADDER if args.ladder else ())

    def measure(name: str, plan: PromptPlan, seed: int, question: str) -> Run:
        llm = llms.get(name, app_llm)
        on_worker.call(llm.reset)
        settings = GenerationSettings(
            max_tokens=plan.max_tokens, context_length=CONTEXT_LENGTH, seed=seed
        )
        conversation = None
        if name in (APP, SERVICE):
            conversation = store.create(model_id=model.id)  # as the Chat tab creates it
            store.add_message(conversation.id, "user", question)
        clock.start()
        load = ForeignLoad()
        if name == APP:
            run = receiver.answer(next(request_ids), conversation.id, model.id, settings)
            if run.extra["prompt_tokens"] != len(plan.tokens):
                raise RuntimeError("the app sent a different prompt than planned")
        elif name == SERVICE:
            message = on_worker.call(
                lambda: service.reply(conversation.id, model_id=model.id, settings=settings)
            )
            p = message.provenance
            run = Run(p["completion_tokens"], p["tokens_per_second"], p["time_to_first_token_s"])
        elif name == ENGINE:
            stats = on_worker.call(lambda: engine.generate(plan, settings, lambda _text: None))
            run = Run(stats.completion_tokens, stats.tokens_per_second, stats.time_to_first_token_s)
        else:
            run = on_worker.call(lambda: run_plain_generate(llm, plan, seed))
        run.extra["foreign_load"] = load.stop()
        run.extra["median_gap_tok_s"] = clock.median_gap_tok_s(run.tokens)
        return run

    def run_path(name: str, plan: PromptPlan, seed: int, question: str) -> Run:
        waited = wait_for_quiet(max_wait_s=args.quiet_wait) if args.quiet_wait > 0 else 0.0
        if not args.cold:
            # A throwaway 2-token answer on the same path, right before the measured one: on
            # this kind of VM, memory a process left untouched for a while is slow to touch
            # again (about 80 ms per idle second here), and the quiet gate idles before every
            # run; the measured run should pay for our code, not for the host.
            measure(name, replace(plan, max_tokens=TTFT_TOKENS), seed, question)
        run = measure(name, plan, seed, question)
        run.extra["waited_s"] = waited
        return run

    for name in paths:  # warm-up
        run_path(name, plans[0], 1, questions[0])
    results: dict[str, list[Run]] = {name: [] for name in paths}
    for r in range(1, rounds + 1):
        for name in paths[r % len(paths) :] + paths[: r % len(paths)]:
            results[name].append(run_path(name, plans[r], 1000 + r, questions[r]))
        line = "  ".join(
            f"{SHORT[n]}={fmt(results[n][-1].tok_s, 0)}({results[n][-1].extra['foreign_load']:.0%})"
            for n in paths
        )
        print(f"  round {r}: tok/s (foreign load) {line}", flush=True)

    # Time to first token again, over many short answers: a 0.5B prompt's evaluation alone
    # varies by tens of ms from run to run here, more than the overhead being measured.
    ttft_results: dict[str, list[Run]] = {BASELINE: [], APP: []}
    for r in range(args.ttft_rounds):
        plan = replace(plans[1 + r % rounds], max_tokens=TTFT_TOKENS)
        for name in (BASELINE, APP) if r % 2 else (APP, BASELINE):
            ttft_results[name].append(run_path(name, plan, 2000 + r, questions[1 + r % rounds]))
    print(f"  TTFT: {args.ttft_rounds} pairs of {TTFT_TOKENS}-token answers", flush=True)

    on_worker.call(own_llm.close)
    worker.shutdown()
    db.close()
    return {
        "label": label,
        "model": path.name,
        "n_tokens": n_tokens,
        "prompt_tokens": len(plans[1].tokens),
        "n_ctx": n_ctx,
        "n_threads": n_threads,
        "rounds": rounds,
        "runs": {name: [vars(run) for run in runs] for name, runs in results.items()},
        "ttft_runs": {
            name: [vars(run) | {"text": ""} for run in runs] for name, runs in ttft_results.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=["0.5b", "stories"], choices=["0.5b", "stories"]
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tokens-0.5b", dest="tokens_05b", type=int, default=256)
    parser.add_argument("--tokens-stories", type=int, default=2000)
    parser.add_argument(
        "--ttft-rounds",
        type=int,
        default=20,
        help=f"pairs (plain, app) of {TTFT_TOKENS}-token answers for the TTFT figure",
    )
    parser.add_argument(
        "--ladder",
        action="store_true",
        help="also run LlamaEngine.generate and ChatService.reply alone (where time goes)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=15.0,
        help="before each run, wait up to this many seconds for other processes to go quiet "
        "(0: do not wait)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="measure right after the quiet gate's idle wait, without a throwaway answer first",
    )
    parser.add_argument(
        "--report", metavar="JSON", help="print the tables of a saved bench/results/ file"
    )
    args = parser.parse_args()
    if args.report:
        print_reports(json.loads(Path(args.report).read_text()), "(from the saved run)")
        return

    app = QApplication([])  # noqa: F841 - the GUI thread's event loop delivers the batches
    models = {
        "0.5b": ("random-qwen2-0.5B-Q4_K_M", MODEL_0_5B, args.tokens_05b),
        "stories": ("stories260K", STORIES_260K, args.tokens_stories),
    }
    for key in args.models:
        if not models[key][1].is_file():
            raise SystemExit(f"missing {models[key][1]}: run bench/make_models.py first")
    crashes = [models[k][1].name for k in args.models if batch_decode_crashes(models[k][1])]
    if crashes:
        # Applies to the app's engine and the plain loops alike, so the comparison stays fair.
        print(
            f"NOTE: a batch of {', '.join(crashes)} crashes llama.cpp's AMX kernel on this "
            "machine: every path runs with use_extra_bufts=False"
        )
        disable_extra_buffer_types()
    reports = []
    with tempfile.TemporaryDirectory(prefix="localai-bench-") as tmp:
        for key in args.models:
            label, path, n_tokens = models[key]
            reports.append(bench_model(label, path, n_tokens, args, Path(tmp)))
    for report in reports:
        report["extra_bufts"] = "off" if crashes else "on"
        report["cold"] = args.cold
    saved = save_json("generation", reports)
    print_reports(reports, machine_line())
    print(f"\nraw numbers: {saved}")


if __name__ == "__main__":
    main()
