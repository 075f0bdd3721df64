"""The one job lifecycle every background process shares: training runs, evaluation jobs, the class link.

    queued -> running -> stopping -> done | failed | stopped        (and `crashed`, read, never written)

This module reads (`read_status`), stops (`request_stop`, `terminate`) and holds the primitives (the
typed `Status`, `write_status`, process identity). Launching, the worker's life (pid, heartbeat) and every
state transition are core.jobs.runner's: nothing else writes a `state`.

Honest status: a non-terminal job reads as `crashed` when its process is gone, when the pid now
belongs to another process (its start time differs from the one recorded), or when its heartbeat is
older than STALE_SECONDS. A terminal state is believed even while the process is still exiting. A
status.json that is corrupt or of the wrong shape reads as a `damaged` job (state `crashed`, with
the reason) instead of raising. `terminate` signals a process group only after checking that its
leader is the process this app started (pid and start time), so a stale pid file never kills an
unrelated process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core import access
from core.errors import StudioError
from core.files import read_only, write_json_atomic, write_text_atomic

STATES = ("queued", "running", "stopping", "done", "failed", "stopped", "crashed")
TERMINAL = frozenset({"done", "failed", "stopped", "crashed"})
STATUS, LOG, LAUNCHER, HEARTBEAT = "status.json", "log.txt", "launcher.json", "heartbeat"
STOP, CANCEL = "stop", "cancel"
BEAT_SECONDS = 5.0
STALE_SECONDS = 120.0  # no heartbeat for this long while the pid lives: the job is dead (or the pid reused)


@dataclass
class Status:
    """A job's status, typed. Unknown keys of status.json stay in `extra` (so do the typed ones, as read)."""

    state: str = "queued"
    pid: int | None = None
    pid_start: int | None = None  # the process's start time (clock ticks since boot, /proc/<pid>/stat)
    step: int = 0
    total: int = 0
    heartbeat: float | None = None
    error: str = ""
    started: float | None = None
    ended: float | None = None
    message: str = ""  # what the job is doing now, in words
    progress: float | None = None  # 0..1
    eta: float | None = None  # seconds left
    elapsed: float | None = None  # seconds of work so far (resume-aware)
    elapsed_at: float | None = None  # when `elapsed` was written (a reader adds the time since, while running)
    waiting_for: str = ""  # the job holding the device while this one is queued
    best_eval_loss: float | None = None
    best_eval_accuracy: float | None = None
    damaged: str = ""  # why the status files could not be read as they are
    log_tail: str = ""  # the log's end, when the job crashed
    extra: dict[str, Any] = field(default_factory=dict)

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


_TYPES: dict[str, tuple[type, ...]] = {
    "state": (str,), "pid": (int,), "pid_start": (int,), "step": (int,), "total": (int,),
    "heartbeat": (int, float), "error": (str,), "started": (int, float), "ended": (int, float),
    "message": (str,), "progress": (int, float), "eta": (int, float), "elapsed": (int, float),
    "elapsed_at": (int, float),
    "waiting_for": (str,), "best_eval_loss": (int, float), "best_eval_accuracy": (int, float)}
_DEFAULTS = {f.name: f.default for f in fields(Status) if f.name in _TYPES}


def parse_status(raw: Any) -> Status:
    """A Status from status.json's content; wrong shapes and types mark it damaged instead of raising."""
    if not isinstance(raw, dict):
        return Status(state="crashed", damaged=f"status.json holds a {type(raw).__name__}, not an object",
                      error="The job's status file is damaged.")
    values, bad = {}, []
    for name, types in _TYPES.items():
        v = raw.get(name)
        if v is None:
            values[name] = _DEFAULTS[name]
        elif isinstance(v, bool) or not isinstance(v, types):
            bad.append(name)
            values[name] = _DEFAULTS[name]
        else:
            values[name] = v
    st = Status(**values, extra={k: v for k, v in raw.items()})
    if st.state not in STATES:
        bad.append("state")
        st.state = "crashed"
    if bad:
        st.damaged = "status.json has wrongly typed fields: " + ", ".join(sorted(set(bad)))
        if st.active:
            st.state, st.error = "crashed", st.error or "The job's status file is damaged."
    return st


def read_raw(run_dir: Path) -> Any:
    try:
        return json.loads((Path(run_dir) / STATUS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"state": "queued"}
    except (OSError, ValueError) as e:  # writes are atomic, so this is outside damage
        return {"state": "crashed", "error": f"status.json is corrupt: {e}", "damaged": "status.json is corrupt"}


# ---- processes -----------------------------------------------------------------------------------------

def process_start(pid: int | None) -> int | None:
    """When the process started (clock ticks since boot, field 22 of /proc/<pid>/stat); None if unknown."""
    if not pid:
        return None
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


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


def same_process(pid: int | None, start: int | None) -> bool:
    """`pid` is alive and is the process that started at `start` (when `start` was recorded)."""
    if not pid_alive(pid):
        return False
    return start is None or process_start(pid) in (None, start)


def _launcher(run_dir: Path) -> dict:
    try:
        data = json.loads((Path(run_dir) / LAUNCHER).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int) or isinstance(data.get("pid"), bool):
        return {}
    return data


def _last_beat(run_dir: Path, st: Status) -> float | None:
    beats = [st.heartbeat, _launcher(run_dir).get("launched")]
    with contextlib.suppress(OSError):
        beats.append((Path(run_dir) / HEARTBEAT).stat().st_mtime)
    beats = [b for b in beats if isinstance(b, (int, float))]
    return max(beats) if beats else None


def read_status(run_dir: Path) -> Status:
    """The job's status; a non-terminal job whose process is gone, reused or silent reads as `crashed`."""
    run_dir = Path(run_dir)
    st = parse_status(read_raw(run_dir))
    if st.terminal:
        return st
    launcher = _launcher(run_dir)
    pid = st.pid or launcher.get("pid")
    if pid is None:
        return st  # created, not launched yet
    start = st.pid_start if st.pid else launcher.get("pid_start")
    beat = _last_beat(run_dir, st)
    why = ""
    if not same_process(pid, start):
        why = ("The worker process ended without writing a final state "
               "(killed, out of memory, or the machine restarted).")
    elif st.pid and beat is not None and time.time() - beat > STALE_SECONDS:  # the worker took over, then fell silent
        why = f"The worker stopped reporting (no heartbeat for {time.time() - beat:.0f} s)."
    if why:
        st.state, st.error = "crashed", st.error or why
        st.log_tail = log_tail(run_dir)
        st.extra["log_tail"] = st.log_tail
    return st


def write_status(run_dir: Path, **values: Any) -> dict:
    """Worker only: merge `values` into status.json (atomically, with a fresh heartbeat); returns it."""
    if "state" in values and values["state"] not in STATES:
        raise ValueError(f"unknown state {values['state']!r}; one of {', '.join(STATES)}")
    raw = read_raw(run_dir)
    raw = raw if isinstance(raw, dict) else {}
    raw.pop("damaged", None)
    if "pid" in values and "pid_start" not in values:  # the start time belongs to the pid it was read for
        values = {**values, "pid_start": process_start(values["pid"]) if values["pid"] == os.getpid() else None}
    raw.update(values)
    raw["heartbeat"] = time.time()
    write_json_atomic(Path(run_dir) / STATUS, raw)
    return raw


def log_tail(run_dir: Path, lines: int = 40) -> str:
    path = Path(run_dir) / LOG
    try:  # never through a symlink: a planted link must not show another file
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# ---- the UI side (launching is core.jobs.runner.launch) ------------------------------------------------

def request_stop(run_dir: Path, cancel: bool = False, actor: access.Actor | None = None) -> None:
    """Ask the worker to stop (graceful: training saves a checkpoint) or to cancel (no checkpoint)."""
    access.require(actor, "Stopping a job")
    run_dir = Path(run_dir)
    if read_only(run_dir):
        raise StudioError(f"Cannot stop {run_dir.name}: its folder is read-only, so the worker cannot be told. "
                          "Make the folder writable again.")
    try:
        write_text_atomic(run_dir / (CANCEL if cancel else STOP), time.strftime("%Y-%m-%dT%H:%M:%S\n"))
    except StudioError as e:
        raise StudioError(f"Cannot stop {run_dir.name}: its folder is not writable ({e}).") from e


def stop_requested(run_dir: Path) -> bool:
    return (Path(run_dir) / STOP).exists() or cancel_requested(run_dir)


def cancel_requested(run_dir: Path) -> bool:
    return (Path(run_dir) / CANCEL).exists()


def terminate(run_dir: Path, grace: float = 5.0) -> bool:
    """Signal the job's process group (SIGTERM, then SIGKILL after `grace` s) if, and only if, its
    launcher record names a live process with the recorded start time. Returns whether it signalled."""
    launcher = _launcher(run_dir)
    pid, start = launcher.get("pid"), launcher.get("pid_start")
    if start is None or not same_process(pid, start):
        return False
    try:
        if os.getpgid(pid) != pid:  # not the leader of its own group: not a process we launched
            return False
    except ProcessLookupError:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and same_process(pid, start):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if same_process(pid, start):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    return True
