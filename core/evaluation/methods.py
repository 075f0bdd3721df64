"""The evaluation methods, each one registered object: its name, what a teacher reads (label and help),
the function that scores, its cost per question, and the part of the cache key its settings add.

A new method is one file `core/evaluation/method_<name>.py` that calls `register(Method(...))` (the built-in
ones are `method_builtin.py`, found first): it is found here, offered by the Compare page and `python -m core eval --method`, and cached like the others.

    from core.evaluation.methods import get_method, names
    get_method("categorical").seconds_per_question   # 0.6 on this project's 2-core CPU
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# runner(loaded, questions, fmt, settings, progress) -> (predictions, prompts cut to fit the context)
Runner = Callable[..., tuple[list, int]]


@dataclass(frozen=True)
class Method:
    name: str
    label: str  # the choice as a teacher reads it
    help: str  # one sentence: what it reads, what it costs
    runner: Runner
    seconds_per_question: float  # on this project's 2-core CPU, before any evaluation here has been timed
    cache_key_part: Callable[[Any], dict[str, Any]] = field(default=lambda req: {})  # req: an EvalRequest
    valid: bool = True  # False: a result of it is marked invalid (shown only to explain why it misleads)
    warning: str = ""
    offered: bool = True  # a choice on Compare; False: measured beside another (the report card's shuffled)


_REGISTRY: dict[str, Method] = {}
_loaded = False


def register(method: Method) -> Method:
    """Add a method (a second one with the same name replaces the first)."""
    _REGISTRY[method.name] = method
    return method


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    found = dict(_REGISTRY)  # a method file imported before the registry was read
    _REGISTRY.clear()
    here = Path(__file__).parent
    for info in pkgutil.iter_modules([str(here)]):
        if info.name.startswith("method_"):
            importlib.import_module(f"core.evaluation.{info.name}")
    for method in found.values():
        _REGISTRY.setdefault(method.name, method)


def names() -> list[str]:
    _load()
    return list(_REGISTRY)


def get_method(name: str) -> Method:
    _load()
    if name not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def all_methods() -> list[Method]:
    _load()
    return list(_REGISTRY.values())


def offered() -> list[Method]:
    """The methods Compare offers as "How answers are scored"."""
    return [m for m in all_methods() if m.offered]
