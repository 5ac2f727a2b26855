"""llama.cpp in this process: importing it, its log, its threads and backend, and loading.

The chat engine and the embedder both load models through here, so there is one lock around
llama.cpp's load parameters and one place that knows how llama-cpp-python builds them.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
from collections.abc import Callable, Iterator
from types import ModuleType

from localai_desktop.core.common.errors import LocalAIError

log = logging.getLogger(__name__)
llama_log = logging.getLogger("llama.cpp")

# Loads are serialized: llama-cpp-python takes its model params from a module function that
# model_params_for_load replaces for the duration of one load.
LOAD_LOCK = threading.Lock()
_log_callback_ref: object | None = None


def llama_cpp_module() -> ModuleType:
    """Import llama_cpp lazily: start-up should not wait for its large shared library.

    Typed as a plain module, so its attributes are `Any` to mypy: llama.cpp's C functions are
    loosely typed ctypes bindings anyway. Objects that matter (`llama_cpp.Llama`) are
    annotated with their own class where they are kept.
    """
    import llama_cpp

    from localai_desktop.core.models.chat_template import disarm_llama_cpp_templates

    _route_llama_logs(llama_cpp)
    disarm_llama_cpp_templates()  # a model's load must not run its chat template
    return llama_cpp


def _route_llama_logs(llama_cpp: ModuleType) -> None:
    # llama.cpp prints to stderr by default; `verbose=False` would instead redirect the whole
    # process's file descriptors while loading, which races with other threads. Send its log
    # to Python logging once, instead.
    global _log_callback_ref
    if _log_callback_ref is not None:
        return
    # ggml's levels: 1 debug, 2 info, 3 warn, 4 error, 5 "continue the previous line".
    levels = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.WARNING, 4: logging.ERROR}
    last_level = [logging.DEBUG]

    @llama_cpp.llama_log_callback
    def _on_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        # llama.cpp's info lines are chatty (every tensor at load): they go to DEBUG.
        python_level = last_level[0] if level == 5 else levels.get(level, logging.DEBUG)
        last_level[0] = python_level
        message = text.decode("utf-8", errors="replace").rstrip()
        if message:
            llama_log.log(python_level, message)

    llama_cpp.llama_log_set(_on_log, ctypes.c_void_p(0))
    _log_callback_ref = _on_log


def default_thread_count() -> int:
    """Threads for decoding: the physical cores (llama-cpp-python's default is only half)."""
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except ImportError:  # pragma: no cover - psutil is a dependency
        physical = None
    return max(1, physical or os.cpu_count() or 1)


def gpu_offload_supported() -> bool:
    """Whether this llama.cpp build can put layers on a GPU (CUDA, Metal, Vulkan)."""
    return bool(llama_cpp_module().llama_supports_gpu_offload())


def compute_backend() -> str:
    """Where models run: the GPU backend this llama.cpp was built with ("CUDA", "Metal",
    "Vulkan", ...), or "CPU". Models are loaded with every layer on the GPU when there is one.
    """
    info = llama_cpp_module().llama_print_system_info()
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    # "CUDA : ARCHS = 890 | USE_GRAPHS = 1 | CPU : SSE3 = 1 | AVX = 1 | ...": a backend's name
    # opens the first of its fields.
    names = [part.split(" : ")[0].strip() for part in text.split("|") if " : " in part]
    gpus = [name for name in names if name and name.upper() != "CPU"]
    return gpus[0] if gpus and gpu_offload_supported() else "CPU"


@contextlib.contextmanager
def model_params_for_load(
    llama_cpp: ModuleType,
    on_progress: Callable[[float], bool] | None = None,
    *,
    plain_buffers: bool = False,
) -> Iterator[None]:
    """Give llama.cpp a progress callback and, if asked, plain weight buffers, for one load.

    llama-cpp-python does not expose llama.cpp's model-load progress callback; it builds its
    params from `llama_model_default_params()`, so for the duration of one load (under a lock,
    loads are serialized) that function returns params carrying our callback. Returning False
    from the callback makes llama.cpp abandon the load, which is how a load is cancelled.
    """
    low_level = llama_cpp.llama_cpp
    original = low_level.llama_model_default_params

    @low_level.llama_progress_callback
    def _callback(progress: float, _user_data: ctypes.c_void_p) -> bool:
        if on_progress is None:
            return True
        try:
            return bool(on_progress(float(progress)))
        except Exception:  # an exception cannot cross into C; treat it as cancel
            log.exception("Load progress callback failed")
            return False

    def params_with_progress() -> object:
        params = original()
        if on_progress is not None:
            params.progress_callback = _callback
        if plain_buffers:
            params.use_extra_bufts = False
        return params

    with LOAD_LOCK:
        low_level.llama_model_default_params = params_with_progress
        try:
            yield
        finally:
            low_level.llama_model_default_params = original


# The KV cache's element type: f16 is llama.cpp's default; q8_0 halves the cache's memory (about
# the same answers), q4_0 quarters it. A quantized V cache needs flash attention in llama.cpp.
KV_CACHE_TYPES = ("f16", "q8_0", "q4_0")


def check_kv_cache_type(name: str) -> str:
    """The KV-cache type by its name ("f16", "q8_0", "q4_0"); a plain error otherwise."""
    wanted = name.strip().lower()
    if wanted not in KV_CACHE_TYPES:
        raise LocalAIError(
            f"'{name}' is not a memory (KV cache) type the app knows.",
            f"Choose one of {', '.join(KV_CACHE_TYPES)}.",
        )
    return wanted


def kv_cache_params(llama_cpp: ModuleType, kv_cache: str, *, flash_attn: bool) -> dict[str, int]:
    """Llama() arguments for the cache type; {} for llama.cpp's default (f16)."""
    if kv_cache == "f16":
        return {}
    ggml_type = {"q8_0": llama_cpp.GGML_TYPE_Q8_0, "q4_0": llama_cpp.GGML_TYPE_Q4_0}[kv_cache]
    if not flash_attn:  # llama.cpp refuses a quantized V cache without flash attention
        return {"type_k": ggml_type}
    return {"type_k": ggml_type, "type_v": ggml_type}
