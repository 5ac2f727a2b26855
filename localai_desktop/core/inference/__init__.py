"""Running a loaded model: the llama.cpp engine, prompts and the record of a generation.

`engine` owns one llama.cpp model, streams tokens and stops within milliseconds; `token_stream`
is its lean per-token decoding loop; `prompt` turns a conversation into prompt tokens (the
model's chat template, a fallback, trimming to fit); `generation` is the plain data of one
generation: the settings a person chose and what came out.
"""
