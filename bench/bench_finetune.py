"""Training throughput of the app's trainer process next to a plain PEFT loop, same model and data.

For each model (stories260K; the random Qwen2-0.5B-shaped Q4_K_M of make_models.py, with its
zeroed embedding rows filled: see `trainable_copy`), both paths train the same LoRA (rank 8 on
every projection, AdamW without weight decay) on the same tokenized examples, in the same
batches and order, with the same torch thread count, for the same number of steps:

- app: `FineTuneService.run` (the `trainer_child` process, JSON lines, checkpoints as set, then
  the export and llama.cpp's before/after check); tokens/s is what its last step event reports
  (non-padding tokens / time since the loop began);
- plain (baseline): a bare loop in a fresh process: transformers loads the GGUF, PEFT wraps it,
  forward/backward/step, timed the same way.

Rounds alternate the order of the two paths; the ratio is taken per round and its median
reported. Tokens per CPU-second (the trainer's CPU time over the same loop) is printed beside
tokens/s: other processes preempting the training thread slow its wall clock, much less its
CPU time. Peak memory is the peak resident set size of the process that trained (ru_maxrss);
each path runs in its own worker process so that one's memory does not count for the other.

    .venv/bin/python bench/bench_finetune.py [--models stories,0.5b] [--threads 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (
    REPO_ROOT,
    STORIES_260K,
    ForeignLoad,
    machine_line,
    markdown_table,
    median,
    save_json,
    wait_for_quiet,
)

MODEL_0_5B = REPO_ROOT / "bench" / "models" / "random-qwen2-0.5b-Q4_K_M.gguf"
# steps, batch size, examples: stories trains in seconds; the 0.5B model takes ~3-4 s a step
# (batches of two ~48-token examples on one thread), and ~60 s to load per path.
PLANS = {
    "stories": {"path": STORIES_260K, "steps": 60, "batch_size": 8, "examples": 16},
    "0.5b": {"path": MODEL_0_5B, "steps": 12, "batch_size": 2, "examples": 8, "trainable": True},
}


def model_path(plan: dict[str, Any]) -> Path:
    """The file both paths train on (the 0.5B model with its zeroed embeddings filled)."""
    return trainable_copy(plan["path"]) if plan.get("trainable") else plan["path"]


def trainable_copy(source: Path) -> Path:
    """`source` with small random embeddings in its zeroed rows, written once beside it.

    make_models.py zeroes the (tied) embedding rows of control, byte and unused tokens so
    that generation never samples them. Training cannot live with that: ChatML's first token,
    <|im_start|>, then keeps an all-zero hidden state through every layer, each RMSNorm's
    backward multiplies the gradient there by 1/sqrt(eps) = 1000, and it overflows to inf
    within a few layers: NaN gradients from the first step, on both paths alike. Rows at a
    tenth of the others' scale keep gradients finite and still lose every greedy pick.
    Everything else (tensor types included, so the file stays Q4_K_M) is copied as it is.
    """
    import numpy as np
    from gguf import GGUFReader, GGUFValueType, GGUFWriter
    from gguf.quants import dequantize, quantize

    target = source.with_name(source.stem + "-trainable.gguf")
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    reader = GGUFReader(source)
    architecture = reader.fields["general.architecture"].contents()
    partial = target.with_name(target.name + ".part")
    writer = GGUFWriter(partial, architecture)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub_type)
    for tensor in reader.tensors:
        data = tensor.data
        if tensor.name == "token_embd.weight":
            rows = dequantize(data, tensor.tensor_type)
            zeroed = ~rows.any(axis=1)
            noise = np.random.default_rng(1).standard_normal(rows.shape, dtype=np.float32)
            rows[zeroed] = noise[zeroed] * 0.002
            data = quantize(rows, tensor.tensor_type)
        writer.add_tensor(tensor.name, data, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(target)
    return target


def _examples(count: int) -> list[str]:
    rows = []
    for i in range(count):
        question = f"What are the opening hours of clinic number {i}?"
        answer = f"Clinic {i} is open from {7 + i % 3}am to {5 + i % 4}pm, Monday to Friday."
        rows.append(json.dumps({"prompt": question, "completion": answer}))
    return rows


def _settings(plan: dict[str, Any], threads: int) -> Any:
    from localai_desktop.core.finetune.events import TrainingSettings

    steps_per_epoch = math.ceil(plan["examples"] / plan["batch_size"])
    return TrainingSettings(
        rank=8, alpha=16, learning_rate=1e-3, epochs=math.ceil(plan["steps"] / steps_per_epoch),
        batch_size=plan["batch_size"], max_length=256, validation_share=0.0, threads=threads,
        checkpoint_every=10_000,
    )  # fmt: skip


def worker_app(plan: dict[str, Any], threads: int) -> dict[str, Any]:
    from localai_desktop.core.finetune.dataset import parse_jsonl
    from localai_desktop.core.finetune.runner import FineTuneFailed, FineTuneService
    from localai_desktop.core.models.adapters import AdapterRegistry
    from localai_desktop.core.models.registry import ModelRegistry
    from localai_desktop.core.storage import Database

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        db = Database(root / "localai.db")
        registry = ModelRegistry(db, root / "models")
        service = FineTuneService(
            db, registry, AdapterRegistry(db, root / "adapters"), root / "finetune"
        )
        # Probed as the app imports it: on CPUs whose AMX kernel faults, the export's llama.cpp
        # check then loads the model with plain buffers instead of crashing.
        base = registry.import_model(model_path(plan), name="base")
        settings = _settings(plan, threads)
        report = service.prepare(
            parse_jsonl("\n".join(_examples(plan["examples"]))), base, settings
        )
        job = service.create_job("bench", base, report, settings, check_memory=False)
        steps: list[Any] = []
        cpu: dict[str, float] = {}
        note = ""

        def on_event(event: Any) -> None:
            # The trainer's CPU time from its "started" event to its last step: the events
            # arrive within milliseconds, against a loop of tens of seconds.
            if event.kind == "started":
                cpu["start"] = _trainer_cpu_seconds()
            elif event.kind == "step":
                steps.append(event)
                if event.step == event.total_steps:
                    cpu["end"] = _trainer_cpu_seconds()

        try:
            service.run(job.id, on_event=on_event)
        except FineTuneFailed as error:
            # Training is done when the export's llama.cpp check runs; on VMs whose CPU
            # advertises AMX without granting it, llama.cpp's K-quant kernel faults there
            # (benchlib.batch_decode_crashes): the throughput is still what was measured.
            if not steps or steps[-1].step < steps[-1].total_steps:
                raise
            note = f"after training: {error.message[:80]}"
    last = steps[-1]
    return {
        "note": note,
        "tokens_per_second": last.tokens_per_second,
        "tokens_per_cpu_second": _token_count(plan) / (cpu["end"] - cpu["start"]),
        "steps": last.step,
        "final_loss": last.loss,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    }


def _trainer_cpu_seconds() -> float:
    import psutil

    (child,) = [p for p in psutil.Process().children() if "trainer_child" in " ".join(p.cmdline())]
    times = child.cpu_times()
    return float(times.user + times.system)


def _tokenized(plan: dict[str, Any]) -> list[Any]:
    from localai_desktop.core.finetune.dataset import parse_jsonl
    from localai_desktop.core.finetune.template import TrainingFormatter, tokenize_example
    from localai_desktop.core.finetune.tokenizer import GgufTokenizer

    report = parse_jsonl("\n".join(_examples(plan["examples"])))
    with GgufTokenizer(model_path(plan)) as tok:
        formatter = TrainingFormatter(
            tok.chat_template, bos_text=tok.bos_text, eos_text=tok.eos_text
        )
        return [tokenize_example(formatter, tok, e.turns) for e in report.examples]


def _token_count(plan: dict[str, Any]) -> int:
    """Tokens trained on: every example once per epoch (both paths train whole epochs)."""
    epochs = _settings(plan, 1).epochs
    return epochs * sum(len(example.input_ids) for example in _tokenized(plan))


def worker_plain(plan: dict[str, Any], threads: int) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, get_peft_model

    from localai_desktop.core.finetune.training import _collate, epoch_order, load_base_model

    settings = _settings(plan, threads)
    data = _tokenized(plan)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", lora_dropout=0.0)
    model = get_peft_model(load_base_model(model_path(plan), "cpu"), config)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.0)
    per_epoch = math.ceil(len(data) / settings.batch_size)
    total = settings.epochs * per_epoch
    tokens, started, cpu_started = 0, time.perf_counter(), time.process_time()
    model.train()
    for step in range(total):
        epoch, within = divmod(step, per_epoch)
        order = epoch_order(len(data), settings.seed, epoch)
        batch = [data[i] for i in order[within * settings.batch_size :][: settings.batch_size]]
        inputs = _collate(batch, "cpu")
        loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(inputs["attention_mask"].sum())
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    assert tokens == _token_count(plan)  # what the app's figure is computed from
    return {
        "tokens_per_second": tokens / elapsed,
        "tokens_per_cpu_second": tokens / cpu_s,
        "steps": total,
        "final_loss": float(loss),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def _in_worker(path_name: str, model: str, threads: int) -> dict[str, Any]:
    wait_for_quiet(max_wait_s=30)
    command = [sys.executable, __file__, "--worker", path_name, "--models", model]
    load = ForeignLoad()
    result = subprocess.run(
        [*command, "--threads", str(threads)], capture_output=True, text=True, check=False
    )
    foreign = load.stop()
    if result.returncode != 0:
        raise SystemExit(f"{path_name} worker failed:\n{result.stderr[-3000:]}")
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "foreign_load": foreign}


def _measure(model: str, rounds: int, threads: int) -> list[dict[str, Any]]:
    """`rounds` rounds of both paths, the order alternating so drift hits both alike."""
    measured = []
    for number in range(1, rounds + 1):
        order = ("plain", "app") if number % 2 else ("app", "plain")
        run = {name: _in_worker(name, model, threads) for name in order}
        run["ratio"] = run["app"]["tokens_per_second"] / run["plain"]["tokens_per_second"]
        run["cpu_ratio"] = (
            run["app"]["tokens_per_cpu_second"] / run["plain"]["tokens_per_cpu_second"]
        )
        print(
            f"  {model} round {number}: "
            + ", ".join(
                f"{name} {run[name]['tokens_per_second']:.1f} tok/s, "
                f"{run[name]['tokens_per_cpu_second']:.1f} tok/CPU-s "
                f"(foreign load {run[name]['foreign_load']:.0%})"
                for name in order
            )
            + f"; ratio {run['ratio']:.3f}, by CPU time {run['cpu_ratio']:.3f}",
            flush=True,
        )
        measured.append(run)
    return measured


def _rows(model: str, measured: list[dict[str, Any]]) -> list[list[Any]]:
    def summary(values: list[float], digits: int) -> str:
        return f"{median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"

    rows = []
    for name, label in (("plain", "plain PEFT loop (baseline)"), ("app", "app trainer child")):
        runs = [r[name] for r in measured]
        app = name == "app"
        rows.append(
            [
                model,
                label,
                runs[0]["steps"],
                summary([r["tokens_per_second"] for r in runs], 1),
                summary([r["ratio"] for r in measured], 2) if app else "1.00",
                summary([r["tokens_per_cpu_second"] for r in runs], 1),
                summary([r["cpu_ratio"] for r in measured], 2) if app else "1.00",
                f"{runs[-1]['final_loss']:.3f}",
                f"{max(r['peak_rss_bytes'] for r in runs) / 1024**2:.0f} MiB",
                f"{median(r['foreign_load'] for r in runs):.0%}",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="stories,0.5b")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=("app", "plain"))
    args = parser.parse_args()
    if args.worker:
        plan = PLANS[args.models]
        work = worker_app if args.worker == "app" else worker_plain
        print(json.dumps(work(plan, args.threads)))
        return
    print(machine_line())
    rows, raw = [], {}
    for model in args.models.split(","):
        if not PLANS[model]["path"].is_file():
            print(f"skipping {model}: {PLANS[model]['path']} is missing (run make_models.py)")
            continue
        print(f"{model}: {model_path(PLANS[model]).name}", flush=True)  # made once, not timed
        raw[model] = _measure(model, args.rounds, args.threads)
        rows += _rows(model, raw[model])
    header = [
        "model", "path", "steps", "tokens/s, median (range)", "app ÷ plain (per round)",
        "tokens per CPU-second", "app ÷ plain by CPU time", "last loss", "peak RSS",
        "foreign load",
    ]  # fmt: skip
    print(f"{args.rounds} rounds, {args.threads} torch thread(s)")
    print(markdown_table(header, rows))
    for model, measured in raw.items():
        for note in sorted({r["app"].get("note", "") for r in measured} - {""}):
            print(f"note ({model}, app): {note}")
    print(f"raw numbers: {save_json('finetune', {'rounds': raw, 'args': vars(args)})}")


if __name__ == "__main__":
    main()
