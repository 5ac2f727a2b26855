"""The child process that measures one weight layout (see core.speed.layout).

    python -m localai_desktop.core.speed.layout_child MODEL PLAIN(0|1) THREADS PROMPT ANSWER

Loads MODEL as the app does (flash attention on, the given threads), with llama.cpp's repacked
weights (PLAIN=0) or the file's own layout (PLAIN=1); reads a PROMPT-token prompt from an empty
cache, then writes ANSWER tokens after it one at a time as chat does; prints one JSON line with
both rates. Run in a child so that a layout whose kernels crash on this CPU costs the child,
not the app.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    path, plain, threads, prompt_tokens, answer_tokens = (
        argv[0],
        argv[1] == "1",
        int(argv[2]),
        int(argv[3]),
        int(argv[4]),
    )
    from localai_desktop.core.inference.llama_runtime import (
        llama_cpp_module,
        model_params_for_load,
    )
    from localai_desktop.core.inference.token_stream import stream_tokens

    llama_cpp = llama_cpp_module()
    with model_params_for_load(llama_cpp, None, plain_buffers=plain):
        llm = llama_cpp.Llama(
            model_path=path,
            n_ctx=prompt_tokens + answer_tokens + 16,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            flash_attn=True,
            verbose=False,
        )
    # Ordinary text tokens: the model's own tokenization of a plain English passage.
    words = b"The committee reviewed the patient's letter and the contract in detail. "
    text = llm.tokenize(words * (prompt_tokens // 8 + 1), add_bos=False)
    prompt = text[:prompt_tokens]
    # As a turn runs: the prompt from an empty cache, then the answer one token at a time
    # after it (at the prompt's depth, where a long document question's answer is written).
    stream = stream_tokens(llm, prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0)
    started = time.perf_counter()
    next(stream)
    prompt_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(answer_tokens):
        next(stream)
    answer_seconds = time.perf_counter() - started
    stream.close()
    print(
        json.dumps(
            {
                "prompt_tokens_per_second": len(prompt) / prompt_seconds,
                "answer_tokens_per_second": answer_tokens / answer_seconds,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
