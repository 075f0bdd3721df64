"""The runner: the one module that drives a job through its states, for every kind of job.

    queued --(device leased)--> running --> done | failed | stopped       (stopping: saving before stopped)

Every state a job folder's status.json ever shows is written here (the job's own code reports only
progress: step, total, message, metrics). One meaning per ending, whatever the kind:

    the work returned                    -> done                       exit 0
    a stop was requested (the Stop button, `runs stop`, the stop file; or the work returned "stopped")
                                          -> stopped                    exit 0
    Ctrl-C (SIGINT) or SIGTERM            -> stopped                    exit 130
    a StudioError, out of memory          -> failed, with the one-line reason      exit 1
    anything else (a bug)                 -> failed, its traceback in log.txt      exit 1

SIGTERM is polite: the first one is turned into a stop request (training saves a checkpoint, evaluation
ends at its next question batch), a second one interrupts at once. The runner also owns the child's
environment (`child_env`) and the launch (`launch`), so every kind starts its worker the same way.

    code = run(run_dir, work, holder="training 2026...")   # in the worker process (or in the foreground)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core import access
from core.errors import StudioError
from core.files import open_append_nofollow, read_only, write_json_atomic, write_text_atomic
from core.home import PROJECT_ROOT
from core.jobs import lifecycle
from core.jobs.device import device_lease

EXIT_DONE, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


class Stopped(Exception):
    """Raised by a job's work when a stop was requested: the job ends `stopped`."""


class Interrupted(KeyboardInterrupt):
    """A second SIGTERM: stop now."""


def child_env(extra: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The whole environment of a worker: this one, the project importable, output unbuffered, minus `drop`."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    path = env.get("PYTHONPATH", "")
    root = str(PROJECT_ROOT)
    env["PYTHONPATH"] = root + (os.pathsep + path if path and path != root else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def launch(run_dir: Path, argv: list[str], env: dict[str, str] | None = None, drop: tuple[str, ...] = (),
           cwd: Path | None = None) -> int:
    """Start a worker for `run_dir` in its own session (process group), output to log.txt; returns its pid.

    The environment is `child_env(env, drop)`. status.json reads `queued` with no pid until the worker's
    `worker()` takes over, so the two never race. A resumed run keeps where it was (step, progress,
    training time, best metrics) until its worker moves on; only values of the right type are carried over.
    """
    run_dir = Path(run_dir)
    if run_dir.is_symlink() or read_only(run_dir):
        raise StudioError(f"Cannot start {run_dir.name}: its folder is read-only or a symbolic link.")
    try:
        for name in (lifecycle.STOP, lifecycle.CANCEL, lifecycle.LAUNCHER, lifecycle.HEARTBEAT):
            with contextlib.suppress(FileNotFoundError):
                (run_dir / name).unlink()
        prev = lifecycle.parse_status(lifecycle.read_raw(run_dir))
        kept = {k: getattr(prev, k) for k in ("step", "total", "progress", "elapsed", "best_eval_loss",
                                              "best_eval_accuracy") if getattr(prev, k) is not None}
        write_json_atomic(run_dir / lifecycle.STATUS, {"state": "queued", "pid": None, **kept})
        log = open_append_nofollow(run_dir / lifecycle.LOG)
    except OSError as e:
        raise StudioError(f"Cannot write in the job folder {run_dir.name}: {e.strerror or e}.") from e
    with log:
        try:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=cwd or PROJECT_ROOT, start_new_session=True, env=child_env(env, drop))
        except OSError as e:
            _state(run_dir, "failed", error=f"Could not start the worker: {e}")
            raise StudioError(f"Could not start the worker ({Path(argv[0]).name}): {e.strerror or e}.") from e
    # Reap the child when it exits so a finished worker never lingers as a zombie that looks alive.
    threading.Thread(target=proc.wait, daemon=True).start()
    write_json_atomic(run_dir / lifecycle.LAUNCHER, {"pid": proc.pid, "pid_start": lifecycle.process_start(proc.pid),
                                                     "argv": argv, "launched": time.time()})
    return proc.pid


@contextlib.contextmanager
def worker(run_dir: Path, **initial: Any) -> Iterator[None]:
    """A worker's whole life: acts as the local admin, records its pid (and start time), beats a heartbeat."""
    run_dir = Path(run_dir)
    access.act_as_local()
    _state(run_dir, "queued", pid=os.getpid(), pid_start=lifecycle.process_start(os.getpid()), error="", **initial)
    done = threading.Event()

    def beat() -> None:
        while not done.wait(lifecycle.BEAT_SECONDS):
            with contextlib.suppress(OSError):
                (run_dir / lifecycle.HEARTBEAT).touch()

    (run_dir / lifecycle.HEARTBEAT).touch()
    thread = threading.Thread(target=beat, daemon=True, name="heartbeat")
    thread.start()
    try:
        yield
    finally:
        done.set()


def module_argv(module: str, run_dir: Path, *flags: str) -> list[str]:
    """`python -u -m <module> RUN_DIR [flags]`: how every job's worker is started."""
    return [sys.executable, "-u", "-m", module, str(run_dir), *flags]


class Job:
    """What a job's work sees of its job: report progress, notice a stop request."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.signalled = False  # SIGTERM or Ctrl-C arrived
        self.final: dict[str, Any] = {}  # extra status fields the ending (done or stopped) carries

    def say(self, message: str) -> None:
        lifecycle.write_status(self.run_dir, message=message)

    def report(self, **fields: Any) -> None:
        """Progress fields (step, total, message, eta, ...); never a state."""
        if "state" in fields:
            raise ValueError("a job reports progress; its state is the runner's (core.jobs.runner)")
        lifecycle.write_status(self.run_dir, **fields)

    def stop_requested(self) -> bool:
        return self.signalled or lifecycle.stop_requested(self.run_dir)

    def cancel_requested(self) -> bool:
        return lifecycle.cancel_requested(self.run_dir)

    def check_stop(self) -> None:
        if self.stop_requested():
            raise Stopped

    def stopping(self, message: str) -> None:
        """The work heard the stop and is saving before it ends (training's checkpoint)."""
        _state(self.run_dir, "stopping", message=message)


def _state(run_dir: Path, state: str, **fields: Any) -> None:
    if state in lifecycle.TERMINAL:
        fields.setdefault("ended", time.time())
    lifecycle.write_status(run_dir, state=state, **fields)


def created(run_dir: Path) -> None:
    """A new job folder's first status: queued, no process yet (core.jobs.runs.create_run)."""
    write_json_atomic(Path(run_dir) / lifecycle.STATUS, {"state": "queued", "pid": None, "step": 0, "total": 0})


def end(run_dir: Path, state: str, **fields: Any) -> None:
    """Record a job's ending from outside its process (its worker is gone: the class link's stop, a worker
    that could not even read its config). Only where the job's own runner cannot write it."""
    if state not in lifecycle.TERMINAL - {"crashed"}:
        raise ValueError(f"a job ends done, failed or stopped, not {state!r}")
    _state(run_dir, state, **fields)


@contextlib.contextmanager
def _signals(job: Job) -> Iterator[None]:
    """SIGTERM: the first asks the work to stop (as the Stop button does), the second interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        if job.signalled:
            raise Interrupted
        job.signalled = True
        with contextlib.suppress(OSError, StudioError):
            write_text_atomic(job.run_dir / lifecycle.STOP, time.strftime("%Y-%m-%dT%H:%M:%S SIGTERM\n"))

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(run_dir: Path, work: Callable[[Job], str | None], holder: str | None = None, device: bool = True,
        message: str = "starting", oom_hint: str = "", quiet_traceback: bool = False,
        on_signal: Callable[[], None] | None = None) -> int:
    """Run `work(job)` as the job in `run_dir`, writing its every state; returns the exit code.

    device: lease the device first (the job waits `queued`, naming the holder). `work` returns "stopped"
    when it honoured a stop request, anything else means done. quiet_traceback: a bug's traceback goes to
    the job's log.txt, and nothing to stderr (the command line shows its own one line). on_signal: called once at the first
    SIGTERM (training raises its own stop flag)."""
    run_dir = Path(run_dir)
    job = Job(run_dir)
    try:
        with worker(run_dir, message=message, waiting_for=""), _signals(job):
            if on_signal is not None:
                _chain_signal(job, on_signal)
            lease = device_lease(holder or run_dir.name, should_stop=job.stop_requested,
                                 on_wait=lambda who: _state(run_dir, "queued", waiting_for=who or "another job",
                                                            message=f"waiting for the device (in use by {who})"
                                                            if who else "waiting for the device"))
            with lease if device else contextlib.nullcontext(True) as held:
                if not held:
                    _state(run_dir, "stopped", waiting_for="", message="cancelled while queued")
                    return EXIT_INTERRUPTED if job.signalled else EXIT_DONE
                _state(run_dir, "running", waiting_for="", started=time.time(), message="loading")
                outcome = work(job)
            if outcome == "stopped":  # the work heard the stop and saved; its own last message stays
                _state(run_dir, "stopped", **job.final)
                return EXIT_INTERRUPTED if job.signalled else EXIT_DONE
            _state(run_dir, "done", **{"message": "done", **job.final})
            return EXIT_DONE
    except (Stopped, KeyboardInterrupt):
        cancel = lifecycle.cancel_requested(run_dir)
        _state(run_dir, "stopped", **{"message": "cancelled" if cancel else "stopped", **job.final})
        return EXIT_INTERRUPTED if job.signalled or not _asked(run_dir) else EXIT_DONE
    except StudioError as e:
        if not quiet_traceback:
            print(f"error: {e}", file=sys.stderr, flush=True)
        _state(run_dir, "failed", **{**job.final, "error": str(e)})
        return EXIT_FAILED
    except Exception as e:
        if type(e).__name__ == "OutOfMemoryError":
            if not quiet_traceback:
                print(f"out of memory: {e}", file=sys.stderr, flush=True)
            _state(run_dir, "failed", **{**job.final, "error": f"{oom_hint} ({e})" if oom_hint else
                   f"The model does not fit in memory on this device: {e}."})
            return EXIT_FAILED
        if quiet_traceback:
            with contextlib.suppress(OSError), open(run_dir / lifecycle.LOG, "a", encoding="utf-8") as log:
                traceback.print_exc(file=log)
        else:
            traceback.print_exc()
        _state(run_dir, "failed", **{**job.final, "error": f"{type(e).__name__}: {e}"})
        return EXIT_FAILED


def _asked(run_dir: Path) -> bool:
    """A stop request file is there (the Stop button), as opposed to a Ctrl-C at the terminal."""
    return lifecycle.stop_requested(run_dir)


def _chain_signal(job: Job, on_signal: Callable[[], None]) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    ours = signal.getsignal(signal.SIGTERM)

    def both(signum: int, frame: Any) -> None:
        first = not job.signalled
        ours(signum, frame)  # type: ignore[operator]
        if first:
            on_signal()

    signal.signal(signal.SIGTERM, both)
