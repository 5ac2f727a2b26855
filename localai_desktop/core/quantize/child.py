"""The quantizing child process: llama.cpp's quantizer, then a check that the copy answers.

Run as `python -m localai_desktop.core.quantize.child SOURCE TARGET TYPE [--threads N]
[--embedding]`. It prints one JSON object a line on stdout:

    {"event": "tensor", "done": 3, "total": 201}     one per tensor, from llama.cpp's log
    {"event": "quantized", "seconds": 12.3, "bytes": 123}
    {"event": "checked", "answer": "..."}            the copy loaded and answered
    {"event": "failed", "stage": "quantize"|"check", "error": "..."}

llama_model_quantize has no progress or cancel hook: its log names each tensor as
"[  3/ 201] blk.0.attn_q.weight - ...", which is the progress; cancelling is killing this
process (core.quantize.runner), which is why it is a process of its own.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import re
import sys
import time
from typing import Any

_TENSOR_LINE = re.compile(r"^\[\s*(\d+)/\s*(\d+)\]")
CHECK_PROMPT = "Once upon a time"
CHECK_TOKENS = 8
_KEEP_ALIVE: list[object] = []


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def quantize(source: str, target: str, ftype_constant: str, threads: int) -> int:
    """Run llama.cpp's quantizer; returns its status (0 is success)."""
    import llama_cpp

    errors: list[str] = []

    @llama_cpp.llama_log_callback
    def on_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        line = text.decode("utf-8", errors="replace")
        match = _TENSOR_LINE.match(line)
        if match:
            _emit("tensor", done=int(match[1]), total=int(match[2]))
        elif level in (3, 4):  # ggml's warning and error levels
            errors.append(line.strip())

    # llama.cpp keeps calling the callback after this function returns (the check's load):
    # it must outlive it, or the next log line jumps into freed memory.
    _KEEP_ALIVE.append(on_log)
    llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, ftype_constant)
    params.nthread = threads
    params.allow_requantize = True  # a Q8_0 source
    status = int(
        llama_cpp.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params))
    )
    if status != 0:
        _emit("failed", stage="quantize", error="; ".join(errors[-3:]) or f"status {status}")
    return status


def check(path: str, *, embedding: bool) -> None:
    """Load the copy and have it answer (or embed) a short prompt; report what it said."""
    import llama_cpp

    from localai_desktop.core.models.chat_template import disarm_llama_cpp_templates
    from localai_desktop.core.models.probe import use_plain_weight_buffers

    disarm_llama_cpp_templates()
    # Plain weight buffers: some CPUs fault in llama.cpp's AMX kernel (core.models.probe); the
    # registry's own probe decides how the app loads the copy later.
    use_plain_weight_buffers(llama_cpp)
    try:
        llm = llama_cpp.Llama(
            model_path=path,
            n_ctx=256,
            n_batch=256,
            n_ubatch=256,
            n_gpu_layers=0,
            embedding=embedding,
            verbose=False,
        )
        try:
            if embedding:
                vector = llm.embed(CHECK_PROMPT)
                values = vector[0] if vector and isinstance(vector[0], list) else vector
                if not values or not all(math.isfinite(float(v)) for v in values):
                    raise ValueError("the copy gave no usable embedding")
                answer = f"{len(values)} numbers"
            else:
                result = llm.create_completion(
                    CHECK_PROMPT, max_tokens=CHECK_TOKENS, temperature=0.0, seed=0
                )
                answer = str(result["choices"][0]["text"])  # type: ignore[index]
                if result["usage"]["completion_tokens"] < 1:  # type: ignore[index]
                    raise ValueError("the copy answered nothing")
        finally:
            llm.close()
    except Exception as error:  # whatever llama.cpp raised: the parent says it plainly
        _emit("failed", stage="check", error=str(error) or type(error).__name__)
        return
    _emit("checked", answer=answer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localai_desktop.core.quantize.child")
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("ftype_constant")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--embedding", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if quantize(args.source, args.target, args.ftype_constant, args.threads) != 0:
        return 1
    import os

    _emit(
        "quantized",
        seconds=round(time.perf_counter() - started, 3),
        bytes=os.path.getsize(args.target),
    )
    check(args.target, embedding=args.embedding)
    return 0


if __name__ == "__main__":
    sys.exit(main())
