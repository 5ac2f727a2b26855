"""Plain data shared by the trainer child and its parent: settings, the job file, progress events.

The child prints one `TrainingEvent` per line of stdout as JSON; the parent (CLI or the GUI's
worker) parses each line back with `TrainingEvent.from_json_line`. Event kinds, in the order a
run produces them:

- "loading": the base model and data are being prepared (message says what);
- "started": total_steps, epochs, device, resumed_from_step (0 for a fresh run);
- "step": step, total_steps, epoch (fractional), loss, tokens_per_second, eta_s; loss is the
  training loss averaged over the last epoch's steps (the steps so far, in the first epoch), the
  figure "finished" reports and the adapter keeps, so the app shows one loss throughout;
- "validation": step, epoch, val_loss (after every epoch);
- "checkpoint": step (the run can resume from here);
- "exporting": writing and checking the GGUF adapter;
- "finished": adapter_path, loss, val_loss, samples (before/after answers);
- "cancelled": step (the checkpoint to resume from), or "error": message, todo.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Files in a job folder: the parent creates CANCEL_FILE to stop the child at the next step.
CANCEL_FILE = "cancel"
CHECKPOINT_FILE = "checkpoint.pt"
# After JOB_DIR on the child's command line: the job is sealed, and the file key comes on stdin.
SEALED_FLAG = "--sealed"
# Exit codes of the trainer child.
EXIT_FINISHED = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 3


@dataclass(frozen=True)
class TrainingSettings:
    """What a person may tune; the defaults suit a few hundred examples on a 1-8B model."""

    rank: int = 8
    alpha: float = 16.0
    learning_rate: float = 2e-4
    epochs: int = 3
    max_length: int = 1024
    batch_size: int = 4
    validation_share: float = 0.1
    seed: int = 0
    # Steps between checkpoints; also at an epoch's end (at most every 30 s) and on cancel.
    checkpoint_every: int = 50
    lora_dropout: float = 0.0
    threads: int = 0  # CPU threads for torch; 0 means the physical cores
    device: str = "auto"  # "auto" (CUDA, then Apple MPS, then CPU), "cuda", "mps" or "cpu"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TrainingSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def problems(self) -> list[str]:
        """Settings that cannot work, in plain words (empty when all is well)."""
        found = []
        if not 1 <= self.rank <= 256:
            found.append("The LoRA rank must be between 1 and 256.")
        if self.alpha <= 0:
            found.append("LoRA alpha must be above 0.")
        if not 0 < self.learning_rate < 1:
            found.append("The learning rate must be between 0 and 1 (2e-4 is typical).")
        if not 1 <= self.epochs <= 100:
            found.append("Epochs must be between 1 and 100.")
        if not 16 <= self.max_length <= 32768:
            found.append("The maximum length must be between 16 and 32768 tokens.")
        if not 1 <= self.batch_size <= 256:
            found.append("The batch size must be between 1 and 256.")
        if not 0 <= self.validation_share < 0.5:
            found.append("The validation share must be between 0 and 0.5.")
        if self.device not in ("auto", "cuda", "mps", "cpu"):
            found.append("The device must be auto, cuda, mps or cpu.")
        return found


@dataclass(frozen=True)
class JobSpec:
    """The job file (job.json) the parent writes and the child reads."""

    name: str
    base_model_path: str
    base_model_sha256: str
    settings: TrainingSettings
    train_file: str
    validation_file: str
    adapter_path: str  # where the finished adapter goes (written atomically)
    sample_prompts: int = 3  # validation prompts answered before and after, for people
    base_model_plain_buffers: bool = False  # see core.models.probe.ProbeReport

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["settings"] = self.settings.to_dict()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobSpec:
        values = dict(data)
        values["settings"] = TrainingSettings.from_dict(values.get("settings"))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class TrainingEvent:
    """One progress report from the trainer (see the module docstring for the kinds)."""

    kind: str
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    epochs: int = 0
    loss: float | None = None
    val_loss: float | None = None
    tokens_per_second: float | None = None
    eta_s: float | None = None
    resumed_from_step: int = 0
    device: str = ""
    message: str = ""
    todo: str = ""
    adapter_path: str = ""
    samples: list[dict[str, str]] = field(default_factory=list)

    def to_json_line(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v not in (None, "", [], 0, 0.0)}
        data["kind"] = self.kind
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json_line(cls, line: str) -> TrainingEvent | None:
        """The event on a line of the child's stdout, or None for anything else."""
        try:
            data = json.loads(line)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def fraction_done(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0
