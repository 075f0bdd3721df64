"""The grid of a sweep: `SETTING=V1,V2` lines parsed into values, every combination of them, and the
training config of each member (the sweep's base, one combination, one seed).

    parse_grid(["lr=1e-4,3e-4", "format=paper,tutor"])   # {'lr': [0.0001, 0.0003], 'format': ['paper', 'tutor']}
    settings(grid)                                        # every combination, the first setting varying slowest

Any recipe field (core.training.recipes.Recipe) or the prompt format may vary; the seed is not a grid
setting (a sweep's seeds are given apart). core.training.sweeps creates and drives the sweep.
"""

from __future__ import annotations

import itertools
from dataclasses import fields
from typing import Any

from core.training.recipes import RECIPES, Recipe, TrainConfig, get_recipe

GRID_KEYS = ("format",) + tuple(f.name for f in fields(Recipe) if f.name not in ("name", "seed", "betas"))


def _value(text: str) -> Any:
    """'3e-4' -> 0.0003, '16' -> 16, 'true' -> True, 'paper' -> 'paper'."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def parse_grid(items: list[str] | str) -> dict[str, list[Any]]:
    """['lr=1e-4,3e-4', 'format=paper,tutor'] -> {'lr': [1e-4, 3e-4], 'format': ['paper', 'tutor']}."""
    if isinstance(items, str):
        items = items.split()
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key or not values.strip():
            raise ValueError(f"a grid entry is SETTING=V1,V2,...; got {item!r}")
        if key == "seed":
            raise ValueError("seeds are not a grid setting: give --seeds 0,1")
        if key not in GRID_KEYS:
            raise ValueError(f"unknown grid setting {key!r}; one of: {', '.join(GRID_KEYS)}")
        if key in grid:
            raise ValueError(f"the grid names {key!r} twice")
        vals = [_value(v) for v in values.split(",") if v.strip()]
        if len(set(map(repr, vals))) != len(vals):
            raise ValueError(f"{key} lists a value twice")
        grid[key] = vals
    if not grid:
        raise ValueError("the grid is empty: give at least one SETTING=V1,V2")
    return grid


def lr_setting(recipe: str) -> str:
    """The recipe field that is its learning rate: Muon's matrix rate, else AdamW's."""
    return "matrix_lr" if RECIPES[recipe].optimizer == "muon" else "lr"


def grid_from_choices(formats: list[str], lr_field: str, rates: str, extra: str = "") -> dict[str, list[Any]]:
    """The grid of the Train page's sweep form: formats, a comma-separated list of learning rates, and
    more SETTING=V1,V2 lines. ValueError (naming what is wrong) when it is empty or bad."""
    lines = [f"format={','.join(formats)}"] if formats else []
    lines += [f"{lr_field}={rates.replace(' ', '')}"] if rates.strip() else []
    lines += [line.strip() for line in extra.splitlines() if line.strip()]
    return parse_grid(lines)


def settings(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid, in order (the first setting varies slowest)."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def label(setting: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in setting.items())


def member_config(spec: dict[str, Any], setting: dict[str, Any], seed: int, sweep_name: str) -> TrainConfig:
    """The training config of one member: the sweep's base, the setting and the seed (validated)."""
    over = {**(spec.get("set") or {}), **{k: v for k, v in setting.items() if k != "format"}}
    over["seed"] = seed
    if spec.get("epochs") is not None:
        over["epochs"] = spec["epochs"]
    recipe = get_recipe(spec["recipe"], **over)
    return TrainConfig(model=spec["model"], data=spec["data"], recipe=recipe,
                       format=setting.get("format", spec["format"]), minutes=spec.get("minutes"),
                       device=spec.get("device", "auto"), label=f"{sweep_name}: {label(setting)}, seed {seed}",
                       sweep=sweep_name, report_to=tuple(spec.get("report_to") or ()))

