"""The sweep folder: its layout, and reading it back (the spec, the member runs, their evaluations).

A sweep is a job folder under `<home>/sweeps/<name>/` (core.jobs.runs: config.json, status.json,
log.txt, stop/cancel requests) plus:

    questions.jsonl   the held-out questions every member is scored on, fixed when the sweep is made:
                      the source's test split if it has one, else the worker's own held-out slice (never
                      a training row); at most `eval_questions` of them, a seeded choice
    evals/<member>.json   each member's evaluation on those questions (core.evaluation.scoring result)

Its members are ordinary training runs under `<home>/runs/<sweep>-NN` (config `sweep` names the sweep).
core.training.sweeps writes the folder; core.training.sweep_results reads what it found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import StudioError
from core.files import read_json
from core.home import area
from core.jobs import runs

QUESTIONS, EVALS = "questions.jsonl", "evals"


def read_spec(sweep_dir: Path) -> dict[str, Any]:
    spec = runs.read_config(sweep_dir)
    if spec.get("kind") != "sweep" or not isinstance(spec.get("members"), list):
        raise StudioError(f"{sweep_dir} is not a sweep folder.")
    return spec


def member_dir(name: str) -> Path:
    return area("runs") / name


def list_sweeps(root: Path | None = None) -> list[runs.RunInfo]:
    return [r for r in runs.list_runs(root or area("sweeps")) if r.config.get("kind") == "sweep"]


def eval_questions(sweep_dir: Path) -> list:
    """The sweep's own held-out questions, read through the job (anyone who may see the sweep may read them:
    not a "server path" a visitor names, so no access check, unlike core.data.sources.load_source)."""
    from core.data.formats import load_file

    return load_file(Path(sweep_dir) / QUESTIONS)


def member_eval(sweep_dir: Path, name: str):
    """A member's EvalResult on the sweep's questions, or None before it is evaluated."""
    from core.evaluation.scoring import EvalResult

    path = Path(sweep_dir) / EVALS / f"{name}.json"
    return EvalResult.from_dict(read_json(path)) if path.exists() else None

