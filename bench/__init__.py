"""Benchmarks: `python -m bench.<name>` prints a markdown table of figures beside its baseline."""
