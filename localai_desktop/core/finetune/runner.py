"""The parent side of fine-tuning: prepare data, start, cancel and resume the trainer child.

How the CLI and the GUI use it (the GUI from one worker thread; nothing here touches Qt):

    service = FineTuneService(db, registry, adapters, jobs_dir)
    report = service.prepare_file("letters.jsonl", base, settings)  # per-row problems, split
    estimate = service.estimate(base, report, settings)             # estimate.problem: refusal
    job = service.create_job("clinic-letters", base, report, settings)
    result = service.run(job.id, on_event=show, cancel=cancellation)  # blocks until the end

`on_event` receives every `TrainingEvent` (plain, frozen data) from the worker's thread; the
GUI forwards it through a queued signal. `cancel.set()` stops at the next step with a
checkpoint kept; `run(job.id, ...)` again resumes from it. `run` returns a `FineTuneResult`
with the registered `Adapter` when finished, or `adapter=None` when cancelled, and raises
`FineTuneFailed` (a LocalAIError with a plain message) when training fails.

In a protected workspace (`vault` given) every file of a job is sealed with the workspace's
key: the data copy, job.json, checkpoints and the training log, and the adapter itself. The
child gets the file key on its standard input (never its command line or environment, which
other programs can see), and the parent keeps the child's log in memory until it seals it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.child_process import child_env, module_command
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.finetune.dataset import (
    DatasetReport,
    flag_long_examples,
    load_dataset_file,
    split_validation,
    write_examples,
)
from localai_desktop.core.finetune.estimate import TrainingEstimate, estimate_training
from localai_desktop.core.finetune.events import (
    CANCEL_FILE,
    CHECKPOINT_FILE,
    EXIT_CANCELLED,
    SEALED_FLAG,
    JobSpec,
    TrainingEvent,
    TrainingSettings,
)
from localai_desktop.core.finetune.jobs import FineTuneJob, JobStatus, JobStore
from localai_desktop.core.finetune.log_tail import SEALED_LOG_LIMIT, LogTail
from localai_desktop.core.finetune.stack import (
    TrainingUnavailableError,
    require_training_stack,
    untrainable_reason,
)
from localai_desktop.core.finetune.template import TrainingFormatter, tokenize_example
from localai_desktop.core.finetune.tokenizer import GgufTokenizer
from localai_desktop.core.models.adapters import Adapter, AdapterRegistry
from localai_desktop.core.models.gguf_info import read_gguf_info
from localai_desktop.core.models.hardware import Machine, detect_machine
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.storage.db import Database
from localai_desktop.core.vault.keys import Vault
from localai_desktop.core.vault.workspace_files import WorkspaceFiles

log = logging.getLogger(__name__)

EventCallback = Callable[[TrainingEvent], None]
CANCEL_GRACE_S = 120.0  # a step of a large model can take this long; then the child is killed
LOG_FILE = "trainer.log"


class FineTuneFailed(LocalAIError):
    """Training stopped with an error; the job keeps its checkpoint and can be resumed."""


@dataclass(frozen=True)
class FineTuneResult:
    job: FineTuneJob
    adapter: Adapter | None  # None when the run was cancelled
    last_event: TrainingEvent | None


def _no_event(_event: TrainingEvent) -> None:
    pass


class FineTuneService:
    """Datasets, estimates, jobs and adapters for one data folder."""

    def __init__(
        self,
        db: Database,
        registry: ModelRegistry,
        adapters: AdapterRegistry,
        jobs_dir: Path,
        *,
        machine: Machine | None = None,
        vault: Vault | None = None,
    ) -> None:
        self.registry = registry
        self.adapters = adapters
        self.jobs = JobStore(db)
        self.jobs_dir = Path(jobs_dir)  # the data folder's finetune/ (DataPaths.finetune)
        self._machine = machine
        self.files = WorkspaceFiles.for_vault(vault)  # sealed when the workspace is protected

    # -- preparing ------------------------------------------------------------------------------

    def check_base(self, base: LocalModel) -> None:
        """Refuse a base model that cannot be fine-tuned, saying why."""
        reason = untrainable_reason(base.architecture, is_embedding_model=base.is_embedding_model)
        if reason is not None:
            raise TrainingUnavailableError(f"'{base.name}' cannot be fine-tuned. {reason}")
        if not base.file_exists:
            raise TrainingUnavailableError(
                f"The file of '{base.name}' is missing ({base.path}).",
                "Put the file back, or import the model again.",
            )

    def prepare_file(
        self, path: str | Path, base: LocalModel, settings: TrainingSettings
    ) -> DatasetReport:
        return self.prepare(load_dataset_file(path), base, settings)

    def prepare(
        self, report: DatasetReport, base: LocalModel, settings: TrainingSettings
    ) -> DatasetReport:
        """Count tokens as training will, flag over-long rows, and split off validation."""
        self.check_base(base)
        with GgufTokenizer(base.path) as tokenizer:
            formatter = TrainingFormatter(
                tokenizer.chat_template, bos_text=tokenizer.bos_text, eos_text=tokenizer.eos_text
            )
            everything = report.examples + report.validation
            counts = [
                len(tokenize_example(formatter, tokenizer, e.turns).input_ids) for e in everything
            ]
        report.examples, report.validation = everything, []
        flag_long_examples(report, counts, settings.max_length)
        split_validation(report, settings.validation_share, seed=settings.seed)
        return report

    def estimate(
        self, base: LocalModel, report: DatasetReport, settings: TrainingSettings
    ) -> TrainingEstimate:
        counts = report.token_counts
        train_tokens = sum(counts.get(e.source, 0) for e in report.examples)
        val_tokens = sum(counts.get(e.source, 0) for e in report.validation)
        if self._machine is None:
            self._machine = detect_machine()
        return estimate_training(
            read_gguf_info(base.path),
            settings,
            train_tokens=train_tokens,
            validation_tokens=val_tokens,
            train_examples=len(report.examples),
            longest_example=max(counts.values(), default=1),
            machine=self._machine,
        )

    # -- jobs -------------------------------------------------------------------------------------

    def create_job(
        self,
        name: str,
        base: LocalModel,
        report: DatasetReport,
        settings: TrainingSettings,
        *,
        check_memory: bool = True,
    ) -> FineTuneJob:
        """Write the job folder (data copy, job.json) and its row; nothing runs yet."""
        require_training_stack()
        self.check_base(base)
        name = name.strip()
        if not name:
            raise LocalAIError("The adapter needs a name.", "Type a name for it.")
        if self.adapters.name_taken(name):
            raise LocalAIError(
                f"You already have an adapter called '{name}'.", "Choose another name."
            )
        problems = settings.problems()
        if problems:
            raise LocalAIError(" ".join(problems))
        if not report.examples:
            raise LocalAIError(
                "None of the examples can be used for training.",
                "Fix the rows listed as problems, then try again.",
            )
        if check_memory:
            estimate = self.estimate(base, report, settings)
            if estimate.problem:
                raise LocalAIError(estimate.problem)
        job = self.jobs.create(
            name,
            base_model_id=base.id,
            base_model_sha256=base.sha256,
            settings=settings,
            dataset=report.to_json(),
        )
        folder = self.jobs_dir / f"job-{job.id}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_examples(folder / "train.jsonl", report.examples, self.files)
            write_examples(folder / "validation.jsonl", report.validation, self.files)
            adapters_dir = self.adapters.adapters_dir
            adapters_dir.mkdir(parents=True, exist_ok=True)
            spec = JobSpec(
                name=name,
                base_model_path=str(base.path),
                base_model_sha256=base.sha256,
                base_model_plain_buffers=base.plain_buffers,
                settings=settings,
                train_file=str(folder / "train.jsonl"),
                validation_file=str(folder / "validation.jsonl"),
                adapter_path=str(adapters_dir / self._adapter_file_name(name, job.id)),
            )
            self.files.write(folder / "job.json", json.dumps(spec.to_json(), indent=2).encode())
        except OSError as error:
            self.jobs.delete(job.id)
            shutil.rmtree(folder, ignore_errors=True)
            raise LocalAIError(
                f"The training files could not be written: {error.strerror or error}.",
                "Free some disk space and try again.",
            ) from error
        return self.jobs.update(job.id, folder=folder)

    def _adapter_file_name(self, name: str, job_id: int) -> str:
        # A protected workspace's file names say nothing of what it holds.
        if self.files.sealed:
            return f"job-{job_id}-adapter.sealed"
        return f"{_slug(name)}-{job_id}.gguf"

    def _hide_adapter_name(self, job: FineTuneJob) -> None:
        """A job prepared before the workspace was protected would name its adapter file
        after the adapter: give it the anonymous name first."""
        spec_path = job.folder / "job.json"
        spec = JobSpec.from_json(json.loads(self.files.read(spec_path)))
        wanted = self._adapter_file_name(spec.name, job.id)
        if Path(spec.adapter_path).name != wanted:
            moved = str(Path(spec.adapter_path).with_name(wanted))
            data = {**spec.to_json(), "adapter_path": moved}
            self.files.write(spec_path, json.dumps(data, indent=2).encode())

    def read_log(self, job: FineTuneJob) -> str:
        """The training log of a job (the child's messages), opened if it is sealed."""
        path = job.folder / LOG_FILE
        if not path.is_file():
            return ""
        return self.files.read(path).decode("utf-8", errors="replace")

    def discard_job(self, job_id: int) -> None:
        """Forget an unfinished job and delete its folder (data copy and checkpoints)."""
        job = self.jobs.get(job_id)
        if job.status == JobStatus.RUNNING:
            raise LocalAIError("This training is still running.", "Cancel it first.")
        shutil.rmtree(job.folder, ignore_errors=True)
        self.jobs.delete(job_id)

    def has_checkpoint(self, job: FineTuneJob) -> bool:
        return (job.folder / CHECKPOINT_FILE).is_file()

    # -- running ----------------------------------------------------------------------------------

    def run(
        self,
        job_id: int,
        *,
        on_event: EventCallback = _no_event,
        cancel: Cancellation | None = None,
    ) -> FineTuneResult:
        """Train in a child process until it finishes, is cancelled or fails (blocking)."""
        require_training_stack()
        job = self.jobs.get(job_id)
        if not job.resumable:
            raise LocalAIError(f"The job '{job.name}' is {job.status} and cannot be run again.")
        cancel_file = job.folder / CANCEL_FILE
        cancel_file.unlink(missing_ok=True)
        if self.files.sealed:
            self._hide_adapter_name(job)
        child, log_tail = self._start_child(job)
        job = self.jobs.update(job.id, status=JobStatus.RUNNING, pid=child.pid, error=None)
        killer: list[threading.Timer] = []

        def request_stop() -> None:
            cancel_file.touch()
            timer = threading.Timer(CANCEL_GRACE_S, _kill, args=(child,))
            timer.daemon = True
            timer.start()
            killer.append(timer)

        remove_hook = cancel.add_callback(request_stop) if cancel is not None else None
        last: TrainingEvent | None = None
        try:
            assert child.stdout is not None
            for raw in child.stdout:
                event = TrainingEvent.from_json_line(raw.decode("utf-8", errors="replace"))
                if event is None:
                    continue
                last = event
                self._record(job.id, event)
                on_event(event)
            code = child.wait()
        except BaseException:
            request_stop()
            child.wait()
            raise
        finally:
            if remove_hook is not None:
                remove_hook()
            for timer in killer:
                timer.cancel()
            if log_tail is not None:
                self._seal_log(job, log_tail)
        return self._outcome(job.id, code, last)

    def _start_child(self, job: FineTuneJob) -> tuple[subprocess.Popen[bytes], LogTail | None]:
        """Start the trainer; when sealed, hand it the key on stdin and keep its log in memory."""
        args = [str(job.folder), *([SEALED_FLAG] if self.files.sealed else [])]
        # From source `python -m ...`; in the frozen app, the bundle's own executable.
        command = module_command("localai_desktop.core.finetune.trainer_child", *args)
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        if not self.files.sealed:
            with (job.folder / LOG_FILE).open("ab") as log_file:
                child = subprocess.Popen(
                    command,
                    stdout=subprocess.PIPE,
                    stderr=log_file,
                    stdin=subprocess.DEVNULL,
                    env=child_env(),
                    creationflags=flags,
                )
            return child, None
        child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE,
            env=child_env(),
            creationflags=flags,
        )
        assert child.stdin is not None and child.stderr is not None
        assert self.files.file_key is not None
        with contextlib.suppress(OSError):  # a child that died at once says why on stderr
            child.stdin.write(self.files.file_key.hex().encode("ascii") + b"\n")
            child.stdin.close()
        return child, LogTail(child.stderr)

    def _seal_log(self, job: FineTuneJob, tail: LogTail) -> None:
        """Append what the child said to the job's sealed log (its newest part is kept)."""
        text = tail.collected()
        if not text:
            return
        path = job.folder / LOG_FILE
        try:
            before = self.files.read(path) if path.is_file() else b""
        except LocalAIError:
            before = b""  # a damaged log is not worth failing a run over
        try:
            self.files.write(path, (before + text)[-SEALED_LOG_LIMIT:])
        except OSError as error:
            log.warning("The training log of job %s could not be saved: %s", job.id, error)

    def _record(self, job_id: int, event: TrainingEvent) -> None:
        if event.kind in ("started", "checkpoint", "validation"):
            self.jobs.update(job_id, step=event.step, total_steps=event.total_steps)

    def _outcome(self, job_id: int, code: int, last: TrainingEvent | None) -> FineTuneResult:
        job = self.jobs.get(job_id)
        if last is not None and last.kind == "finished" and code == 0:
            return self._register(job, last)
        if (last is not None and last.kind == "cancelled") or code == EXIT_CANCELLED:
            job = self.jobs.update(job_id, status=JobStatus.CANCELLED, pid=None)
            return FineTuneResult(job, None, last)
        if last is not None and last.kind == "error":
            error = FineTuneFailed(last.message, last.todo)
        else:
            error = FineTuneFailed(
                f"The training process stopped unexpectedly (exit code {code}); it may have "
                "run out of memory.",
                "Resume to continue from the last checkpoint; if it happens again, close "
                "other programs or lower the maximum length. Details: "
                f"{job.folder / LOG_FILE}"
                + (" (encrypted: 'localai finetune log' shows it)" if self.files.sealed else ""),
            )
        self.jobs.update(job_id, status=JobStatus.FAILED, pid=None, error=error.message)
        raise error

    def _register(self, job: FineTuneJob, finished: TrainingEvent) -> FineTuneResult:
        path = Path(finished.adapter_path)
        base = self.registry.get(job.base_model_id) if job.base_model_id else None
        try:
            if base is None:
                raise LocalAIError("The base model was removed while training.")
            adapter = self.adapters.register(
                job.name,
                path,
                base,
                settings=job.settings.to_dict(),
                dataset=job.dataset,
                final_loss=finished.loss,
                final_val_loss=finished.val_loss,
                samples=finished.samples,
            )
        except LocalAIError as error:
            path.unlink(missing_ok=True)
            self.jobs.update(job.id, status=JobStatus.FAILED, pid=None, error=error.message)
            raise FineTuneFailed(f"The adapter could not be saved: {error.message}") from error
        job = self.jobs.update(job.id, status=JobStatus.FINISHED, pid=None, adapter_id=adapter.id)
        # The data copy and checkpoints have served their purpose; the adapter keeps the facts.
        for leftover in (CHECKPOINT_FILE, "train.jsonl", "validation.jsonl"):
            (job.folder / leftover).unlink(missing_ok=True)
        return FineTuneResult(job, adapter, finished)


def _kill(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        log.warning("Trainer %s did not stop after %s s; killing it", child.pid, CANCEL_GRACE_S)
        child.kill()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "adapter"
