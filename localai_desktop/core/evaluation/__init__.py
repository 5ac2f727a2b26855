"""Evaluation: run your own test questions against several models and compare the answers.

- ``testset``: questions and what a good answer must do, read from JSONL or CSV (every bad line
  reported with its number before anything runs).
- ``test_sets``: test sets kept in the workspace's database (the Evaluate tab's editor), and a
  reference question made from an answer in a conversation.
- ``scoring``: the rules (contains, regex, similar_to, abstain), the required source, and
  citation accuracy from the grounding check (``documents.sentence_support``).
- ``store``: runs and per-question results in the workspace's database, one commit each.
- ``runner``: ``Evaluator`` answers a run target by target, one model loaded at a time, with
  progress, time left, cancel and resume, and measures each model's peak memory.
- ``metrics``: per-model figures (accuracy, made-up answers, citation accuracy, speed, memory).
- ``report``: the self-contained HTML report (inline SVG charts) and CSV export.
"""
