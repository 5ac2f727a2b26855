"""Fine-tuning: teach a local model from examples with a LoRA adapter that chat then applies.

Modules, from the data to chat:

- `dataset`: examples from JSONL, CSV or saved conversations, with per-row problems;
- `template`, `tokenizer`: examples rendered with the base model's chat template and
  tokenized by llama.cpp, with the loss on the assistant's tokens only;
- `estimate`: memory and time for this computer, and a refusal when it will not fit;
- `runner` (`FineTuneService`): the parent side that starts, cancels and resumes the
  `trainer_child` process and reads its JSON-lines progress (`events.TrainingEvent`);
- `training`, `exporter`, `verify`: inside the child, PEFT trains, the exporter writes the
  GGUF adapter (q/k permuted for llama models), llama.cpp checks it and answers samples;
- `adapters` (`AdapterRegistry`), `jobs` (`JobStore`): what is stored in the database;
- `stack`: whether the optional training packages are installed, and which models can train.

In a protected workspace every file of a job and every adapter is sealed with the workspace's
key (`core.vault.workspace_files`); the trainer child gets the key on its stdin, and its log
is kept in memory (`log_tail`) until it is sealed.

Nothing here imports Qt; torch, transformers and peft are only imported in the child.
"""
