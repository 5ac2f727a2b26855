"""Models from outside: the Hugging Face Hub, the curated catalog, licenses and downloads.

`client` searches GGUF repos and lists a repo's files (each answer read by `hub_http` within
a deadline and a size); `repos` is what the Hub says as plain data; `catalog` is the curated
list shipped with the app (works offline); `starter_models` picks the first chat and embedding
model for this computer; `licenses` says in plain words
whether a license allows commercial use; `downloads` runs the download queue (pause, resume,
cancel, verify, register) over `download_store` (rows, partial files, disk space) and
`download_transfer` (one file, resumable ranged GETs, sha256 checked).
"""
