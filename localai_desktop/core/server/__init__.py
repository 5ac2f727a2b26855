"""The local server: an OpenAI-compatible API over this computer's models (`localai serve`).

Off unless started. It listens on 127.0.0.1 unless the person allows the network, and every
request needs the access token kept in the data folder's settings. Requests become jobs run by
the model's one owner; API traffic is recorded in the audit trail as hashes and is not stored
as conversations.

- ``access``: the token check (constant time), loopback or network, the network warning.
- ``parsing``: request bodies checked into typed requests (`ChatCompletionRequest`, ...).
- ``grammar``: `response_format` (JSON object, JSON schema) as a llama.cpp grammar.
- ``responses``: OpenAI-shaped answers, chunks, embeddings and model lists as plain dicts.
- ``errors``: `ApiError`, the OpenAI error shape, and the core's errors mapped to statuses.
- ``jobs``: `GenerationJob` / `EmbeddingJob` and `run_generation` / `run_embedding`, which
  run one job on the calling thread (the model's owner) and report by events, never raising.
- ``owner``: the `ModelOwner` protocol (submit a job, or `ServerBusy`: 429 with Retry-After)
  and `ThreadedModelOwner`, the command line's: one thread and engine for chat models, one
  for embedding models, each with a bounded queue.
- ``queueing``: `OwnerThread`, the bounded queue and thread both owners above are built on
  (429 with Retry-After once too many wait; closing cancels what waits and what runs).
- ``batching``: `GenerationBatcher`, the command line's chat thread when it answers several
  requests at once (`--parallel`): jobs join a `core.inference.batched.BatchedDecoder`
  between its steps, and a cancelled one leaves without disturbing the others.
- ``api``: `ApiService`: model names (the Models tab's) to models, requests to jobs, and the
  `ApiRecord` each request leaves for the audit trail (`audit_recorder`).
- ``handler``: one connection's requests: token, body, routes, the job's answer as JSON or
  server-sent events, and cancelling the job the moment its client disconnects.
- ``http_server``: `ApiServer` (the standard library's `ThreadingHTTPServer`, loopback by
  default); closing it ends every open connection and so cancels their jobs.

The seam for the desktop app: its `ChatWorker` already owns the chat model's `ChatService`
on its QThread. To serve the API on the model the Chat tab has loaded, a `ModelOwner` in
`ui/workers` turns `submit_generation(job)` into a queued signal to that worker, whose slot
calls `run_generation(self.service, job)` between chat turns (it reuses the loaded model and
its context length; `ServerBusy` when too many jobs wait); `submit_embedding` goes the same
way to the `EmbeddingWorker`, calling `run_embedding(embedder, job)`. `ApiService` and
`ApiServer` are then built as `localai serve` builds them, with the worker-backed owner.
"""
