"""Remote engines: OpenAI-compatible servers elsewhere (vLLM, llama-server, Ollama, another
copy of this app) that answer with models this computer could not run.

- `addresses`: which base URLs are accepted (https anywhere; http only to this computer or the
  local network), and `NAME/MODEL_ID` model references.
- `store`: the remotes of a workspace, kept in its (possibly encrypted) database with their
  API keys.
- `client`: the HTTP client: TLS always verified (a custom CA file honoured), short timeouts,
  a stream that a cancellation closes at once, errors a person can act on.
- `engine`: one answer streamed from a remote model (POST /v1/chat/completions, SSE) as
  `GenerationStats`, like the local engine's.
- `service`: `Remotes`, what the CLI, chat and evaluation use: add, list (reachable, models),
  remove, resolve a reference, and the offline-mode rule.
"""
