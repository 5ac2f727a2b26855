"""Model files on this computer: what they are, whether they fit, and the local registry.

`gguf_header` parses a GGUF header with every length checked; `gguf_info` reads and checks a
model file before llama.cpp sees it and sizes it against memory; `gguf_prefix` sizes a file from
its first bytes before a download; `probe` loads a model once in a child process so a bad file
cannot crash the app; `quantization` names and ranks quantizations; `hardware` looks at RAM and
GPUs and gives a verdict per file; `registry` imports, lists and removes models; `adapters` and
`adapter_file` are the LoRA adapters that belong to those models (made by `core.finetune`).
"""
