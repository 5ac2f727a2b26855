"""The Fine-tune tab: examples, a base model and settings, a training run, the result.

`tab` assembles `example_sources` and `dataset_view` (the examples), `setup` (model, forecast,
settings), `training_controls` and `training_panel` with `loss_chart` (the run), `compare_view`
(before and after) and `adapters` (finished adapters); `requests` is its link to the
FineTuneWorker.
"""
