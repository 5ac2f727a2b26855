"""Training throughput of the app's trainer process next to a plain PEFT loop, same model and data.

For each model (stories260K; the random Qwen2-0.5B-shaped Q4_K_M of make_models.py), both paths
train the same LoRA (rank 8 on every projection, AdamW) on the same tokenized examples, in the
same batches and order, with the same torch thread count, for the same number of steps:

- app: `FineTuneService.run` (the `trainer_child` process, JSON lines, checkpoints as set);
  tokens/s is what its last step event reports (non-padding tokens / time since the loop began);
- plain (baseline): a bare loop in a fresh process: transformers loads the GGUF, PEFT wraps it,
  forward/backward/step, timed the same way.

Peak memory is the peak resident set size of the process that trained (ru_maxrss). Each path
runs in its own worker process so that one's memory does not count for the other.

    .venv/bin/python bench/bench_finetune.py [--models stories,0.5b] [--threads 2]
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
    machine_line,
    markdown_table,
    save_json,
    wait_for_quiet,
)

MODEL_0_5B = REPO_ROOT / "bench" / "models" / "random-qwen2-0.5b-Q4_K_M.gguf"
# steps, batch size, examples: stories trains in seconds; the 0.5B model takes ~10 s a step here.
PLANS = {
    "stories": {"path": STORIES_260K, "steps": 60, "batch_size": 8, "examples": 16},
    "0.5b": {"path": MODEL_0_5B, "steps": 4, "batch_size": 2, "examples": 8},
}


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
    from localai_desktop.core.finetune.adapters import AdapterRegistry
    from localai_desktop.core.finetune.dataset import parse_jsonl
    from localai_desktop.core.finetune.runner import FineTuneFailed, FineTuneService
    from localai_desktop.core.registry import ModelRegistry
    from localai_desktop.core.storage import Database

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        db = Database(root / "localai.db")
        registry = ModelRegistry(db, root / "models")
        service = FineTuneService(db, registry, AdapterRegistry(db, root / "adapters"), root)
        base = registry.import_model(plan["path"], name="base", probe=False)
        settings = _settings(plan, threads)
        report = service.prepare(
            parse_jsonl("\n".join(_examples(plan["examples"]))), base, settings
        )
        job = service.create_job("bench", base, report, settings, check_memory=False)
        steps = []
        note = ""
        try:
            service.run(job.id, on_event=lambda e: steps.append(e) if e.kind == "step" else None)
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
        "steps": last.step,
        "final_loss": last.loss,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    }


def worker_plain(plan: dict[str, Any], threads: int) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, get_peft_model

    from localai_desktop.core.finetune.dataset import parse_jsonl
    from localai_desktop.core.finetune.template import TrainingFormatter, tokenize_example
    from localai_desktop.core.finetune.tokenizer import GgufTokenizer
    from localai_desktop.core.finetune.training import _collate, epoch_order, load_base_model

    settings = _settings(plan, threads)
    report = parse_jsonl("\n".join(_examples(plan["examples"])))
    with GgufTokenizer(plan["path"]) as tok:
        formatter = TrainingFormatter(
            tok.chat_template, bos_text=tok.bos_text, eos_text=tok.eos_text
        )
        data = [tokenize_example(formatter, tok, e.turns) for e in report.examples]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", lora_dropout=0.0)
    model = get_peft_model(load_base_model(plan["path"], "cpu"), config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    per_epoch = math.ceil(len(data) / settings.batch_size)
    total = settings.epochs * per_epoch
    tokens, started = 0, time.perf_counter()
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
    elapsed = time.perf_counter() - started
    return {
        "tokens_per_second": tokens / elapsed,
        "steps": total,
        "final_loss": float(loss),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def _in_worker(path_name: str, model: str, threads: int) -> dict[str, Any]:
    wait_for_quiet(max_wait_s=30)
    command = [sys.executable, __file__, "--worker", path_name, "--models", model]
    result = subprocess.run(
        [*command, "--threads", str(threads)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{path_name} worker failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="stories,0.5b")
    parser.add_argument("--threads", type=int, default=2)
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
        plain = _in_worker("plain", model, args.threads)
        app = _in_worker("app", model, args.threads)
        raw[model] = {"plain": plain, "app": app}
        ratio = app["tokens_per_second"] / plain["tokens_per_second"]
        for name, numbers in (("plain PEFT loop (baseline)", plain), ("app trainer child", app)):
            rows.append(
                [
                    model,
                    name,
                    numbers["steps"],
                    f"{numbers['tokens_per_second']:.0f}",
                    f"{numbers['final_loss']:.3f}",
                    f"{numbers['peak_rss_bytes'] / 1024**2:.0f} MiB",
                    f"{ratio:.2f}" if name.startswith("app") else "1.00",
                ]
            )
    header = ["model", "path", "steps", "tokens/s", "last loss", "peak RSS", "vs baseline"]
    print(markdown_table(header, rows))
    for model, paths in raw.items():
        if paths["app"].get("note"):
            print(f"note ({model}, app): {paths['app']['note']}")
    print(f"raw numbers: {save_json('finetune', raw)}")


if __name__ == "__main__":
    main()
