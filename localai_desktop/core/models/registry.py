"""The local model registry: import GGUF files (in place or copied), list and remove them."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from localai_desktop.core.audit.entries import MODEL_REMOVED
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, NotFoundError, StorageError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.models.chat_template import TEMPLATE_SAFE, notice_for
from localai_desktop.core.models.gguf_info import (
    GgufInfo,
    check_fits_in_memory,
    read_gguf_info,
    sha256_of_file,
)
from localai_desktop.core.models.probe import (
    ProbeReport,
    check_chat_template_in_child,
    probe_load,
)
from localai_desktop.core.models.prompt_formats import SOURCE_KEY as PROMPT_FORMAT_KEY
from localai_desktop.core.models.prompt_formats import FormatChoice, format_choice
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import ModelRow

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "checking", "hashing" or "copying"."""


class ImportCancelled(LocalAIError):
    """The user cancelled an import; nothing was registered."""


_FIRST_SPLIT_PART = re.compile(r"^(?P<prefix>.+)-00001-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)


def model_files(first_file: Path) -> list[Path]:
    """The files of a model: the file itself, or every part of a split model from its first."""
    match = _FIRST_SPLIT_PART.match(first_file.name)
    if match is None:
        return [first_file]
    # Only the part number changes; the rest keeps the file's own spelling ("-of-", ".GGUF").
    prefix, rest = match["prefix"], first_file.name[len(match["prefix"]) + len("-00001") :]
    return [
        first_file.with_name(f"{prefix}-{part:05d}{rest}")
        for part in range(1, int(match["count"]) + 1)
    ]


@dataclass(frozen=True)
class LocalModel:
    id: int
    name: str
    path: Path
    copied: bool
    file_size: int
    sha256: str
    architecture: str
    parameter_count: int
    quantization: str
    context_length: int
    license: str | None
    chat_template: str | None
    is_embedding_model: bool
    added_at: datetime
    source: dict[str, Any] = field(default_factory=dict)
    # Load without llama.cpp's repacked weight buffers (see core.models.probe.ProbeReport).
    plain_buffers: bool = False
    # The check of chat_template (core.models.chat_template): "safe", why it is not used
    # ("too_slow", "too_large", "too_much_memory", "broken"), or None until it is checked.
    chat_template_check: str | None = None

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template)

    @property
    def usable_chat_template(self) -> str | None:
        """The template chat renders with: None where the check refused it (or there is none)."""
        if self.chat_template and self.chat_template_check in (None, TEMPLATE_SAFE):
            return self.chat_template
        return None

    @property
    def chat_template_notice(self) -> str:
        """What a person is told about the model's chat format ("" when nothing)."""
        return notice_for(self.chat_template_check) if self.chat_template else ""

    @property
    def prompt_format(self) -> FormatChoice:
        """How the model is prompted: its own template, or a built-in format (and why)."""
        return format_choice(self)

    @property
    def file_exists(self) -> bool:
        return self.path.is_file()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": str(self.path),
            "copied": self.copied,
            "file_size": self.file_size,
            "sha256": self.sha256,
            "architecture": self.architecture,
            "parameter_count": self.parameter_count,
            "quantization": self.quantization,
            "context_length": self.context_length,
            "license": self.license,
            "has_chat_template": self.has_chat_template,
            "chat_template_check": self.chat_template_check,
            "chat_format": "model" if self.usable_chat_template else "standard",
            "chat_template_notice": self.chat_template_notice,
            "prompt_format": self.prompt_format.key,
            "prompt_format_origin": self.prompt_format.origin,
            "is_embedding_model": self.is_embedding_model,
            "file_exists": self.file_exists,
            "added_at": self.added_at.isoformat(),
            "source": self.source,
            "plain_buffers": self.plain_buffers,
        }


def _local_model(row: ModelRow) -> LocalModel:
    return LocalModel(
        id=row.id,
        name=row.name,
        path=Path(row.path),
        copied=row.copied,
        file_size=row.file_size,
        sha256=row.sha256,
        architecture=row.architecture,
        parameter_count=row.parameter_count,
        quantization=row.quantization,
        context_length=row.context_length,
        license=row.license,
        chat_template=row.chat_template,
        is_embedding_model=row.is_embedding_model,
        added_at=row.added_at,
        source=json.loads(row.source or "{}"),
        plain_buffers=bool(row.plain_buffers),
        chat_template_check=row.chat_template_check,
    )


def probe_timeout_for(file_size: int) -> float:
    """Time allowed for the test load: a big file on a slow disk takes a while to read."""
    return 60.0 + 30.0 * file_size / 1024**3


def _no_progress(_stage: str, _done: int, _total: int) -> None:
    pass


class ModelRegistry:
    """Models the user has added, with the facts read from their GGUF headers."""

    def __init__(self, db: Database, models_dir: Path, audit: AuditTrail | None = None) -> None:
        self._db = db
        self.models_dir = Path(models_dir)
        self._audit = audit  # records each removal

    def list(self) -> list[LocalModel]:
        with self._db.session() as session:
            rows = session.scalars(select(ModelRow).order_by(ModelRow.name))
            return [_local_model(row) for row in rows]

    def get(self, name_or_id: str | int) -> LocalModel:
        """A model by its name, or by its id (an int, or a string of digits)."""
        with self._db.session() as session:
            row = session.scalar(select(ModelRow).where(ModelRow.name == str(name_or_id)))
            if row is None and str(name_or_id).isdigit():
                row = session.get(ModelRow, int(name_or_id))
            if row is None:
                raise NotFoundError(
                    f"There is no model called '{name_or_id}'.",
                    "Check the name in your list of models (Models tab, or 'localai models list'), "
                    "or import the model first.",
                )
            return _local_model(row)

    def import_model(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        copy: bool = False,
        progress: ProgressCallback = _no_progress,
        should_cancel: Callable[[], bool] = lambda: False,
        probe: bool = True,
        owns_file: bool = False,
    ) -> LocalModel:
        """Check a GGUF file, then register it in place or as a copy in the models folder.

        The file is read with the gguf package and then loaded once in a child process, so a
        file that would crash llama.cpp is refused instead of taking the app down later.
        owns_file: the app made the file in its models folder (a quantized copy), so it is
        listed as copied, like a file the import copied there.
        """
        source = Path(path).expanduser().resolve()
        progress("checking", 0, 1)
        info = read_gguf_info(source)
        display_name = (name or info.name or source.stem).strip()
        self._check_name_free(display_name)
        # Refuse what cannot run here before the probe tries (and fails) to allocate it.
        check_fits_in_memory(info, min(info.context_length or 2048, 2048))
        load_report = ProbeReport()
        template_check: str | None = None
        if probe:
            # The template is checked apart from the load, within limits: one that is unsafe
            # or too slow does not stop the import; chat uses the standard format instead.
            if info.chat_template:
                template_check = check_chat_template_in_child(info.chat_template)
            load_report = probe_load(source, timeout_s=probe_timeout_for(info.file_size))
        progress("checking", 1, 1)

        def on_hash(done: int, total: int) -> None:
            progress("hashing", done, total)

        sha256 = sha256_of_file(source, progress=on_hash, should_cancel=should_cancel)
        if should_cancel():
            raise ImportCancelled("The import was cancelled.", "Nothing was added.")
        self._check_not_registered(sha256)
        final_path = source
        if copy:
            final_path = self._copy_into_models_dir(source, info, progress, should_cancel)
        try:
            return self._insert(
                display_name,
                final_path,
                copy or owns_file,
                sha256,
                info,
                plain_buffers=load_report.plain_buffers,
                chat_template_check=template_check,
            )
        except BaseException:
            if copy:
                final_path.unlink(missing_ok=True)
            raise

    def remove(self, name_or_id: str | int, *, delete_file: bool = False) -> LocalModel:
        """Forget a model; with delete_file, first delete its file (every part of a split one).

        The files go first: when one cannot be deleted (in use, a read-only folder) the model
        stays listed and the error says why, rather than leaving a file nobody knows about.
        """
        model = self.get(name_or_id)
        if delete_file:
            for path in model_files(model.path):
                try:
                    path.unlink(missing_ok=True)
                except OSError as error:
                    raise StorageError(
                        f"The file {path.name} could not be deleted "
                        f"({error.strerror or error}), so '{model.name}' was not removed.",
                        "Close programs that may be using it and check that you may change "
                        "its folder, then try again; or remove the model and keep its file.",
                    ) from error
        with self._db.session() as session:
            row = session.get(ModelRow, model.id)
            if row is not None:
                session.delete(row)
            if self._audit is not None:
                self._audit.append(
                    session,
                    MODEL_REMOVED,
                    facts={
                        "model_name": model.name,
                        "model_sha256": model.sha256,
                        "file_deleted": delete_file,
                    },
                )
        return model

    def check_chat_template(self, model: LocalModel) -> LocalModel:
        """Check a model's chat template once, if it has one and was never checked (models
        imported before the check existed, or without the load check); keep the verdict."""
        if not model.chat_template or model.chat_template_check is not None:
            return model
        verdict = check_chat_template_in_child(model.chat_template)
        if verdict is None:
            return model  # the check could not run; chat's own limits still apply
        with self._db.session() as session:
            row = session.get(ModelRow, model.id)
            if row is not None:
                row.chat_template_check = verdict
        if verdict != TEMPLATE_SAFE:
            log.warning("The chat template of %s was refused: %s", model.name, verdict)
        return replace(model, chat_template_check=verdict)

    def set_source(self, name_or_id: str | int, source: dict[str, Any]) -> None:
        """Record where a model came from (a catalog repo, commit and license)."""
        model = self.get(name_or_id)
        with self._db.session() as session:
            row = session.get(ModelRow, model.id)
            assert row is not None
            row.source = json.dumps(source)

    def set_prompt_format(self, name_or_id: str | int, key: str | None) -> LocalModel:
        """Prompt this model in a built-in format (core.models.prompt_formats), or None for
        automatic; kept in models.source so the models table needs no new column."""
        model = self.get(name_or_id)
        source = {k: v for k, v in model.source.items() if k != PROMPT_FORMAT_KEY}
        if key is not None:
            source[PROMPT_FORMAT_KEY] = key
        self.set_source(model.id, source)
        return replace(model, source=source)

    # -- helpers --------------------------------------------------------------------------

    def check_name_free(self, name: str) -> None:
        """Raise a plain error when a model of this name is already registered."""
        self._check_name_free(name)

    def _check_name_free(self, name: str) -> None:
        with self._db.session() as session:
            if session.scalar(select(ModelRow.id).where(ModelRow.name == name)) is not None:
                raise LocalAIError(
                    f"You already have a model called '{name}'.",
                    "Give this one another name.",
                )

    def _check_not_registered(self, sha256: str) -> None:
        with self._db.session() as session:
            existing = session.scalar(select(ModelRow).where(ModelRow.sha256 == sha256))
            if existing is not None:
                raise LocalAIError(
                    f"This file is already in your models as '{existing.name}'.",
                    "There is no need to import it again.",
                )

    def _copy_into_models_dir(
        self,
        source: Path,
        info: GgufInfo,
        progress: ProgressCallback,
        should_cancel: Callable[[], bool],
    ) -> Path:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        target = self.models_dir / source.name
        counter = 1
        while target.exists():
            target = self.models_dir / f"{source.stem}-{counter}{source.suffix}"
            counter += 1
        free = shutil.disk_usage(self.models_dir).free
        if free < info.file_size + 64 * 1024 * 1024:
            raise StorageError(
                f"There is not enough free disk space to copy this model "
                f"({format_bytes(info.file_size)} needed, {format_bytes(free)} free).",
                "Free some space, or import the file in place instead of copying it.",
            )
        # Copy to a partial name and rename at the end, so a half-copied file is never
        # mistaken for a model.
        partial = target.with_name(target.name + ".part")
        total = source.stat().st_size
        done = 0
        try:
            with source.open("rb") as src, partial.open("wb") as dst:
                while chunk := src.read(8 * 1024 * 1024):
                    if should_cancel():
                        raise ImportCancelled("The import was cancelled.", "Nothing was added.")
                    dst.write(chunk)
                    done += len(chunk)
                    progress("copying", done, total)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise StorageError(
                f"The model could not be copied: {error.strerror or error}.",
                "Free some disk space or import the file in place.",
            ) from error
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return target

    def _insert(
        self,
        name: str,
        path: Path,
        copied: bool,
        sha256: str,
        info: GgufInfo,
        *,
        plain_buffers: bool = False,
        chat_template_check: str | None = None,
    ) -> LocalModel:
        with self._db.session() as session:
            row = ModelRow(
                name=name,
                path=str(path),
                copied=copied,
                file_size=info.file_size,
                sha256=sha256,
                architecture=info.architecture,
                parameter_count=info.parameter_count,
                quantization=info.quantization,
                context_length=info.context_length,
                license=info.license,
                chat_template=info.chat_template,
                is_embedding_model=info.is_embedding_model,
                source="{}",
                plain_buffers=plain_buffers,
                chat_template_check=chat_template_check,
                added_at=utcnow(),
            )
            session.add(row)
            session.flush()
            log.info("Imported model %s (%s)", name, path)
            return _local_model(row)
