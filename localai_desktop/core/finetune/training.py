"""The training loop that runs inside the trainer child: transformers + PEFT LoRA on the GGUF.

Imported only by `trainer_child` (torch, transformers and peft are imported inside functions,
so the rest of the core never pays for them). Resumable: the LoRA weights, the optimizer and
the step are checkpointed atomically, and the data order of every epoch is a function of the
seed and the epoch, so a resumed run continues exactly where the checkpoint was taken.

Every file goes through `WorkspaceFiles`: in a protected workspace the job file, data and
checkpoint are read sealed and written sealed (the checkpoint is built in memory, then sealed),
and the adapter is written into a scratch file in memory, sealed into place, and checked by
llama.cpp from a private copy, as chat loads it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import json
import logging
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.finetune.dataset import read_examples
from localai_desktop.core.finetune.events import (
    CANCEL_FILE,
    CHECKPOINT_FILE,
    EXIT_CANCELLED,
    EXIT_FINISHED,
    JobSpec,
    TrainingEvent,
)
from localai_desktop.core.finetune.exporter import BaseShape, export_lora_adapter
from localai_desktop.core.finetune.template import (
    IGNORE_INDEX,
    TokenizedExample,
    TrainingFormatter,
    tokenize_example,
)
from localai_desktop.core.finetune.tokenizer import GgufTokenizer
from localai_desktop.core.models.gguf_info import read_gguf_info
from localai_desktop.core.vault.scratch import scratch_file
from localai_desktop.core.vault.workspace_files import WorkspaceFiles

log = logging.getLogger(__name__)

Emit = Callable[[TrainingEvent], None]
STEP_EVENT_INTERVAL_S = 0.1  # a fast model trains hundreds of steps a second: throttle lines
CHECKPOINT_MIN_INTERVAL_S = 30.0


class Cancelled(Exception):
    """The parent asked to stop (or went away); a checkpoint has been written."""


def run_job(job_dir: Path, emit: Emit, files: WorkspaceFiles | None = None) -> int:
    """Train, checkpoint, export and check one job; returns the child's exit code."""
    files = files or WorkspaceFiles()
    spec = JobSpec.from_json(json.loads(files.read(job_dir / "job.json").decode("utf-8")))
    settings = spec.settings
    base_path = Path(spec.base_model_path)
    emit(TrainingEvent("loading", message="Preparing the examples"))
    train_examples = read_examples(Path(spec.train_file), files)
    validation_examples = read_examples(Path(spec.validation_file), files)
    with GgufTokenizer(base_path) as tokenizer:
        formatter = TrainingFormatter(
            tokenizer.chat_template, bos_text=tokenizer.bos_text, eos_text=tokenizer.eos_text
        )

        def encode(examples: Sequence[Any]) -> list[TokenizedExample]:
            return [
                _truncated(tokenize_example(formatter, tokenizer, e.turns), settings.max_length)
                for e in examples
            ]

        train, validation = encode(train_examples), encode(validation_examples)
    if not train:
        raise LocalAIError("There are no examples to train on.", "Add examples to the dataset.")

    import torch

    device = pick_device(settings.device)
    if device == "cpu":
        torch.set_num_threads(settings.threads or _physical_cores())
    torch.manual_seed(settings.seed)
    emit(TrainingEvent("loading", message="Loading the base model", device=device))
    model = _lora_model(base_path, settings, device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(train) / settings.batch_size)
    total_steps = settings.epochs * steps_per_epoch
    checkpoint = job_dir / CHECKPOINT_FILE
    step, history = _restore(checkpoint, model, optimizer, files)
    emit(
        TrainingEvent(
            "started",
            step=step,
            total_steps=total_steps,
            epochs=settings.epochs,
            resumed_from_step=step,
            device=device,
        )
    )
    cancel_file = job_dir / CANCEL_FILE

    last_save = [time.perf_counter()]

    def save(at_step: int) -> None:
        _save_checkpoint(checkpoint, model, optimizer, at_step, history, files)
        last_save[0] = time.perf_counter()
        emit(TrainingEvent("checkpoint", step=at_step, total_steps=total_steps))

    started, tokens_seen, last_emit, first_step = time.perf_counter(), 0, 0.0, step
    model.train()
    while step < total_steps:
        epoch, within = divmod(step, steps_per_epoch)
        order = epoch_order(len(train), settings.seed, epoch)
        batch = [train[i] for i in order[within * settings.batch_size :][: settings.batch_size]]
        inputs = _collate(batch, device)
        loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        tokens_seen += int(inputs["attention_mask"].sum())
        history.append(float(loss.detach()))
        elapsed = time.perf_counter() - started
        end_of_epoch = step % steps_per_epoch == 0
        throttled = elapsed - last_emit < STEP_EVENT_INTERVAL_S and step > first_step + 1
        if end_of_epoch or step == total_steps or not throttled:
            last_emit = elapsed
            rate = (step - first_step) / elapsed if elapsed > 0 else 0.0
            _emit_or_cancel(
                emit,
                TrainingEvent(
                    "step",
                    step=step,
                    total_steps=total_steps,
                    epoch=step / steps_per_epoch,
                    epochs=settings.epochs,
                    # Averaged as the final loss is: one batch's loss jumps from step to step.
                    loss=_recent_mean(history, steps_per_epoch),
                    tokens_per_second=tokens_seen / elapsed if elapsed > 0 else None,
                    eta_s=(total_steps - step) / rate if rate > 0 else None,
                ),
                save,
                step,
            )
        if end_of_epoch and validation:
            val_loss = evaluate(model, validation, settings.batch_size, device)
            model.train()
            _emit_or_cancel(
                emit,
                TrainingEvent(
                    "validation",
                    step=step,
                    total_steps=total_steps,
                    epoch=epoch + 1.0,
                    epochs=settings.epochs,
                    val_loss=val_loss,
                ),
                save,
                step,
            )
        # Saving takes an fsync: at most every CHECKPOINT_MIN_INTERVAL_S at epoch ends, so a
        # small model's many short epochs do not spend their time on the disk.
        epoch_save = (
            end_of_epoch and time.perf_counter() - last_save[0] >= CHECKPOINT_MIN_INTERVAL_S
        )
        if epoch_save or step % settings.checkpoint_every == 0:
            save(step)
        if cancel_file.exists() and step < total_steps:
            save(step)
            emit(TrainingEvent("cancelled", step=step, total_steps=total_steps))
            return EXIT_CANCELLED
    if step > first_step:
        save(step)  # a failed export or check then resumes straight to exporting
    final_loss = _recent_mean(history, steps_per_epoch)
    final_val = evaluate(model, validation, settings.batch_size, device) if validation else None
    emit(TrainingEvent("exporting", step=step, total_steps=total_steps))
    state = _lora_state(model)
    # Free the float32 weights before llama.cpp loads the model (the optimizer holds only the
    # small LoRA matrices).
    model = None
    _return_freed_memory()
    adapter_path = Path(spec.adapter_path)
    _export(adapter_path, state, spec, files)
    from localai_desktop.core.finetune.verify import answer_before_and_after

    samples = answer_before_and_after(
        base_path,
        adapter_path,
        validation_examples or train_examples,
        spec,
        opener=files.readable,  # a sealed adapter is checked the way chat will load it
    )
    emit(
        TrainingEvent(
            "finished",
            step=step,
            total_steps=total_steps,
            epoch=float(settings.epochs),
            epochs=settings.epochs,
            loss=final_loss,
            val_loss=final_val,
            adapter_path=spec.adapter_path,
            samples=samples,
        )
    )
    return EXIT_FINISHED


def _export(path: Path, state: dict[str, Any], spec: JobSpec, files: WorkspaceFiles) -> None:
    """Write the GGUF adapter: in place (atomically), or through memory and then sealed."""
    info = read_gguf_info(Path(spec.base_model_path))
    shape = BaseShape(info.architecture, info.block_count, info.head_count, info.head_count_kv)
    options: dict[str, Any] = {
        "alpha": spec.settings.alpha,
        "name": spec.name,
        "metadata": {"localai.base_model.sha256": spec.base_model_sha256},
    }
    if not files.sealed:
        export_lora_adapter(path, state, shape, **options)
        return
    with scratch_file(suffix=".gguf") as plain:
        export_lora_adapter(plain, state, shape, atomic=False, **options)
        files.write_from(path, plain)  # sealed, atomically


def _return_freed_memory() -> None:
    """Collect the training's objects and hand the freed memory back to the system.

    transformers dequantizes the weights tensor by tensor, in blocks of tens of MB that glibc
    serves from its heap and keeps after they are freed; without the trim, the llama.cpp check
    after training ran on top of the training's whole footprint.
    """
    gc.collect()
    before = _rss()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
    log.info("Training memory released: RSS %.0f MiB -> %.0f MiB", before / 2**20, _rss() / 2**20)


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _emit_or_cancel(
    emit: Emit, event: TrainingEvent, save: Callable[[int], None], step: int
) -> None:
    try:
        emit(event)
    except (BrokenPipeError, OSError):
        # The parent is gone (the app was closed or killed): keep the work and stop.
        save(step)
        raise Cancelled from None


def pick_device(wanted: str) -> str:
    """CUDA when torch finds one, else Apple MPS, else the CPU (or what the person chose)."""
    import torch

    if wanted != "auto":
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _physical_cores() -> int:
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except ImportError:  # pragma: no cover - psutil is a dependency
        return os.cpu_count() or 1


def load_base_model(path: Path, device: str) -> Any:
    """The GGUF model in transformers, dequantized to float32 (about 4 bytes per parameter)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    config = AutoConfig.from_pretrained(path.parent, gguf_file=path.name)
    pad = getattr(config, "pad_token_id", None)
    if isinstance(pad, int) and not 0 <= pad < config.vocab_size:
        config.pad_token_id = None  # llama.cpp writes "unset" as 2**32-1; transformers refuses it
    # Any: transformers' decorator on PreTrainedModel.to hides its signature from mypy.
    model: Any = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, config=config, dtype=torch.float32
    )
    return model.to(device)


def _lora_model(path: Path, settings: Any, device: str) -> Any:
    from peft import LoraConfig, get_peft_model

    model = load_base_model(path, device)
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.lora_dropout,
        target_modules="all-linear",  # every projection in the blocks, not the output layer
        bias="none",  # llama.cpp adapters cannot carry biases
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def _lora_state(model: Any) -> dict[str, Any]:
    from peft import get_peft_model_state_dict

    return {
        key: value.detach().float().cpu().numpy()
        for key, value in get_peft_model_state_dict(model, save_embedding_layers=False).items()
    }


def epoch_order(count: int, seed: int, epoch: int) -> list[int]:
    """The example order of one epoch: shuffled, and the same again on resume."""
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def _truncated(example: TokenizedExample, max_length: int) -> TokenizedExample:
    # Prepare refuses over-long examples; this only guards against tokenizer differences.
    if len(example.input_ids) <= max_length:
        return example
    return TokenizedExample(example.input_ids[:max_length], example.labels[:max_length])


def _collate(batch: Sequence[TokenizedExample], device: str) -> dict[str, Any]:
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return {
        "input_ids": ids.to(device),
        "labels": labels.to(device),
        "attention_mask": mask.to(device),
    }


def evaluate(
    model: Any, examples: Sequence[TokenizedExample], batch_size: int, device: str
) -> float:
    """Mean loss per learned token over the examples (no gradients)."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = examples[start : start + batch_size]
            inputs = _collate(batch, device)
            tokens = int((inputs["labels"][:, 1:] != IGNORE_INDEX).sum())
            if tokens:
                total += float(model(**inputs).loss) * tokens
                count += tokens
    return total / count if count else float("nan")


def _recent_mean(history: Sequence[float], window: int) -> float | None:
    recent = history[-max(1, window) :]
    return sum(recent) / len(recent) if recent else None


def _save_checkpoint(
    path: Path,
    model: Any,
    optimizer: Any,
    step: int,
    history: list[float],
    files: WorkspaceFiles,
) -> None:
    import torch
    from peft import get_peft_model_state_dict

    state = {
        "step": step,
        "lora": get_peft_model_state_dict(model, save_embedding_layers=False),
        "optimizer": optimizer.state_dict(),
        "history": history,
    }
    # Built in memory (a LoRA and its optimizer state are small), then written atomically,
    # sealed when the workspace is protected: a crash mid-save keeps the previous checkpoint.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    files.write(path, buffer.getvalue(), temp_prefix=".checkpoint-")


def _restore(
    path: Path, model: Any, optimizer: Any, files: WorkspaceFiles
) -> tuple[int, list[float]]:
    if not path.is_file():
        return 0, []
    import torch
    from peft import set_peft_model_state_dict

    try:
        state = torch.load(io.BytesIO(files.read(path)), map_location="cpu", weights_only=True)
        set_peft_model_state_dict(model, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
    except Exception as error:  # a damaged checkpoint: start over rather than fail
        log.warning("Checkpoint %s unusable (%s); starting from step 0", path, error)
        return 0, []
    return int(state["step"]), list(state.get("history", []))
