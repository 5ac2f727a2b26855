"""The Evaluate tab: test models on your own questions and compare their answers.

`tab` assembles three pages: `test_sets_panel` (the sets, with the `question_table` editor,
import and export), `run_panel` (models, settings, progress, Cancel) and `results_panel`
(past runs, figures per model with `bar_charts`, answers side by side, compare, Resume, HTML
and CSV export). The runs themselves go to the EvaluationWorker (ui/workers/evaluation.py).
"""
