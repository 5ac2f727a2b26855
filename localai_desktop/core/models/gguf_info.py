"""Read and check a GGUF model file before llama.cpp ever sees it, and size it against memory."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from localai_desktop.core.common.errors import InvalidModelFileError, ModelTooLargeError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.models.gguf_header import (
    DAMAGED_TODO,
    incomplete_file_error,
    parse_gguf_file,
)

logger = logging.getLogger(__name__)

# The architecture names known to the llama.cpp inside llama-cpp-python 0.3.36 (LLM_ARCH_NAMES in
# its src/llama-arch.cpp), without "clip", which is a vision projector and not a model on its
# own. The gguf package's MODEL_ARCH_NAMES is not used: it is released separately and differs
# both ways. Update this set when llama-cpp-python is upgraded (a test checks it against the
# installed library).
SUPPORTED_ARCHITECTURES = frozenset(
    """
    llama llama4 deci falcon grok gpt2 gptj gptneox mpt baichuan starcoder refact bert modern-bert
    nomic-bert nomic-bert-moe neo-bert jina-bert-v2 jina-bert-v3 eurobert bloom stablelm qwen qwen2
    qwen2moe qwen2vl qwen3 qwen3moe qwen3next qwen3vl qwen3vlmoe qwen35 qwen35moe qwen4exp phi2 phi3
    phimoe plamo plamo2 plamo3 codeshell orion internlm2 minicpm minicpm3 gemma gemma2 gemma3
    gemma3n gemma4 gemma4-assistant gemma-embedding starcoder2 mamba mamba2 maple jamba falcon-h1
    xverse command-r cohere2 cohere2moe dbrx olmo olmo2 olmoe muse-glimmer openelm arctic deepseek
    deepseek2 deepseek2-ocr deepseek32 deepseek4 chatglm glm4 glm4moe glm-dsa bitnet t5 t5encoder
    jais jais2 nemotron nemotron_h nemotron_h_moe exaone exaone4 exaone-moe rwkv6 rwkv6qwen2 rwkv7
    arwkv7 granite granitemoe granitehybrid graniteswitch granite_swa chameleon wavtokenizer-dec
    plm bailingmoe bailingmoe2 bailingmoe3 dots1 dots3note arcee afmoe laguna ernie4_5 ernie4_5-moe
    hunyuan-moe hunyuan-dense hunyuan_vl hy_v3 hy_v4 smollm3 gpt-oss lfm2 lfm2moe dream
    smallthinker llada llada-moe seed_oss grovemoe apertus minimax-01 hrm_text minimax-m2
    minimax-m3 cogvlm rnd1 pangu-embedded mistral3 eagle3 dflash mistral4 paddleocr
    """.split()  # noqa: SIM905 (a list literal would take 140 lines)
)

# Architectures that turn text into vectors instead of generating it (their GGUFs may lack
# a pooling_type key, so the name alone has to tell).
EMBEDDING_ARCHITECTURES = frozenset(
    {"bert", "modern-bert", "nomic-bert", "nomic-bert-moe", "neo-bert", "jina-bert-v2"}
    | {"jina-bert-v3", "eurobert", "gemma-embedding", "t5encoder"}
)

_SPLIT_NAME = re.compile(r"^(?P<prefix>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
_GUESSED_FILE_TYPE = 1024  # flag llama.cpp ORs into general.file_type when it guessed the type


@dataclass(frozen=True)
class GgufInfo:
    """What the app needs to know about a model file, read from its GGUF metadata."""

    path: Path
    name: str
    architecture: str
    parameter_count: int
    quantization: str
    context_length: int
    embedding_length: int
    block_count: int
    head_count: int
    head_count_kv: int
    file_size: int
    license: str | None
    chat_template: str | None
    is_embedding_model: bool
    split_count: int
    # Per-head sizes of keys and values; 0 means embedding_length // head_count.
    key_length: int = 0
    value_length: int = 0

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template)


def _shard_paths(path: Path, fields: dict[str, Any]) -> list[Path]:
    """All files of a split model, given its first file ([path] when it is not split)."""
    count = _int_field(fields, "split.count", 1)
    if count <= 1:
        return [path]
    number = _int_field(fields, "split.no")
    match = _SPLIT_NAME.match(path.name)
    if not match:
        raise InvalidModelFileError(
            f"{path.name} is part {number + 1} of a model split into {count} files, but it has "
            "been renamed, so the other parts cannot be found.",
            "Give the parts their original names (name-00001-of-0000N.gguf).",
        )
    prefix = match["prefix"]
    if number != 0:
        first = f"{prefix}-00001-of-{count:05d}.gguf"
        raise InvalidModelFileError(
            f"{path.name} is part {number + 1} of a model split into {count} files.",
            f"Open the first part, {first}.",
        )
    return [path.with_name(f"{prefix}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def _quantization(fields: dict[str, Any], bytes_by_type: dict[str, int]) -> str:
    from gguf.constants import LlamaFileType  # here: importing gguf imports numpy (0.1 s)

    file_type = fields.get("general.file_type")
    if isinstance(file_type, int):
        try:
            name = LlamaFileType(file_type & ~_GUESSED_FILE_TYPE).name
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass  # a file type newer than the gguf package: fall back to the tensors
    if not bytes_by_type:
        return "unknown"
    return max(bytes_by_type.items(), key=lambda item: item[1])[0]


def _int_field(fields: dict[str, Any], key: str, default: int = 0) -> int:
    """An integer hyperparameter; per-layer lists (some models vary heads by layer) give the max."""
    value = fields.get(key, default)
    if isinstance(value, list):
        value = max((v for v in value if isinstance(v, int)), default=default)
    # A value of the wrong type or sign (a damaged or hand-made file) counts as absent.
    return value if isinstance(value, int) and value >= 0 else default


def _license(fields: dict[str, Any]) -> str | None:
    license_id = str(fields.get("general.license", "") or "").strip()
    license_name = str(fields.get("general.license.name", "") or "").strip()
    if license_id and license_name and license_name != license_id:
        return f"{license_id} ({license_name})"
    return license_id or license_name or None


def _check_is_runnable_model(path: Path, fields: dict[str, Any], tensor_count: int) -> str:
    """Refuse files that are valid GGUF but not a model this app can run; return the arch."""
    arch = fields.get("general.architecture")
    if fields.get("general.type") == "adapter":
        raise InvalidModelFileError(
            "This file is a LoRA adapter, not a model: it only changes a base model.",
            "Add the base model first, then use this file as its adapter.",
        )
    if arch == "clip":
        raise InvalidModelFileError(
            "This file is a vision projector (mmproj) that goes with a model, not a model itself.",
            "Choose the model's main .gguf file.",
        )
    if not isinstance(arch, str) or not arch:
        raise InvalidModelFileError(
            f"{path.name} does not say which kind of model it is, so it cannot be loaded.",
            DAMAGED_TODO,
        )
    if arch not in SUPPORTED_ARCHITECTURES:
        raise InvalidModelFileError(
            f"This model uses the '{arch}' architecture, which this version of LocalAI Desktop "
            "cannot run.",
            "Choose a model built on a supported architecture (such as Llama, Qwen, Gemma, "
            "Mistral or Phi), or check for an update of the app.",
        )
    has_tokenizer = bool(fields.get("tokenizer.ggml.model")) and "tokenizer.ggml.tokens" in fields
    if tensor_count == 0:
        if has_tokenizer:
            raise InvalidModelFileError(
                f"{path.name} contains only a tokenizer, no model weights.",
                "Choose the full model file.",
            )
        raise InvalidModelFileError(
            f"{path.name} contains no model weights.", "Choose the full model file."
        )
    if not has_tokenizer:
        raise InvalidModelFileError(
            f"{path.name} has no tokenizer, so text cannot be turned into input for the model.",
            "Download a complete conversion of this model.",
        )
    return arch


def read_gguf_info(path: Path) -> GgufInfo:
    """Read a model's metadata, refusing any file llama.cpp could not or should not load.

    Raises InvalidModelFileError with a message for the user. Only the header is read (with
    bounds checks), so a multi-gigabyte file takes milliseconds.
    """
    path = Path(path)
    header, size = parse_gguf_file(path)
    if size < header.data_end:
        raise incomplete_file_error(path, header.data_end, size)
    fields = header.fields
    shards = _shard_paths(path, fields)
    parameters, file_size, tensor_count = header.parameter_count, size, header.tensor_count
    bytes_by_type = dict(header.bytes_by_type)
    for number, shard in enumerate(shards[1:], start=2):
        if not shard.is_file():
            raise InvalidModelFileError(
                f"Part {number} of {len(shards)} of this model ({shard.name}) is missing.",
                "Download all parts into the same folder.",
            )
        part, part_size = parse_gguf_file(shard)
        if part_size < part.data_end:
            raise incomplete_file_error(shard, part.data_end, part_size)
        parameters += part.parameter_count
        file_size += part_size
        tensor_count += part.tensor_count
        for qtype, nbytes in part.bytes_by_type.items():
            bytes_by_type[qtype] = bytes_by_type.get(qtype, 0) + nbytes
    arch = _check_is_runnable_model(path, fields, tensor_count)

    name = fields.get("general.name")
    if not isinstance(name, str) or not name.strip():
        match = _SPLIT_NAME.match(path.name)
        name = match["prefix"] if match else path.stem
    chat_template = fields.get("tokenizer.chat_template")
    head_count = _int_field(fields, f"{arch}.attention.head_count")
    pooling = fields.get(f"{arch}.pooling_type")
    return GgufInfo(
        path=path,
        name=name.strip(),
        architecture=arch,
        parameter_count=parameters,
        quantization=_quantization(fields, bytes_by_type),
        context_length=_int_field(fields, f"{arch}.context_length"),
        embedding_length=_int_field(fields, f"{arch}.embedding_length"),
        block_count=_int_field(fields, f"{arch}.block_count"),
        head_count=head_count,
        # llama.cpp's default when the key is absent: no grouped-query attention.
        head_count_kv=_int_field(fields, f"{arch}.attention.head_count_kv", head_count),
        file_size=file_size,
        license=_license(fields),
        chat_template=chat_template if isinstance(chat_template, str) and chat_template else None,
        is_embedding_model=arch in EMBEDDING_ARCHITECTURES
        or (isinstance(pooling, int) and pooling > 0),
        split_count=len(shards),
        key_length=_int_field(fields, f"{arch}.attention.key_length"),
        value_length=_int_field(fields, f"{arch}.attention.value_length"),
    )


def estimate_memory_bytes(info: GgufInfo, n_ctx: int) -> int:
    """Bytes of RAM to run the model: weights + F16 KV cache for n_ctx tokens + ~12% overhead.

    n_ctx <= 0 means the model's training context, as in llama.cpp.
    """
    if n_ctx <= 0:
        n_ctx = info.context_length or 4096
    head_dim = info.embedding_length // info.head_count if info.head_count else 0
    per_token_per_head = (info.key_length or head_dim) + (info.value_length or head_dim)
    kv_cache = info.block_count * n_ctx * info.head_count_kv * per_token_per_head * 2
    return int((info.file_size + kv_cache) * 1.12)


def total_memory_bytes() -> int:
    """Physical RAM of this computer."""
    return int(psutil.virtual_memory().total)


def check_fits_in_memory(info: GgufInfo, n_ctx: int, total_memory: int | None = None) -> None:
    """Raise ModelTooLargeError when the model would need more than 90% of the memory."""
    total = total_memory_bytes() if total_memory is None else total_memory
    needed = estimate_memory_bytes(info, n_ctx)
    # The rest of the system needs some memory too; beyond 90% the machine starts swapping.
    if needed > 0.9 * total:
        raise ModelTooLargeError(
            f"This model needs about {format_bytes(needed)} of memory but this computer has "
            f"{format_bytes(total)}.",
            "Choose a smaller model or a smaller quantization (for example Q4_K_M).",
        )


def sha256_of_file(
    path: Path | str,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> str:
    """The file's SHA-256 as 64 hex digits, read in 1 MiB chunks.

    progress(done, total) is called after each chunk. When should_cancel() turns true, reading
    stops and "" is returned: the caller, which owns the cancel flag, reports the cancellation.
    """
    chunk_size = 1024 * 1024
    total = Path(path).stat().st_size
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            if should_cancel is not None and should_cancel():
                return ""
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()
