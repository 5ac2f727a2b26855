"""Report which llama.cpp build a packaging run would ship: GPU backend and CPU tuning.

    python packaging/llama_build_info.py [--release]

Prints llama.cpp's system info. With --release it exits 1 when the build is tied to this
machine's CPU (built with GGML_NATIVE on, the default, which uses every instruction this CPU
has: the app would then crash with "illegal instruction" on older CPUs). Distributed builds
must be compiled with -DGGML_NATIVE=off; see packaging/README.md.
"""

from __future__ import annotations

import platform
import sys

# Instruction sets a -DGGML_NATIVE=off x86-64 build never enables on its own (its baseline is
# AVX2 + FMA + F16C + BMI2); seeing one means the build was tuned to the machine it ran on.
CPU_SPECIFIC_X86 = ("AVX512", "AVX_VNNI", "AMX_INT8", "AVX512_BF16", "AVX512_VNNI")


def cpu_specific_flags(system_info: str) -> list[str]:
    """The CPU-specific instruction sets switched on in a llama.cpp system-info line."""
    return [flag for flag in CPU_SPECIFIC_X86 if f"| {flag} = 1" in f"| {system_info}"]


def main(argv: list[str]) -> int:
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()
    gpu = bool(llama_cpp.llama_supports_gpu_offload())
    print(f"llama-cpp-python {llama_cpp.__version__} on {platform.machine()}")
    print(f"GPU offload: {'yes' if gpu else 'no (CPU only)'}")
    print(f"System info: {info}")
    flags = cpu_specific_flags(info.replace("CPU : ", ""))
    if not flags:
        return 0
    print(
        f"This llama.cpp was built for this machine's CPU ({', '.join(flags)}): it may crash "
        "on other computers. Rebuild it with packaging/install_llama_cpp.sh (or "
        'CMAKE_ARGS="-DGGML_NATIVE=off") before building an app to distribute.',
        file=sys.stderr,
    )
    return 1 if "--release" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
