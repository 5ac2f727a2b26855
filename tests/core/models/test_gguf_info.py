"""Reading, checking and sizing GGUF files, and the crash-proof load probe."""

from __future__ import annotations

import hashlib
import struct
import time
from pathlib import Path

import pytest

from localai_desktop.core.common.errors import (
    InvalidModelFileError,
    ModelLoadError,
    ModelTooLargeError,
)
from localai_desktop.core.common.units import format_bytes, format_parameter_count
from localai_desktop.core.models.gguf_info import (
    SUPPORTED_ARCHITECTURES,
    check_fits_in_memory,
    estimate_memory_bytes,
    read_gguf_info,
    sha256_of_file,
    total_memory_bytes,
)
from localai_desktop.core.models.probe import probe_load
from tests.support import gguf_factory

# Fixtures from conftest.py: models_dir (skips without ../shared/models), stories260k, and
# tiny_chat_model (a never-stopping random llama with Phi-3's tokenizer and chat template).

STORIES_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
GiB = 1024**3


@pytest.fixture(scope="session")
def too_large_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Larger than any machine running the tests, so the real-RAM check refuses it too.
    size = max(64 * GiB, 2 * total_memory_bytes())
    path = tmp_path_factory.mktemp("models") / "too-large.gguf"
    return gguf_factory.write_too_large_model(path, weight_bytes=size)


def _refusal(path: Path) -> str:
    with pytest.raises(InvalidModelFileError) as caught:
        read_gguf_info(path)
    message = caught.value.message
    # Messages are for people: no exception names, no tracebacks.
    assert "Error" not in message and "Traceback" not in message
    assert caught.value.todo, "every refusal says what to do next"
    return message


# --- reading real files -----------------------------------------------------------------------


def test_stories260k_info_matches_the_file(stories260k: Path) -> None:
    info = read_gguf_info(stories260k)
    assert info.architecture == "llama"
    assert info.name == "llama"
    assert info.parameter_count == 292_800  # "260K" is the model's name; this counts embeddings
    assert info.quantization == "F32"
    assert (info.context_length, info.embedding_length, info.block_count) == (2048, 64, 5)
    assert (info.head_count, info.head_count_kv) == (8, 4)
    assert info.file_size == 1_185_376
    assert info.chat_template is None and not info.has_chat_template
    assert info.license is None
    assert not info.is_embedding_model
    assert info.split_count == 1


def test_parameter_count_agrees_with_the_gguf_package(models_dir: Path) -> None:
    from gguf import GGUFReader

    for name in ("stories260K.gguf", "all-MiniLM-L6-v2-Q8_0.gguf"):
        reader = GGUFReader(models_dir / name)
        expected = sum(int(t.n_elements) for t in reader.tensors)
        assert read_gguf_info(models_dir / name).parameter_count == expected


def test_minilm_is_an_embedding_model(models_dir: Path) -> None:
    info = read_gguf_info(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf")
    assert info.is_embedding_model
    assert (info.architecture, info.quantization, info.context_length) == ("bert", "Q8_0", 512)
    assert info.license == "apache-2.0"
    assert info.name == "MiniLM L6 H384 Uncased"


def test_generated_llama_with_phi3_tokenizer_has_its_chat_template(tiny_chat_model: Path) -> None:
    info = read_gguf_info(tiny_chat_model)
    assert info.has_chat_template and "<|assistant|>" in (info.chat_template or "")
    assert (info.license, info.quantization, info.architecture) == ("mit", "F32", "llama")


def test_chat_template_can_be_removed_or_replaced(models_dir: Path, tmp_path: Path) -> None:
    phi3 = models_dir / "ggml-vocab-phi-3.gguf"
    plain = gguf_factory.write_random_llama(
        tmp_path / "a.gguf", tokenizer_from=phi3, chat_template=None
    )
    custom = gguf_factory.write_random_llama(
        tmp_path / "b.gguf", tokenizer_from=phi3, chat_template="{{ messages }}"
    )
    assert read_gguf_info(plain).chat_template is None
    assert read_gguf_info(custom).chat_template == "{{ messages }}"


@pytest.mark.parametrize("ftype", ["Q4_K_M", "Q8_0"])
def test_quantized_model_reports_its_quantization(
    stories260k: Path, tmp_path: Path, ftype: str
) -> None:
    src = gguf_factory.write_random_llama(
        tmp_path / "f16.gguf", tokenizer_from=stories260k, n_embd=256, n_ff=512, dtype="f16"
    )
    assert read_gguf_info(src).quantization == "F16"
    quantized = gguf_factory.quantize(src, tmp_path / f"{ftype}.gguf", ftype)
    info = read_gguf_info(quantized)
    assert info.quantization == ftype
    assert info.parameter_count == read_gguf_info(src).parameter_count


def test_split_model_is_read_from_its_first_part(stories260k: Path, tmp_path: Path) -> None:
    parts = gguf_factory.write_split_llama(tmp_path / "split.gguf", tokenizer_from=stories260k)
    info = read_gguf_info(parts[0])
    assert info.split_count == 3
    assert info.file_size == sum(p.stat().st_size for p in parts)
    assert info.name == "Small Test Model"
    message = _refusal(parts[1])
    assert "part 2 of a model split into 3 files" in message and parts[0].name in message
    parts[2].unlink()
    assert "Part 3 of 3" in _refusal(parts[0]) and "missing" in _refusal(parts[0])


def test_a_big_vocabulary_is_read_in_milliseconds(models_dir: Path) -> None:
    # GGUFReader needs ~4 s for GPT-2's 50k tokens + 50k merges; a Llama 3 file would take ~20 s.
    started = time.perf_counter()
    _refusal(models_dir / "ggml-vocab-gpt-2.gguf")
    assert time.perf_counter() - started < 0.5


# --- refusing bad files -----------------------------------------------------------------------


def test_truncated_download_is_called_incomplete(stories260k: Path, tmp_path: Path) -> None:
    message = _refusal(gguf_factory.write_truncated_copy(stories260k, tmp_path / "half.gguf"))
    assert "incomplete" in message and "download" in message.lower()


def test_file_cut_inside_its_header_is_called_incomplete(stories260k: Path, tmp_path: Path) -> None:
    cut = gguf_factory.write_truncated_copy(stories260k, tmp_path / "cut.gguf", keep_fraction=0.001)
    assert "incomplete" in _refusal(cut)


def test_random_bytes_are_not_a_model(tmp_path: Path) -> None:
    assert "not a GGUF model" in _refusal(gguf_factory.write_random_bytes(tmp_path / "r.gguf"))


def test_renamed_pdf_is_recognised_as_a_pdf(tmp_path: Path) -> None:
    message = _refusal(gguf_factory.write_fake_pdf(tmp_path / "paper.gguf"))
    assert message.startswith("This file is a PDF document, not a GGUF model.")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "web page"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", "Git LFS pointer"),
        (struct.pack("<I", 0x67676A74) + b"\x03\x00\x00\x00" + b"\x00" * 64, "old GGML model"),
        (struct.pack("<Q", 100) + b'{"weight": {"dtype": "F16"}}', "safetensors"),
        (b"just some notes about models\n", "text file"),
    ],
)
def test_other_formats_are_named(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "x.gguf"
    path.write_bytes(content)
    assert words in _refusal(path)


@pytest.mark.parametrize(
    ("version", "words"),
    [(1, "first GGUF version"), (4, "newer than this app"), (3 << 24, "big-endian")],
)
def test_unsupported_gguf_versions_are_refused(
    stories260k: Path, tmp_path: Path, version: int, words: str
) -> None:
    data = bytearray(stories260k.read_bytes())
    data[4:8] = struct.pack("<I", version)
    path = tmp_path / "v.gguf"
    path.write_bytes(bytes(data))
    assert words in _refusal(path)


def test_unknown_architecture_is_refused(tmp_path: Path) -> None:
    message = _refusal(gguf_factory.write_unsupported_architecture(tmp_path / "z.gguf"))
    assert "'zorblax' architecture" in message and "cannot run" in message


def test_tokenizer_only_file_is_refused(models_dir: Path) -> None:
    message = _refusal(models_dir / "ggml-vocab-phi-3.gguf")
    assert "contains only a tokenizer, no model weights" in message


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.touch()
    assert "empty" in _refusal(path)


def test_missing_file_and_folder_are_refused(tmp_path: Path) -> None:
    assert "does not exist" in _refusal(tmp_path / "nothing.gguf")
    assert "folder" in _refusal(tmp_path)


def test_damaged_header_is_refused(stories260k: Path, tmp_path: Path) -> None:
    data = bytearray(stories260k.read_bytes())
    data[16:24] = struct.pack("<Q", 1 << 60)  # an absurd number of metadata keys
    path = tmp_path / "damaged.gguf"
    path.write_bytes(bytes(data))
    assert "damaged" in _refusal(path)


def _write_tiny_gguf(path: Path, kv: dict[str, str], *, tokenizer: bool = True) -> Path:
    """A one-tensor GGUF with the given string metadata ("general.architecture": "" drops it)."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(path, kv.get("general.architecture") or "llama")
    if not kv.get("general.architecture", "llama"):
        del writer.kv_data[0]["general.architecture"]
    for key, value in kv.items():
        if key != "general.architecture":
            writer.add_string(key, value)
    if tokenizer:
        writer.add_tokenizer_model("llama")
        writer.add_token_list(["<unk>", "<s>", "</s>", "a"])
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize(
    ("kv", "tokenizer", "words"),
    [
        ({}, False, "has no tokenizer"),
        ({"general.architecture": ""}, True, "does not say which kind of model"),
        ({"general.type": "adapter"}, True, "LoRA adapter, not a model"),
        ({"general.architecture": "clip"}, True, "vision projector"),
    ],
)
def test_gguf_files_that_are_not_runnable_models_are_refused(
    tmp_path: Path, kv: dict[str, str], tokenizer: bool, words: str
) -> None:
    assert words in _refusal(_write_tiny_gguf(tmp_path / "t.gguf", kv, tokenizer=tokenizer))


def test_architecture_is_checked_against_the_bundled_llama_cpp() -> None:
    import llama_cpp

    for common in ("llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3", "mistral3", "bert"):
        assert common in SUPPORTED_ARCHITECTURES
    assert "zorblax" not in SUPPORTED_ARCHITECTURES
    # Guards an upgrade of llama-cpp-python: every accepted name must exist in the library.
    library = next(
        p for p in (Path(llama_cpp.__file__).parent / "lib").iterdir() if "llama." in p.name
    )
    data = library.read_bytes()
    assert [a for a in SUPPORTED_ARCHITECTURES if a.encode() + b"\0" not in data] == []


# --- memory ------------------------------------------------------------------------------------


def test_too_large_model_is_read_but_does_not_fit(too_large_model: Path) -> None:
    started = time.perf_counter()
    info = read_gguf_info(too_large_model)
    assert time.perf_counter() - started < 1.0
    assert info.file_size > 60 * GiB and info.parameter_count > 30_000_000_000
    assert info.quantization == "F16"
    with pytest.raises(ModelTooLargeError) as caught:
        check_fits_in_memory(info, 4096)
    assert caught.value.what.startswith("This model needs about ")
    assert "GB of memory but this computer has" in caught.value.what
    assert "Q4_K_M" in caught.value.todo
    with pytest.raises(ModelTooLargeError, match=r"has 32\.0 GB\."):
        check_fits_in_memory(info, 4096, total_memory=32 * GiB)


def test_memory_estimate_is_weights_plus_kv_cache_plus_overhead(stories260k: Path) -> None:
    info = read_gguf_info(stories260k)
    kv_cache = 2 * 5 * 1024 * 4 * (64 // 8) * 2  # K and V, layers, n_ctx, kv heads, head dim, F16
    assert estimate_memory_bytes(info, 1024) == int((1_185_376 + kv_cache) * 1.12)
    assert estimate_memory_bytes(info, 0) == estimate_memory_bytes(info, 2048)
    check_fits_in_memory(info, 2048)  # fits anywhere
    with pytest.raises(ModelTooLargeError):
        check_fits_in_memory(info, 2048, total_memory=1_000_000)


# --- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (512, "512 bytes"),
        (12 * 1024, "12 KB"),
        (1_185_376, "1.1 MB"),
        (850 * 1024**2, "850 MB"),
        (int(1.2 * GiB), "1.2 GB"),
        (int(41.2 * GiB), "41.2 GB"),
        (25_276_510_208, "23.5 GB"),
    ],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (999, "999"),
        (260_000, "260K"),
        (292_800, "293K"),
        (494_032_768, "494M"),
        (999_600, "1M"),
        (1_100_048_384, "1.1B"),
        (8_030_261_248, "8B"),
        (70_553_706_496, "71B"),
    ],
)
def test_format_parameter_count(n: int, text: str) -> None:
    assert format_parameter_count(n) == text


def test_sha256_of_stories260k_with_progress(stories260k: Path) -> None:
    seen: list[tuple[int, int]] = []
    assert sha256_of_file(stories260k, progress=lambda d, t: seen.append((d, t))) == STORIES_SHA256
    assert seen[-1] == (1_185_376, 1_185_376) and len(seen) == 2  # 1 MiB chunks


def test_sha256_stops_when_cancelled(tmp_path: Path) -> None:
    path = gguf_factory.write_random_bytes(tmp_path / "r.bin", size=3 * 1024 * 1024)
    calls: list[int] = []
    result = sha256_of_file(
        path, progress=lambda d, t: calls.append(d), should_cancel=lambda: bool(calls)
    )
    assert result == "" and calls == [1024 * 1024]
    assert sha256_of_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


# --- llama.cpp ---------------------------------------------------------------------------------


def test_probe_loads_good_models(stories260k: Path, tiny_chat_model: Path) -> None:
    probe_load(stories260k)
    probe_load(tiny_chat_model)


def test_probe_reports_a_model_llama_cpp_refuses(tmp_path: Path) -> None:
    path = gguf_factory.write_missing_tensor_model(tmp_path / "missing.gguf")
    read_gguf_info(path)  # the header is fine; only llama.cpp knows a tensor is missing
    with pytest.raises(ModelLoadError, match="could not be loaded") as caught:
        probe_load(path)
    assert "blk.0.attn_q.weight" in caught.value.what


def test_probe_survives_a_file_that_aborts_llama_cpp(tmp_path: Path) -> None:
    # A repeated vocabulary token trips a GGML_ASSERT: llama.cpp abort()s the whole process.
    path = gguf_factory.write_duplicate_token_model(tmp_path / "duplicate-token.gguf")
    read_gguf_info(path)
    with pytest.raises(ModelLoadError, match=r"llama\.cpp crashed while reading this file"):
        probe_load(path)


def test_probe_gives_up_after_its_timeout(stories260k: Path) -> None:
    with pytest.raises(ModelLoadError, match="took longer than"):
        probe_load(stories260k, timeout_s=0.01)


def test_never_stop_model_streams_200_printable_tokens(tiny_chat_model: Path) -> None:
    import llama_cpp

    llm = llama_cpp.Llama(str(tiny_chat_model), n_ctx=512, n_gpu_layers=0, verbose=False)
    try:
        chunks = list(llm.create_completion("Once upon a time", max_tokens=200, stream=True))
    finally:
        llm.close()
    text = "".join(c["choices"][0]["text"] for c in chunks)
    assert len(chunks) >= 200
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert len(text) > 200 and text.isprintable()
