"""Where things stand, for the home page: data, models and runs in one small summary.

Cheap to compute (no model loads, no downloads): the Hub check has a short timeout and is cached.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from core.models.hub import OFFLINE_HELP, hub_reachable, offline_forced
from core.home import area, home


@dataclass
class Overview:
    home: str
    online: bool
    offline_note: str
    sample_rows: int
    sample_splits: dict[str, int]
    subsets: list[str]
    models_ready: list[str]
    runs_by_state: dict[str, int] = field(default_factory=dict)
    latest_run: str | None = None
    latest_run_state: str | None = None


def overview(check_hub: bool = True) -> Overview:
    from core.models import catalogue
    from core.jobs import runs
    from core.data import sources, subsets

    online = hub_reachable() if check_hub else False
    note = "" if online else (
        ("HF_HUB_OFFLINE is set. " if offline_forced() else "The Hugging Face Hub cannot be reached. ") + OFFLINE_HELP)
    sample = sources.load_source("sample")
    run_list = runs.list_runs(area("runs"))
    latest = max(run_list, key=lambda r: r.created, default=None)
    return Overview(
        home=str(home()), online=online, offline_note=note,
        sample_rows=len(sample), sample_splits=dict(Counter(q.split for q in sample)),
        subsets=[s.name for s in subsets.list_subsets()],
        models_ready=[m.name for m in catalogue.list_models(check_hub=False) if m.availability in ("ready", "cached")],
        runs_by_state=dict(Counter(r.status.state for r in run_list)),
        latest_run=latest.name if latest else None,
        latest_run_state=latest.status.state if latest else None,
    )
