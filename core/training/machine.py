"""What this machine does, measured here and remembered in the app home (`cache/machine.json`):

- `pick_threads()`: the torch thread count that multiplies a training-sized matrix fastest on this CPU
  now (on a shared 2-core machine one thread ran 2.2x faster than two). A quick measurement (about a
  second), re-taken after THREADS_TTL; `SQA_TORCH_THREADS` (or OMP_NUM_THREADS) overrides it.
- `step_seconds(model, recipe, fmt)`: seconds per optimizer step that training runs of this model and
  recipe measured on this machine (the worker records each run's median with `record_step_time`). The
  Train estimate, Home and Compare read it: one source for "how long will this take here".
"""

from __future__ import annotations

import os
import socket
import statistics
import time
from pathlib import Path
from typing import Any

from core.errors import StudioError
from core.files import read_json, write_json_atomic
from core.home import area

THREADS_ENV = "SQA_TORCH_THREADS"
THREADS_TTL = 3600.0  # seconds: a shared machine's load changes; measure again after this
KEEP_STEP_TIMES = 5  # runs remembered per model and recipe
SPEED_FIELDS = ("optimizer", "batch_size", "grad_accum", "freeze_fraction", "lora", "lora_r", "max_seq_len",
                "grad_checkpointing", "compile", "precision")  # the recipe fields that change a step's cost


def _file() -> Path:
    return area("cache") / "machine.json"


def _read() -> dict[str, Any]:
    try:
        data = read_json(_file())
    except (OSError, ValueError, StudioError):  # absent or damaged: measured again
        return {}
    return data if isinstance(data, dict) else {}


def _update(key: str, value: Any) -> None:
    data = _read()
    data[key] = value
    try:
        write_json_atomic(_file(), data)
    except (OSError, StudioError):
        pass  # a read-only home: the figure is measured again next time


def measure_threads(candidates: list[int], seconds: float = 0.25) -> dict[int, float]:
    """Matrix multiplications per second at each thread count (a 256 x 576 x 1536 fp32 product: the
    shape of a small model's MLP on a batch of short examples)."""
    import torch

    before = torch.get_num_threads()
    a, b = torch.randn(256, 576), torch.randn(576, 1536)
    rates = {}
    try:
        for n in candidates:
            torch.set_num_threads(n)
            a @ b  # warm the pool
            done, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                a @ b
                done += 1
            rates[n] = done / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)
    return rates


def pick_threads(now: float | None = None) -> tuple[int, str]:
    """(threads, how they were chosen): the override, a fresh measurement, or the remembered one."""
    now = time.time() if now is None else now
    for env in (THREADS_ENV, "OMP_NUM_THREADS"):  # the person running it decided
        forced = os.environ.get(env, "").strip()
        if forced.isdigit() and int(forced) > 0:
            return int(forced), f"{forced} torch threads ({env})"
    cores = os.cpu_count() or 1
    key = f"threads:{socket.gethostname()}:{cores}"
    seen = _read().get(key)
    if isinstance(seen, dict) and isinstance(seen.get("threads"), int) and now - float(seen.get("at", 0)) < THREADS_TTL:
        return seen["threads"], f"{seen['threads']} torch threads (measured here {int((now - seen['at']) // 60)} min ago)"
    candidates = sorted({1, 2, cores // 2, cores} - {0})
    candidates = [n for n in candidates if n <= cores][:4]
    rates = measure_threads(candidates)
    best = max(rates.values())
    threads = min(n for n, r in rates.items() if r >= 0.9 * best)  # fewer threads unless more are clearly faster
    _update(key, {"threads": threads, "at": now, "rates": {str(n): round(r, 1) for n, r in rates.items()}})
    shown = ", ".join(f"{n}: {r:.0f}/s" for n, r in rates.items())
    return threads, f"{threads} torch threads (measured now on {cores} cores: {shown})"


def speed_key(model: str, recipe: Any, fmt: str, device: str = "cpu") -> str:
    """Which runs share a step time: the model, the recipe's speed fields, the format and the device."""
    fields = ",".join(f"{f}={getattr(recipe, f)}" for f in SPEED_FIELDS)
    return f"step:{device}:{Path(str(model)).name or model}:{fmt}:{fields}"


def record_step_time(model: str, recipe: Any, fmt: str, device: str, seconds: list[float]) -> float | None:
    """Remember a run's median seconds per optimizer step (evaluation and saving left out)."""
    if not seconds:
        return None
    median = statistics.median(seconds)
    key = speed_key(model, recipe, fmt, device)
    seen = _read().get(key)
    runs = [x for x in (seen.get("runs", []) if isinstance(seen, dict) else []) if isinstance(x, (int, float))]
    _update(key, {"runs": (runs + [median])[-KEEP_STEP_TIMES:], "at": time.time()})
    return median


def step_seconds(model: str, recipe: Any, fmt: str, device: str = "cpu") -> float | None:
    """Seconds per optimizer step that this model and recipe took here (the median of the last runs
    measured), or None when none has run here yet."""
    seen = _read().get(speed_key(model, recipe, fmt, device))
    runs = [x for x in (seen.get("runs", []) if isinstance(seen, dict) else []) if isinstance(x, (int, float)) and x > 0]
    return statistics.median(runs) if runs else None


def minutes_to_learn(model: str, recipe: Any, fmt: str, device: str = "cpu") -> float | None:
    """Minutes a run of this model and recipe needs here to make LEARNING_STEPS optimizer steps (its
    evaluation included), from the measured step time; None before any run measured it. For Home's and
    Compare's "how long does it take to see it learn on this machine"."""
    from core.training.progress import EVAL_SHARE, LEARNING_STEPS

    s = step_seconds(model, recipe, fmt, device)
    return None if s is None else LEARNING_STEPS * s * (1 + EVAL_SHARE) / 60
