"""Evaluation: scoring a model on ScienceQA questions, evaluation as a background job with its
cache, the reports (intervals, tests, breakdowns) built from the results, and publishing a run to the
Hub with a model card that carries its evaluations.
"""
