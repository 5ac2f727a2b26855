"""Check a GGUF LoRA adapter file before llama.cpp reads it (a bad one can crash the process)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from localai_desktop.core.common.errors import InvalidModelFileError, LocalAIError
from localai_desktop.core.models.gguf_header import parse_gguf_file
from localai_desktop.core.models.gguf_info import sha256_of_file

log = logging.getLogger(__name__)

_TODO = "Train the adapter again, or remove it and pick another one."
_FLOAT_TYPES = {0, 1, 30}  # F32, F16, BF16: what our exporter and llama.cpp's converter write


class AdapterFileError(LocalAIError):
    """An adapter file is missing, damaged, or does not belong to the chosen model."""


@dataclass(frozen=True)
class AdapterFileInfo:
    path: Path
    architecture: str
    alpha: float
    rank: int
    tensor_count: int
    base_model_sha256: str | None


def check_adapter_file(
    path: Path,
    *,
    architecture: str | None = None,
    base_model_sha256: str | None = None,
    expected_sha256: str | None = None,
    display_name: str | None = None,
) -> AdapterFileInfo:
    """Refuse a file that is not a complete, consistent LoRA adapter for this base model.

    Checks, in order: it is a complete GGUF file (bounds-checked header, data within the
    file); it says it is a LoRA adapter; every tensor is a .lora_a/.lora_b pair of float
    matrices with matching rank; its architecture (and, when recorded, the base model's
    SHA-256) is the model's; and, when given, the file's own SHA-256 is the registered one,
    so a file changed on disk since training is refused. `display_name` names the file in
    messages when `path` is a private plaintext copy of a sealed adapter.
    """
    path = Path(path)
    name = display_name or path.name
    try:
        header, _size = parse_gguf_file(path)
    except InvalidModelFileError as error:
        raise AdapterFileError(
            f"The adapter file {name} cannot be used: {error.what}", _TODO
        ) from None
    if _size < header.data_end:
        raise AdapterFileError(f"The adapter file {name} is incomplete.", _TODO)
    fields = header.fields
    if fields.get("general.type") != "adapter" or fields.get("adapter.type") != "lora":
        raise AdapterFileError(f"{name} is not a LoRA adapter.", _TODO)
    alpha = fields.get("adapter.lora.alpha")
    if not isinstance(alpha, float):
        raise AdapterFileError(f"The adapter file {name} lacks its LoRA alpha.", _TODO)
    file_arch = str(fields.get("general.architecture", ""))
    if architecture is not None and file_arch != architecture:
        raise AdapterFileError(
            f"The adapter {name} was made for a {file_arch} model, not {architecture}.",
            "Choose an adapter trained on this model.",
        )
    recorded_base = fields.get("localai.base_model.sha256")
    if base_model_sha256 and isinstance(recorded_base, str) and recorded_base != base_model_sha256:
        raise AdapterFileError(
            f"The adapter {name} was trained on a different model file.",
            "Choose an adapter trained on this model.",
        )
    rank = _check_tensors(path, name)
    if expected_sha256 is not None and sha256_of_file(path) != expected_sha256:
        raise AdapterFileError(
            f"The adapter file {name} has changed since it was trained (its fingerprint "
            "differs), so it may be damaged.",
            _TODO,
        )
    return AdapterFileInfo(
        path=path,
        architecture=file_arch,
        alpha=alpha,
        rank=rank,
        tensor_count=header.tensor_count,
        base_model_sha256=recorded_base if isinstance(recorded_base, str) else None,
    )


def _check_tensors(path: Path, name: str) -> int:
    """The rank shared by all pairs; raises AdapterFileError on any inconsistency."""
    # The header parse above already bounds-checked every offset, so the gguf package's
    # reader (which trusts the file) is safe to use for names and shapes now.
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
    except Exception as error:  # the reader raises many kinds on damaged input
        log.info("GGUFReader refused adapter %s: %r", path, error)
        raise AdapterFileError(f"The adapter file {name} is damaged.", _TODO) from None
    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    for tensor in reader.tensors:
        base, _, part = tensor.name.rpartition(".")
        if part not in ("lora_a", "lora_b") or not base:
            raise AdapterFileError(
                f"The adapter file {name} holds a tensor that is not LoRA ({tensor.name}).",
                _TODO,
            )
        if int(tensor.tensor_type) not in _FLOAT_TYPES or len(tensor.shape) != 2:
            raise AdapterFileError(
                f"The adapter file {name} has a tensor of an unsupported kind.", _TODO
            )
        shapes.setdefault(base, {})[part] = tuple(int(d) for d in tensor.shape)
    if not shapes:
        raise AdapterFileError(f"The adapter file {name} holds no weights.", _TODO)
    ranks: set[int] = set()
    for base, parts in shapes.items():
        if set(parts) != {"lora_a", "lora_b"}:
            raise AdapterFileError(
                f"The adapter file {name} is missing half of the weights of {base}.", _TODO
            )
        # ggml order: lora_a is [in, r], lora_b is [r, out].
        a_rank, b_rank = parts["lora_a"][1], parts["lora_b"][0]
        if a_rank != b_rank or a_rank == 0:
            raise AdapterFileError(
                f"The adapter file {name} has weights that do not fit together ({base}).",
                _TODO,
            )
        ranks.add(a_rank)
    return max(ranks)
