"""How fast a model will answer on this computer, before it is downloaded.

`measurement` measures this computer once (a few seconds: how fast it streams weights through
a matrix-vector product, the work of generating one token) and keeps the result in the
settings; `prediction` turns that and a model file's size and quantization into tokens per
second, and picks the best model that is still fast enough to use.
"""
