"""The registry of finished LoRA adapters: file, base model, dataset, settings, final losses.

In a protected workspace each adapter file is sealed with the workspace's key (it memorises
its training data); `opened` gives llama.cpp a private plaintext copy for the moment it loads
it. The registered sha256 is always the plaintext's, so provenance and the audit trail name
the same adapter whether it is stored sealed or not.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from localai_desktop.core.audit.entries import ADAPTER_DELETED
from localai_desktop.core.audit.trail import AuditTrail
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, NotFoundError, StorageError
from localai_desktop.core.models.adapter_file import AdapterFileError, check_adapter_file
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import AdapterRow
from localai_desktop.core.vault.keys import Vault
from localai_desktop.core.vault.sealed_files import is_sealed
from localai_desktop.core.vault.workspace_files import WorkspaceFiles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Adapter:
    """A LoRA adapter a person can pick in Chat for its base model."""

    id: int
    name: str
    path: Path
    base_model_id: int | None
    base_model_name: str
    base_model_sha256: str
    architecture: str
    file_size: int
    sha256: str
    rank: int
    alpha: float
    created_at: datetime
    settings: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    final_loss: float | None = None
    final_val_loss: float | None = None
    samples: list[dict[str, str]] = field(default_factory=list)

    @property
    def file_exists(self) -> bool:
        return self.path.is_file()

    def fits(self, model: LocalModel) -> bool:
        """Whether this adapter was trained on exactly this model file."""
        return model.sha256 == self.base_model_sha256

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": str(self.path),
            "base_model_id": self.base_model_id,
            "base_model_name": self.base_model_name,
            "base_model_sha256": self.base_model_sha256,
            "architecture": self.architecture,
            "file_size": self.file_size,
            "sha256": self.sha256,
            "rank": self.rank,
            "alpha": self.alpha,
            "settings": self.settings,
            "dataset": self.dataset,
            "final_loss": self.final_loss,
            "final_val_loss": self.final_val_loss,
            "samples": self.samples,
            "file_exists": self.file_exists,
            "created_at": self.created_at.isoformat(),
        }


def _adapter(row: AdapterRow) -> Adapter:
    return Adapter(
        id=row.id,
        name=row.name,
        path=Path(row.path),
        base_model_id=row.base_model_id,
        base_model_name=row.base_model_name,
        base_model_sha256=row.base_model_sha256,
        architecture=row.architecture,
        file_size=row.file_size,
        sha256=row.sha256,
        rank=row.rank,
        alpha=row.alpha,
        created_at=row.created_at,
        settings=json.loads(row.settings or "{}"),
        dataset=json.loads(row.dataset or "{}"),
        final_loss=row.final_loss,
        final_val_loss=row.final_val_loss,
        samples=json.loads(row.samples or "[]"),
    )


class AdapterRegistry:
    """Adapters made by fine-tuning; each is registered only once its file is complete."""

    def __init__(
        self,
        db: Database,
        adapters_dir: Path,
        audit: AuditTrail | None = None,
        *,
        vault: Vault | None = None,
    ) -> None:
        self._db = db
        self.adapters_dir = Path(adapters_dir)
        self._audit = audit  # records each removal
        self.files = WorkspaceFiles.for_vault(vault)  # sealed when the workspace is protected

    @property
    def sealed(self) -> bool:
        return self.files.sealed

    @contextlib.contextmanager
    def opened(self, path: Path) -> Iterator[Path]:
        """A path llama.cpp can load the adapter at `path` from, until the block ends: the
        file itself, or a private plaintext copy of a sealed one (in memory on Linux)."""
        with self.files.readable(path, suffix=".gguf") as readable:
            yield readable

    def hide_file_names(self) -> None:
        """In a protected workspace, rename adapter files that still carry the adapter's name
        (made before protection) to an anonymous one. Kill-safe: the new name is linked, the
        row changed, then the old name removed; a repeat finishes what a kill interrupted."""
        if not self.sealed:
            return
        with self._db.session() as session:
            named = [(row.id, Path(row.path)) for row in session.scalars(select(AdapterRow))]
        for adapter_id, old in named:
            new = old.with_name(f"adapter-{adapter_id}.sealed")
            if old.suffix == ".sealed" or not old.is_file() or not is_sealed(old):
                continue
            try:
                if not (new.exists() and os.path.samefile(old, new)):
                    os.link(old, new)
                with self._db.session() as session:
                    row = session.get(AdapterRow, adapter_id)
                    if row is not None:
                        row.path = str(new)
                old.unlink()
            except OSError as error:
                # Not the file's name in the log: it is the one thing being hidden.
                log.warning("The file of adapter %s keeps its name: %s", adapter_id, error.strerror)

    def list(self, *, for_model: LocalModel | None = None) -> list[Adapter]:
        """All adapters, or those trained on `for_model`'s exact file."""
        with self._db.session() as session:
            query = select(AdapterRow).order_by(AdapterRow.name)
            if for_model is not None:
                query = query.where(AdapterRow.base_model_sha256 == for_model.sha256)
            return [_adapter(row) for row in session.scalars(query)]

    def get(self, name_or_id: str | int) -> Adapter:
        with self._db.session() as session:
            row = session.scalar(select(AdapterRow).where(AdapterRow.name == str(name_or_id)))
            if row is None and str(name_or_id).isdigit():
                row = session.get(AdapterRow, int(name_or_id))
            if row is None:
                raise NotFoundError(
                    f"There is no adapter called '{name_or_id}'.",
                    "See your adapters with 'localai adapters list', or fine-tune one.",
                )
            return _adapter(row)

    def name_taken(self, name: str) -> bool:
        with self._db.session() as session:
            return session.scalar(select(AdapterRow.id).where(AdapterRow.name == name)) is not None

    def register(
        self,
        name: str,
        path: Path,
        base: LocalModel,
        *,
        settings: dict[str, Any],
        dataset: dict[str, Any],
        final_loss: float | None,
        final_val_loss: float | None,
        samples: builtins.list[dict[str, str]],
    ) -> Adapter:
        """Record a finished adapter file (sealed when protected) after checking it is
        complete and fits `base`."""
        with self.opened(path) as readable:
            info = check_adapter_file(
                readable,
                architecture=base.architecture,
                base_model_sha256=base.sha256,
                display_name=path.name,
            )
        sha256, size = self.files.fingerprint(path)
        if self.name_taken(name):
            raise LocalAIError(
                f"You already have an adapter called '{name}'.", "Give this one another name."
            )
        with self._db.session() as session:
            row = AdapterRow(
                name=name,
                path=str(path),
                base_model_id=base.id,
                base_model_name=base.name,
                base_model_sha256=base.sha256,
                architecture=base.architecture,
                file_size=size,
                sha256=sha256,
                rank=info.rank,
                alpha=info.alpha,
                settings=json.dumps(settings),
                dataset=json.dumps(dataset),
                final_loss=final_loss,
                final_val_loss=final_val_loss,
                samples=json.dumps(samples, ensure_ascii=False),
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _adapter(row)

    def checked_for(self, name_or_id: str | int, model: LocalModel) -> Adapter:
        """The adapter, refused with a plain reason unless it belongs to `model` and is intact.

        The file's fingerprint is checked by the engine when it loads the adapter.
        """
        adapter = self.get(name_or_id)
        if not adapter.fits(model):
            raise AdapterFileError(
                f"The adapter '{adapter.name}' was trained on '{adapter.base_model_name}', "
                f"not on '{model.name}'.",
                f"Choose '{adapter.base_model_name}' as the model, or another adapter.",
            )
        if not adapter.file_exists:
            raise AdapterFileError(
                f"The file of the adapter '{adapter.name}' is missing ({adapter.path}).",
                "Put the file back, or remove the adapter and train it again.",
            )
        return adapter

    def remove(self, name_or_id: str | int, *, delete_file: bool = True) -> Adapter:
        """Forget an adapter and delete its file; answers written with it keep its name and
        sha256 in their provenance (a JSON copy, not a link to this row).

        The file goes first: when it cannot be deleted (in use, a read-only folder) the adapter
        stays listed and the error says why, rather than leaving a file nobody knows about.
        """
        adapter = self.get(name_or_id)
        if delete_file:
            try:
                adapter.path.unlink(missing_ok=True)
            except OSError as error:
                raise StorageError(
                    f"The file of the adapter '{adapter.name}' could not be deleted "
                    f"({error.strerror or error}), so the adapter was not removed.",
                    "Close programs that may be using it and check that you may change "
                    f"its folder ({adapter.path.parent}), then try again.",
                ) from error
        with self._db.session() as session:
            row = session.get(AdapterRow, adapter.id)
            if row is not None:
                session.delete(row)
            if self._audit is not None:
                self._audit.append(
                    session,
                    ADAPTER_DELETED,
                    facts={
                        "adapter_name": adapter.name,
                        "adapter_sha256": adapter.sha256,
                        "base_model_sha256": adapter.base_model_sha256,
                        "file_deleted": delete_file,
                    },
                )
        return adapter
