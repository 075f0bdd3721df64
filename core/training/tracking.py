"""Experiment tracking: a run's metrics and config mirrored into trackio and/or TensorBoard.

A run chooses its trackers (`TrainConfig.report_to`, `--report-to trackio,tensorboard`, the Train
page). The run folder stays the source of truth: the worker writes `metrics.jsonl` as always, and
`Tracker.log` sends the same records, numbers only, to each tracker it opened.

- TensorBoard: event files in `<run>/tensorboard/` (`tensorboard --logdir <home>/runs` shows every
  run); the config as a text summary.
- trackio (Hugging Face's local-first tracker): its SQLite database under `<home>/trackio/`, project
  `scienceqa-tutor`, one trackio run per run folder (a resumed run continues it), a sweep's members
  in one group. Its dashboard runs offline: `TRACKIO_DIR=<home>/trackio trackio show`.

A tracker that is not installed is refused at launch (`check_available`, called by
`core.training.jobs.validate_launch`), before a worker starts; a tracker that fails mid-run is
closed with a line in the log, and training goes on (the run folder has everything).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable

from core.errors import StudioError
from core.home import area

TRACKERS = {
    "trackio": "trackio (Hugging Face's local-first tracker; dashboard: trackio show)",
    "tensorboard": "TensorBoard (event files in the run folder; tensorboard --logdir)",
}
PACKAGES = {"trackio": "trackio", "tensorboard": "tensorboard"}  # tracker -> the package it needs
TRACKIO_PROJECT = "scienceqa-tutor"
TB_DIR = "tensorboard"
SKIP = {"step", "time", "resumed_from"}  # bookkeeping fields, not metrics


def parse_report_to(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """'trackio,tensorboard' (or a list) -> ('trackio', 'tensorboard'); 'none' or '' -> (). Unknown names raise."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    names = []
    for item in items:
        name = str(item).strip().lower()
        if not name or name == "none":
            continue
        if name not in TRACKERS:
            raise ValueError(f"unknown tracker {name!r}; choose from {', '.join(TRACKERS)} (or none)")
        if name not in names:
            names.append(name)
    return tuple(names)


def missing(names: Iterable[str]) -> list[str]:
    """The trackers among `names` whose package is not installed."""
    return [n for n in names if importlib.util.find_spec(PACKAGES[n]) is None]


def check_available(names: Iterable[str]) -> None:
    """Refuse, in one line, trackers whose package is missing (before anything launches)."""
    gone = missing(names)
    if gone:
        pkgs = " ".join(PACKAGES[n] for n in gone)
        raise StudioError(f"{' and '.join(gone)} {'is' if len(gone) == 1 else 'are'} not installed: "
                          f"pip install {pkgs} (or train without --report-to {','.join(gone)}).")


def trackio_dir() -> Path:
    """Where trackio keeps its database for this app home."""
    return area("trackio")


def numeric(rec: dict[str, Any]) -> dict[str, float]:
    """The metric values of a metrics.jsonl record: finite numbers, bookkeeping fields left out."""
    out = {}
    for k, v in rec.items():
        if k in SKIP or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if math.isfinite(v):
            out[k] = float(v)
    return out


class Tracker:
    """The trackers one run reports to. Every method is safe to call with no tracker open."""

    def __init__(self, run_dir: Path, names: Iterable[str], config: dict[str, Any], resume: bool = False,
                 group: str | None = None, log: Callable[[str], None] = print):
        self.run_dir, self.log_line = Path(run_dir), log
        self.sinks: dict[str, Any] = {}
        for name in names:
            try:
                self.sinks[name] = getattr(self, f"_open_{name}")(config, resume, group)
            except Exception as e:  # a tracker must never take the run down: the run folder has everything
                self.log_line(f"tracker {name} could not start ({type(e).__name__}: {e}); training goes on without it")

    @property
    def names(self) -> list[str]:
        return list(self.sinks)

    # ------------------------------------------------------------------------------------- opening
    def _open_tensorboard(self, config: dict[str, Any], resume: bool, group: str | None) -> Any:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=str(self.run_dir / TB_DIR), flush_secs=10)
        if not resume:
            writer.add_text("config", "```json\n" + json.dumps(config, indent=2, default=str) + "\n```", 0)
        return writer

    def _open_trackio(self, config: dict[str, Any], resume: bool, group: str | None) -> Any:
        os.environ["TRACKIO_DIR"] = str(trackio_dir())  # read by trackio at import
        import trackio

        return trackio.init(project=TRACKIO_PROJECT, name=self.run_dir.name, group=group, config=config,
                            resume="allow", embed=False, auto_log_cpu=False, auto_log_gpu=False)

    # ------------------------------------------------------------------------------------- logging
    def log(self, rec: dict[str, Any]) -> None:
        """Mirror one metrics.jsonl record (the same dict the worker appended)."""
        if not self.sinks or "step" not in rec or "resumed_from" in rec:
            return
        values, step = numeric(rec), int(rec["step"])
        if not values:
            return
        for name in list(self.sinks):
            try:
                if name == "tensorboard":
                    for k, v in values.items():
                        self.sinks[name].add_scalar(k, v, step)
                else:
                    self.sinks[name].log(values, step=step)
            except Exception as e:
                self.log_line(f"tracker {name} failed ({type(e).__name__}: {e}); it is closed, training goes on")
                self._close(name)

    def close(self) -> None:
        for name in list(self.sinks):
            self._close(name)

    def _close(self, name: str) -> None:
        sink = self.sinks.pop(name, None)
        try:
            if name == "tensorboard" and sink is not None:
                sink.close()
            elif name == "trackio" and sink is not None:
                sink.finish()
        except Exception as e:
            self.log_line(f"tracker {name} did not close cleanly ({type(e).__name__}: {e})")


def read_tensorboard(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """A run's TensorBoard scalars read back with TensorBoard's own EventAccumulator: {tag: [(step, value)]}."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(Path(run_dir) / TB_DIR), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
