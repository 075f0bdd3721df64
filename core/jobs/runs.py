"""Job folders: the only channel between the UI and a background worker (training, evaluation, class link).

One module owns the layout of a job folder (the lifecycle and its status live in core.jobs.lifecycle):

    config.json     what to do; written before launch, never changed by the worker
    status.json     atomic; state, pid (+ start time), step/total, message, progress, eta, best metrics
    heartbeat       touched every few seconds by the worker's heartbeat thread
    metrics.jsonl   append-only, one JSON object a line (worker writes it)
    log.txt         the worker's stdout + stderr
    launcher.json   pid and start time of the launched process (written by `launch`)
    stop, cancel    request files written by the UI (graceful stop / stop without a checkpoint)
    checkpoints/step_<n>/, model/, results.json     its products (`model_dir`, `checkpoints_dir`, `results_path`)

`resolve_run` is the one place that turns `run:<id>`, a run name or a folder into a run folder. A
symlink inside a job folder is never followed: listings skip symlinked folders, appends and log reads
open with O_NOFOLLOW, a symlinked job folder is refused. One job per device at a time: `device_slot`
is core.jobs.device's lease named after the job (an exclusive `flock` the OS releases if the holder dies).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import access
from core.errors import StudioError
from core.files import open_append_nofollow, read_json, read_only, write_json_atomic
from core.home import area
from core.jobs import device, lifecycle, runner
from core.jobs.lifecycle import (  # noqa: F401
    CANCEL,
    HEARTBEAT,
    LAUNCHER,
    LOG,
    STATES,
    STATUS,
    STOP,
    TERMINAL,
    Status,
    cancel_requested,
    log_tail,
    pid_alive,
    read_status,
    request_stop,
    stop_requested,
    terminate,
    write_status,
)
from core.jobs.runner import launch  # noqa: F401

CONFIG, METRICS = "config.json", "metrics.jsonl"
MODEL, CHECKPOINTS, RESULTS = "model", "checkpoints", "results.json"


def model_dir(run_dir: Path) -> Path:
    return Path(run_dir) / MODEL


def checkpoints_dir(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINTS


def results_path(run_dir: Path) -> Path:
    return Path(run_dir) / RESULTS


def run_model_dir(name: str) -> Path | None:
    """The model folder a `run:<id>` name stands for (there yet or not); None for any other name. The id
    is one folder name under the runs area, never a path."""
    text = str(name).strip()
    if not text.startswith("run:"):
        return None
    rid = text[4:]
    if not re.fullmatch(r"[\w.-]+", rid) or rid in (".", ".."):
        raise StudioError(f"{text!r} is not a run: use run:<id> with the name `python -m core runs list` shows.")
    return model_dir(area("runs") / rid)


def run_path(name: str) -> Path:
    """The folder of the training run `name` (one folder name under the runs area, never a path)."""
    if not re.fullmatch(r"[\w.-]+", str(name)) or name in (".", ".."):
        raise StudioError(f"{name!r} is not a run name.")
    return area("runs") / name


def waiting(jobs: list[RunInfo]) -> list[RunInfo]:
    """The jobs queued for the device (their status names the holder in `waiting_for`)."""
    return [j for j in jobs if j.status.state == "queued" and j.status.waiting_for]


def resolve_run(spec: str | Path, root: Path | None = None) -> Path:
    """`run:<id>`, a run name under `root` (default: the runs area), or a job folder -> the job folder."""
    text = str(spec).strip()
    root = Path(root) if root else area("runs")
    name = text[4:] if text.startswith("run:") else text
    candidates = [] if text.startswith("run:") else [Path(text).expanduser()]
    if name and "/" not in name and name not in (".", ".."):
        candidates.append(root / name)
    for p in candidates:
        if (p / CONFIG).is_file():
            if p.is_symlink():
                raise StudioError(f"{name} is a symbolic link, not a job folder; it is not used.")
            return p
    raise StudioError(f"No run named {name!r} (python -m core runs list shows them).")


@dataclass
class RunInfo:
    run_dir: Path
    name: str
    config: dict[str, Any]
    status: Status
    created: float

    @property
    def model_path(self) -> Path | None:
        p = model_dir(self.run_dir)
        return p if (p / "config.json").is_file() and not p.is_symlink() else None


# ----------------------------------------------------------------------------------------- creation

def create_run(root: Path, config: dict, name: str | None = None) -> Path:
    """Make a new job folder under `root` with its config and a `queued` status; returns the folder."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not os.access(root, os.W_OK):
            raise PermissionError(13, "Permission denied")
        free = shutil.disk_usage(root).free
    except OSError as e:
        raise StudioError(f"Cannot write job folders under {root}: {e.strerror or e}. "
                          "Set SQA_STUDIO_HOME to a writable folder.") from e
    if free < 50 * 2**20:
        raise StudioError(f"The disk holding {root} is full ({free / 2**20:.0f} MiB free). "
                          "Free some space (delete old runs) before launching.")
    base = name or time.strftime("%Y%m%d-%H%M%S")
    run_dir = root / base
    n = 1
    while True:
        try:
            run_dir.mkdir(parents=True)
            break
        except FileExistsError:
            n += 1
            run_dir = root / f"{base}-{n}"
        except OSError as e:
            raise StudioError(f"Cannot create {run_dir}: {e.strerror or e}.") from e
    write_json_atomic(run_dir / CONFIG, {**config, "created": time.time()})
    runner.created(run_dir)
    return run_dir


def write_config(run_dir: Path, config: dict) -> None:
    """Replace a job's config (before its worker is launched)."""
    write_json_atomic(Path(run_dir) / CONFIG, config)


def write_results(run_dir: Path, results: dict) -> Path:
    """The job's product as JSON (an evaluation's scores, a sweep's table); atomic."""
    write_json_atomic(results_path(run_dir), results)
    return results_path(run_dir)


def read_results(run_dir: Path) -> Any:
    """The job's results.json (a StudioError naming it when it is missing or damaged)."""
    return read_json(results_path(run_dir))


def has_results(run_dir: Path) -> bool:
    p = results_path(run_dir)
    return p.is_file() and not p.is_symlink()


def results_mtime(run_dir: Path) -> float:
    """When the results were written (a cache key for pages); 0.0 when there are none."""
    try:
        return results_path(run_dir).stat().st_mtime
    except OSError:
        return 0.0


def launched(run_dir: Path) -> bool:
    """A worker was launched for this job (its launcher record is there)."""
    return (Path(run_dir) / LAUNCHER).exists()


def has_config(folder: Path) -> bool:
    """`folder` is a job folder (it holds the job's config)."""
    return (Path(folder) / CONFIG).is_file()


def has_status(folder: Path) -> bool:
    """A worker or `create_run` has written this job's status."""
    return (Path(folder) / STATUS).is_file()


def has_metrics(run_dir: Path) -> bool:
    return (Path(run_dir) / METRICS).is_file()


def finished_results(root: Path) -> list[Path]:
    """The job folders under `root` that hold results, newest results first."""
    found = [p.parent for p in Path(root).glob(f"*/{RESULTS}") if not p.parent.is_symlink()]
    return sorted(found, key=results_mtime, reverse=True)


def read_status_raw(run_dir: Path) -> dict:
    """status.json as written ({} when there is none or it is damaged): for readers of extra fields."""
    raw = lifecycle.read_raw(run_dir) if has_status(run_dir) else {}
    return raw if isinstance(raw, dict) else {}


def read_config(run_dir: Path) -> dict:
    """The job's config; a corrupt one or one of the wrong shape is a StudioError naming it."""
    cfg = read_json(Path(run_dir) / CONFIG)
    if not isinstance(cfg, dict):
        raise StudioError(f"{Path(run_dir).name}/config.json is damaged (not a JSON object).")
    return cfg


def heartbeat(run_dir: Path) -> None:
    write_status(run_dir)


# ------------------------------------------------------------------------------------------ metrics

def _open_nofollow(path: Path, flags: int) -> int:
    """A file descriptor for `path`, refusing a symlink (OSError ELOOP) so a planted link is never followed."""
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def append_metrics(run_dir: Path, record: dict) -> None:
    """Append one record as a line; a torn last line (the worker was killed mid-write) is closed first."""
    path = Path(run_dir) / METRICS
    line = json.dumps(record, default=float) + "\n"
    with open_append_nofollow(path) as f:
        f.seek(0, os.SEEK_END)
        if f.tell() > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                line = "\n" + line
        f.write(line.encode("utf-8"))
        f.flush()


# Fields a metrics line may carry as numbers (or null); a line with another type there is damaged.
NUMERIC = ("step", "epoch", "loss", "lr", "lr_factor", "grad_norm", "tokens", "padding", "tokens_per_s",
           "samples_per_s", "peak_memory", "elapsed", "eta", "progress", "eval_loss", "eval_accuracy", "time",
           "resumed_from")


def valid_metric(rec: Any) -> bool:
    if not isinstance(rec, dict):
        return False
    for k in NUMERIC:
        v = rec.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            return False
    return not isinstance(rec.get("step"), float)


class MetricsReader:
    """Incremental reader of metrics.jsonl: each `read_new()` reads only the bytes added since the last.

    A last line without its newline is left for the next read (it may still be being written); a
    complete line that is not valid JSON (torn by a kill, then closed by a resume) or has wrongly typed
    fields is skipped and counted in `skipped` (the page says the run's metrics are damaged).
    `history` holds every record so far, minus those undone by a resume (steps after the checkpoint).
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / METRICS
        self.offset = 0
        self.history: list[dict] = []
        self.skipped = 0

    def read_new(self) -> list[dict]:
        try:
            with os.fdopen(_open_nofollow(self.path, os.O_RDONLY), "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:  # missing, or a symlink (never followed)
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        new = []
        for raw in chunk[: end + 1].splitlines():
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                self.skipped += 1
                continue
            if not valid_metric(rec):
                self.skipped += 1
                continue
            if "resumed_from" in rec:
                cut = rec["resumed_from"]
                self.history = [r for r in self.history if r.get("step", 0) <= cut]
            new.append(rec)
            self.history.append(rec)
        return new


def read_metrics(run_dir: Path) -> list[dict]:
    """All current metric records of a job (resume-aware)."""
    reader = MetricsReader(run_dir)
    reader.read_new()
    return reader.history


# -------------------------------------------------------------------------------------- device slot

def device_lock_path() -> Path:
    return device.lock_path()


@contextlib.contextmanager
def device_slot(run_dir: Path, poll: float = 0.5) -> Iterator[bool]:
    """Hold the device for this job (core.jobs.device.device_lease, named after the job); yields False if a
    stop/cancel was requested while waiting. The job's queued/running states are the runner's."""
    with device.device_lease(Path(run_dir).name, poll=poll,
                             should_stop=lambda: stop_requested(run_dir)) as held:
        yield held


def device_holder() -> str:
    """The name of whoever holds the device now ("" when it is free)."""
    lease = device.device_holder()
    return lease.holder if lease else ""


# ------------------------------------------------------------------------------------------ listing

def read_run(d: Path) -> RunInfo | None:
    """The job folder `d` (None when it is not one: no config, a symlink, not a folder). A damaged config
    or status shows the job as damaged (state `crashed`, `status.damaged` says why), never raises."""
    try:
        if d.is_symlink() or not d.is_dir() or d.name.startswith(".") or not (d / CONFIG).is_file():
            return None
        mtime = d.stat().st_mtime
    except OSError:
        return None
    try:
        cfg = read_config(d)
        st = read_status(d)
    except StudioError as e:
        cfg, st = {}, Status(state="crashed", damaged=str(e), error="The job's config is damaged.")
    created = cfg.get("created")
    created = float(created) if isinstance(created, int | float) and not isinstance(created, bool) else mtime
    return RunInfo(run_dir=d, name=d.name, config=cfg, status=st, created=created)


def list_runs(root: Path) -> list[RunInfo]:
    """Every job folder under `root` (newest first), as `read_run` reads each."""
    try:
        entries = list(Path(root).iterdir())
    except OSError:
        return []
    out = [info for d in entries if (info := read_run(d)) is not None]
    return sorted(out, key=lambda r: r.created, reverse=True)


def delete_run(run_dir: Path, actor: access.Actor | None = None) -> None:
    """Remove a job folder; refused while its worker is alive (stop it first)."""
    access.require(actor, "Deleting a run")
    run_dir = Path(run_dir)
    if run_dir.is_symlink() or not (run_dir / CONFIG).is_file():
        raise StudioError(f"{run_dir.name} is not a job folder.")
    st = read_status(run_dir)
    if st.active:
        raise StudioError(f"{run_dir.name} is {st.state}; stop it before deleting it.")
    if read_only(run_dir) or read_only(run_dir.parent):
        raise StudioError(f"Cannot delete {run_dir.name}: its folder is read-only (check the permissions of the "
                          "app home).")
    try:
        shutil.rmtree(run_dir)
    except OSError as e:
        raise StudioError(f"Could not delete all of {run_dir.name}: {e.strerror or e}.") from e
