"""Command groups of `python -m core`. Each module has `register(subparsers)` and sets `func`."""
