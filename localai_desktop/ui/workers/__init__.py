"""The QObjects that own models and long work, each living on its own QThread.

`base` is what every worker shares (its thread, numbered requests it can cancel, start and
orderly stop); `request_ids` is the asking side of those requests (ids, and which answers still
count). `chat` owns the chat model; `embedding` indexes and searches document collections;
`finetune` reads datasets and drives the trainer child process; `hub` asks the Hugging Face Hub
and looks at the hardware. Requests come in by queued signals; results leave as signals
carrying plain data.
"""
