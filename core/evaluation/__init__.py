"""Evaluation: scoring a model on ScienceQA questions, evaluation as a background job with its
cache, and the reports (intervals, tests, breakdowns) built from the results.
"""
