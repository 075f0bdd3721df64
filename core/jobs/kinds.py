"""The job service: every kind of long work, registered once, started by `submit(request)`, listed in one list.

    from core.jobs.kinds import submit, list_jobs
    job = submit(EvalRequest(model="run:x", data="sample"), actor=actor)   # -> Submitted(run_dir, kind, reused)
    for row in list_jobs(): print(row.kind, row.name, row.status.state)

A kind is a name, a label, the area of the app home its job folders live in (KINDS, below: the one list of
kinds), and, attached by the module that owns the work when it is imported (`register`), its typed
request and how a request is checked and started (a job folder written, its worker launched through
core.jobs.runner, which writes every state). The request's type picks the kind, so a page or a command
needs only the request. Every kind's states mean the same (core.jobs.runner):

    queued (waiting for the device, `waiting_for` names the holder) -> running -> done | failed | stopped

and `crashed` when its process died without a word (core.jobs.lifecycle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import access
from core.errors import StudioError
from core.home import area
from core.jobs import runs


@dataclass
class JobKind:
    name: str  # as config.json's "kind" says (a training run's config has none: it is the default)
    label: str  # for people
    area: str  # core.home.area holding its job folders
    request: type | None = None  # the typed request (attached by `register`)
    start: Callable[..., Submitted] | None = None  # start(request, name, actor) -> Submitted


@dataclass
class Submitted:
    run_dir: Path
    kind: str
    reused: bool = False  # an identical job's result (or the same job still running) was used: nothing launched


@dataclass
class JobRow:
    kind: str
    label: str
    run: runs.RunInfo

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def status(self) -> runs.Status:
        return self.run.status


KINDS: dict[str, JobKind] = {k.name: k for k in (
    JobKind("training", "training run", "runs"),
    JobKind("eval", "evaluation", "evals"),
    JobKind("sweep", "sweep", "sweeps"),
    JobKind("model", "model preparation", "model-jobs"),
    JobKind("classlink", "class link", "classroom"),
)}


def register(name: str, request: type, start: Callable[..., Submitted]) -> None:
    """Attach a kind's request type and starter (called once, by the module that owns the work)."""
    if name not in KINDS:
        raise ValueError(f"unknown job kind {name!r}; add it to core.jobs.kinds.KINDS")
    KINDS[name].request, KINDS[name].start = request, start


def kind_of_request(request: Any) -> JobKind:
    for k in KINDS.values():
        if k.request is not None and isinstance(request, k.request):
            return k
    raise ValueError(f"no job kind takes a {type(request).__name__}")


def submit(request: Any, name: str | None = None, actor: access.Actor | None = None) -> Submitted:
    """Check the request whole (access, inputs) and start its job; nothing starts when a check fails."""
    kind = kind_of_request(request)
    assert kind.start is not None
    return kind.start(request, name, actor)


def kind_of_config(config: dict) -> str:
    kind = config.get("kind")
    return kind if isinstance(kind, str) and kind else "training"


def list_jobs(kinds: tuple[str, ...] | None = None) -> list[JobRow]:
    """Every job folder of the given kinds (default: all), newest first, damaged ones included."""
    rows = []
    for k in KINDS.values():
        if kinds is not None and k.name not in kinds:
            continue
        if k.name == "classlink":  # one class link at a time: its area is its job folder
            found = [info] if (info := runs.read_run(area(k.area))) else []
        else:
            found = runs.list_runs(area(k.area))
        rows += [JobRow(k.name, k.label, info) for info in found
                 if kind_of_config(info.config) == k.name or info.status.damaged]
    return sorted(rows, key=lambda r: r.run.created, reverse=True)


def find_active(kind: str, match: Callable[[dict], bool]) -> Path | None:
    """Re-attach: the job folder of a `kind` job still queued or running whose config `match`es."""
    for row in list_jobs((kind,)):
        if row.status.active and match(row.run.config):
            return row.run.run_dir
    return None


def job_area(kind: str) -> Path:
    if kind not in KINDS:
        raise StudioError(f"Unknown kind of job {kind!r}.")
    return area(KINDS[kind].area)
