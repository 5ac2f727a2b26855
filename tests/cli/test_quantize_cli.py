"""`localai models quantize`: a smaller copy from the command line; Ctrl-C leaves no file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localai_desktop.core.quantize.runner import PARTIAL_SUFFIX
from tests.cli.test_cli import localai
from tests.support import gguf_factory


def _f16_model(folder: Path, stories260k: Path, *, n_embd: int, n_layers: int, n_ff: int) -> Path:
    return gguf_factory.write_random_llama(
        folder / f"tiny-{n_embd}-F16.gguf",
        tokenizer_from=stories260k,
        n_embd=n_embd,
        n_layers=n_layers,
        n_head=8,
        n_head_kv=4,
        n_ff=n_ff,
        dtype="f16",
        name=f"Tiny {n_embd} F16",
    )


def test_quantize_makes_a_copy_with_its_lineage(
    data_dir: Path, stories260k: Path, tmp_path: Path
) -> None:
    model = _f16_model(tmp_path, stories260k, n_embd=256, n_layers=2, n_ff=512)
    localai(data_dir, "models", "import", str(model))

    result = localai(data_dir, "models", "quantize", "Tiny 256 F16", "--type", "q4_k_m")

    assert "Made 'Tiny 256 Q4_K_M' (Q4_K_M" in result.stdout
    assert "it loaded and answered" in result.stdout
    assert "Quantizing: 100%" in result.stderr
    listing = localai(data_dir, "models", "list", "--json").stdout
    listed = {m["name"]: m for m in json.loads(listing)}
    copy = listed["Tiny 256 Q4_K_M"]
    assert copy["source"]["quantized_from"]["sha256"] == listed["Tiny 256 F16"]["sha256"]


def test_a_type_it_cannot_make_is_a_usage_error(data_dir: Path) -> None:
    result = localai(data_dir, "models", "quantize", "x", "--type", "Q2_K", check=False)
    assert result.returncode == 2
    assert "invalid choice: 'Q2_K'" in result.stderr


def test_ctrl_c_cancels_and_removes_the_partial_file(
    data_dir: Path, stories260k: Path, tmp_path: Path
) -> None:
    # Large enough that quantizing takes a few seconds.
    model = _f16_model(tmp_path, stories260k, n_embd=1024, n_layers=8, n_ff=2816)
    localai(data_dir, "models", "import", str(model))
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir)),
            *("models", "quantize", "Tiny 1024 F16", "--type", "IQ4_XS"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    models_folder = data_dir / "models"
    deadline = time.monotonic() + 60
    while not list(models_folder.glob(f"*{PARTIAL_SUFFIX}")):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"quantizing never started: {process.communicate()}")
        time.sleep(0.02)

    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)

    assert process.returncode == 130
    assert "Cancelled: the partial file was removed" in err
    assert list(models_folder.glob("*")) == []
    names = [m["name"] for m in json.loads(localai(data_dir, "models", "list", "--json").stdout)]
    assert names == ["Tiny 1024 F16"]
