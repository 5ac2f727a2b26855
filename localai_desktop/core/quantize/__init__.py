"""Making a smaller copy of a model with llama.cpp's own quantizer.

`targets` names the types a copy can be made in, with their size, memory and the quality each
costs (llama.cpp's published figures); `child` is the child process that runs
`llama_model_quantize` and checks that the result loads and answers; `runner` starts and
cancels that child and registers the result with its lineage.
"""
