"""Job folders: the only channel between the UI and a background worker (training or evaluation).

One module owns the layout of a job folder:

    config.json     what to do; written before launch, never changed by the worker
    status.json     atomic; state, pid, step/total, heartbeat, error, started/ended (worker writes it)
    metrics.jsonl   append-only, one JSON object a line (worker writes it)
    log.txt         the worker's stdout + stderr
    launcher.json   pid of the launched process (written by `launch`)
    stop, cancel    request files written by the UI (graceful stop / stop without a checkpoint)
    checkpoints/step_<n>/, model/, results.json

Honest status: a non-terminal state whose process is gone reads as `crashed`; a terminal state is
believed even while the process is still exiting. One job per device at a time: `device_slot` takes
an exclusive `flock` on `<home>/device.lock`, which the OS releases if the holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import StudioError
from core.files import read_json, write_json_atomic, write_text_atomic
from core.home import home

STATES = ("queued", "running", "stopping", "done", "failed", "stopped", "crashed")
TERMINAL = frozenset({"done", "failed", "stopped", "crashed"})
CONFIG, STATUS, METRICS, LOG, LAUNCHER = "config.json", "status.json", "metrics.jsonl", "log.txt", "launcher.json"
STOP, CANCEL = "stop", "cancel"


@dataclass
class Status:
    state: str = "queued"
    pid: int | None = None
    step: int = 0
    total: int = 0
    heartbeat: float | None = None
    error: str = ""
    started: float | None = None
    ended: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # worker-specific fields (best eval, message, ...)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def active(self) -> bool:
        return not self.terminal

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.time()) - self.started


@dataclass
class RunInfo:
    run_dir: Path
    name: str
    config: dict[str, Any]
    status: Status
    created: float

    @property
    def model_path(self) -> Path | None:
        p = self.run_dir / "model"
        return p if (p / "config.json").exists() else None


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
    write_json_atomic(run_dir / STATUS, {"state": "queued", "pid": None, "step": 0, "total": 0})
    return run_dir


def read_config(run_dir: Path) -> dict:
    return read_json(Path(run_dir) / CONFIG)


def launch(run_dir: Path, argv: list[str], env: dict[str, str] | None = None) -> int:
    """Start the worker in its own session, output to log.txt (never a pipe); returns its pid."""
    run_dir = Path(run_dir)
    for req in (STOP, CANCEL, LAUNCHER):
        with contextlib.suppress(FileNotFoundError):
            (run_dir / req).unlink()
    # Before the process exists: queued, no pid (reads as "not started yet", never as crashed).
    # After Popen only the worker writes status.json, so the two never race.
    # A resumed run keeps where it was (step, progress, training time) until its worker moves on.
    prev = _raw_status(run_dir)
    kept = {k: prev[k] for k in ("progress", "elapsed", "best_eval_loss", "best_eval_accuracy") if k in prev}
    write_json_atomic(run_dir / STATUS, {"state": "queued", "pid": None, "step": prev.get("step", 0),
                                         "total": prev.get("total", 0), **kept})
    try:
        log = open(run_dir / LOG, "ab")
    except OSError as e:
        raise StudioError(f"Cannot write {run_dir / LOG}: {e.strerror or e}.") from e
    with log:
        try:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env={**os.environ, **(env or {})})
        except OSError as e:
            write_status(run_dir, state="failed", error=f"Could not start the worker: {e}")
            raise StudioError(f"Could not start the worker ({argv[0]}): {e.strerror or e}.") from e
    # Reap the child when it exits so a finished worker never lingers as a zombie that looks alive.
    threading.Thread(target=proc.wait, daemon=True).start()
    write_json_atomic(run_dir / LAUNCHER, {"pid": proc.pid, "argv": argv, "launched": time.time()})
    return proc.pid


# ------------------------------------------------------------------------------------------- status

def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is dead
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _raw_status(run_dir: Path) -> dict:
    try:
        return json.loads((Path(run_dir) / STATUS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"state": "queued"}
    except json.JSONDecodeError as e:  # writes are atomic, so this is outside damage
        return {"state": "crashed", "error": f"status.json is corrupt: {e}"}


def _launcher_pid(run_dir: Path) -> int | None:
    try:
        return int(json.loads((Path(run_dir) / LAUNCHER).read_text())["pid"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError, ValueError, TypeError):
        return None


def read_status(run_dir: Path) -> Status:
    """The job's status; a non-terminal state whose process is gone reads as `crashed`."""
    run_dir = Path(run_dir)
    raw = _raw_status(run_dir)
    known = {k: raw.get(k) for k in ("state", "pid", "step", "total", "heartbeat", "error", "started", "ended")}
    extra = {k: v for k, v in raw.items() if k not in known}
    st = Status(state=known["state"] or "queued", pid=known["pid"], step=int(known["step"] or 0),
                total=int(known["total"] or 0), heartbeat=known["heartbeat"], error=known["error"] or "",
                started=known["started"], ended=known["ended"], extra=extra)
    if st.terminal:
        return st
    pid = st.pid or _launcher_pid(run_dir)
    if pid is None:
        return st  # created, not launched yet
    if not pid_alive(pid):
        st.state = "crashed"
        st.error = st.error or ("The worker process ended without writing a final state "
                                "(killed, out of memory, or the machine restarted).")
        st.extra["log_tail"] = log_tail(run_dir)
    return st


def write_status(run_dir: Path, **fields: Any) -> dict:
    """Worker only: merge `fields` into status.json (atomically) and return the new status dict."""
    if "state" in fields and fields["state"] not in STATES:
        raise ValueError(f"unknown state {fields['state']!r}; one of {', '.join(STATES)}")
    raw = _raw_status(run_dir)
    raw.update(fields)
    raw["heartbeat"] = time.time()
    write_json_atomic(Path(run_dir) / STATUS, raw)
    return raw


def heartbeat(run_dir: Path) -> None:
    write_status(run_dir)


def log_tail(run_dir: Path, lines: int = 40) -> str:
    path = Path(run_dir) / LOG
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# ------------------------------------------------------------------------------------------ metrics

def append_metrics(run_dir: Path, record: dict) -> None:
    """Append one record as a line; a torn last line (the worker was killed mid-write) is closed first."""
    path = Path(run_dir) / METRICS
    line = json.dumps(record, default=float) + "\n"
    with open(path, "ab+") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                line = "\n" + line
        f.write(line.encode("utf-8"))
        f.flush()


class MetricsReader:
    """Incremental reader of metrics.jsonl: each `read_new()` reads only the bytes added since the last.

    A last line without its newline is left for the next read (it may still be being written); a
    complete line that is not valid JSON (torn by a kill, then closed by a resume) is skipped.
    `history` holds every record so far, minus those undone by a resume (steps after the checkpoint).
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / METRICS
        self.offset = 0
        self.history: list[dict] = []
        self.skipped = 0

    def read_new(self) -> list[dict]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
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
            if not isinstance(rec, dict):
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


# ----------------------------------------------------------------------------------------- requests

def request_stop(run_dir: Path, cancel: bool = False) -> None:
    """UI: ask the worker to stop (graceful: it saves a checkpoint) or to cancel (no checkpoint)."""
    write_text_atomic(Path(run_dir) / (CANCEL if cancel else STOP), time.strftime("%Y-%m-%dT%H:%M:%S\n"))


def stop_requested(run_dir: Path) -> bool:
    return (Path(run_dir) / STOP).exists() or cancel_requested(run_dir)


def cancel_requested(run_dir: Path) -> bool:
    return (Path(run_dir) / CANCEL).exists()


# -------------------------------------------------------------------------------------- device slot

def device_lock_path() -> Path:
    return home() / "device.lock"


@contextlib.contextmanager
def device_slot(run_dir: Path, poll: float = 0.5) -> Iterator[bool]:
    """Hold the device for this job; while another job holds it, stay `queued` and wait.

    Yields True once the device is held, or False if a stop/cancel was requested while waiting
    (the caller then ends the job as `stopped`). The lock dies with the process: crash-safe.
    """
    run_dir = Path(run_dir)
    f = open(device_lock_path(), "a+")
    try:
        waiting = False
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stop_requested(run_dir):
                    yield False
                    return
                if not waiting:
                    holder = _slot_holder()
                    write_status(run_dir, state="queued", pid=os.getpid(),
                                 message=f"waiting for the device (in use by {holder})" if holder
                                 else "waiting for the device")
                    waiting = True
                else:
                    heartbeat(run_dir)
                time.sleep(poll)
        write_json_atomic(home() / "device.holder.json", {"run_dir": str(run_dir), "pid": os.getpid()})
        try:
            yield True
        finally:
            with contextlib.suppress(FileNotFoundError):
                (home() / "device.holder.json").unlink()
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    finally:
        f.close()


def _slot_holder() -> str:
    try:
        return Path(json.loads((home() / "device.holder.json").read_text())["run_dir"]).name
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return ""


# ------------------------------------------------------------------------------------------ listing

def list_runs(root: Path) -> list[RunInfo]:
    """Every job folder under `root` (newest first); folders without a readable config are skipped."""
    root = Path(root)
    out = []
    if not root.exists():
        return out
    for d in root.iterdir():
        if not d.is_dir() or d.name.startswith(".") or not (d / CONFIG).exists():
            continue
        try:
            cfg = read_config(d)
        except StudioError:
            continue
        out.append(RunInfo(run_dir=d, name=d.name, config=cfg, status=read_status(d),
                           created=float(cfg.get("created") or d.stat().st_mtime)))
    return sorted(out, key=lambda r: r.created, reverse=True)


def delete_run(run_dir: Path) -> None:
    """Remove a job folder; refused while its worker is alive (stop it first)."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists():
        raise StudioError(f"{run_dir} is not a job folder.")
    st = read_status(run_dir)
    if st.active:
        raise StudioError(f"{run_dir.name} is {st.state}; stop it before deleting it.")
    shutil.rmtree(run_dir)
