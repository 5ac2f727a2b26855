#!/usr/bin/env bash
# Rebuild llama-cpp-python for an app you will distribute: portable CPU code (never
# -march=native), optionally with a GPU backend. Linux and macOS; Windows: build_windows.ps1.
#
#   packaging/install_llama_cpp.sh [cpu|cuda|vulkan|metal]
#
# PYTHON picks the environment (default .venv/bin/python). Extra CMake options can be added
# with CMAKE_ARGS (for example -DCMAKE_CUDA_ARCHITECTURES="75;86;89"). Takes 5-10 minutes on
# 2 cores for CPU, longer for CUDA. See packaging/README.md, "Portable and GPU builds".
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
backend=${1:-cpu}
case "$backend" in
    cpu) backend_args="" ;;
    cuda) backend_args="-DGGML_CUDA=on" ;;  # needs the CUDA toolkit (nvcc) on PATH
    vulkan) backend_args="-DGGML_VULKAN=on" ;;  # needs the Vulkan SDK (glslc, headers)
    metal) backend_args="-DGGML_METAL=on -DGGML_METAL_EMBED_LIBRARY=on" ;;  # macOS only
    *) echo "usage: $0 [cpu|cuda|vulkan|metal]" >&2; exit 2 ;;
esac
# The version the app is tested with, from pyproject.toml.
version=$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml | head -1)
echo "Building llama-cpp-python $version ($backend, GGML_NATIVE=off) into $PYTHON's environment"
# --no-cache-dir: pip caches a wheel built from source without regard to CMAKE_ARGS, so a
# cached build made for this CPU (or without the GPU) would be installed silently instead.
CMAKE_ARGS="-DGGML_NATIVE=off $backend_args ${CMAKE_ARGS:-}" \
    "$PYTHON" -m pip install --force-reinstall --no-deps --no-cache-dir \
    --no-binary llama-cpp-python "llama-cpp-python==$version"
"$PYTHON" packaging/llama_build_info.py --release
