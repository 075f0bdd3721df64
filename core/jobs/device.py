"""The device lease: one thing at a time uses the accelerator (or the CPU's cores), across processes and threads.

Contract:

    with device_lease(holder="chat: Tutor page") as held:
        if held:            # False only when `should_stop()` said to give up while waiting
            ...generate or train...

- Exclusive: at most one lease is held at any moment on this app home, whoever asks (a background
  training or evaluation job, the sweep's members, the chat, Compare's side-by-side, the class link).
  It is an exclusive `flock` on `<home>/device.lock`, taken through a fresh open file each time, so two
  threads of one process exclude each other exactly as two processes do. The OS releases it when the
  holder dies: a crash never leaves the device taken.
- Waiting: a waiter polls every `poll` seconds (not strictly first come, first served), calls
  `on_wait(holder)` once when it starts waiting (the name of the current holder, "" if unknown) and gives
  up, yielding False, as soon as `should_stop()` is true.
- Visible: `device_holder()` is the current holder (or None) and `device_queue()` the waiters, oldest
  first, each a `Lease(holder, pid, since)`; a page shows both. Entries of dead processes are ignored.
- Holder names are words for people ("training 20261206-0456", "chat: Tutor page"), never paths.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.files import write_json_atomic
from core.home import home

_ids = itertools.count(1)
_ids_lock = threading.Lock()


@dataclass(frozen=True)
class Lease:
    holder: str  # who holds (or waits for) the device, in words
    pid: int
    since: float  # when it took the device (or started waiting)


def lock_path() -> Path:
    return home() / "device.lock"


def _holder_path() -> Path:
    return home() / "device.holder.json"


def _queue_dir() -> Path:
    return home() / "device.queue"


def _alive(pid: int) -> bool:
    from core.jobs.lifecycle import pid_alive

    return pid == os.getpid() or pid_alive(pid)


def _read(path: Path) -> Lease | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        lease = Lease(str(raw["holder"]), int(raw["pid"]), float(raw["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return lease if _alive(lease.pid) else None


def _try_lock(f) -> bool:
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def device_holder() -> Lease | None:
    """Who holds the device now; None when it is free."""
    with open(lock_path(), "a+") as f:
        if _try_lock(f):
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            return None
    return _read(_holder_path()) or Lease("another job", 0, 0.0)


def device_queue() -> list[Lease]:
    """Who waits for the device, oldest first."""
    try:
        entries = list(_queue_dir().iterdir())
    except OSError:
        return []
    waiting = [w for w in (_read(p) for p in entries if p.suffix == ".json") if w is not None]
    return sorted(waiting, key=lambda w: w.since)


@contextlib.contextmanager
def device_lease(holder: str, poll: float = 0.5, should_stop: Callable[[], bool] | None = None,
                 on_wait: Callable[[str], None] | None = None) -> Iterator[bool]:
    """Hold the device for the `with` block; see the module docstring for the contract."""
    home().mkdir(parents=True, exist_ok=True)
    f = open(lock_path(), "a+")
    ticket: Path | None = None
    try:
        if not _try_lock(f):
            with _ids_lock:
                n = next(_ids)
            _queue_dir().mkdir(exist_ok=True)
            ticket = _queue_dir() / f"{os.getpid()}-{n}.json"
            write_json_atomic(ticket, {"holder": holder, "pid": os.getpid(), "since": time.time()})
            if on_wait is not None:
                current = _read(_holder_path())
                on_wait(current.holder if current else "")
            while not _try_lock(f):
                if should_stop is not None and should_stop():
                    yield False
                    return
                time.sleep(poll)
            ticket.unlink(missing_ok=True)
            ticket = None
        write_json_atomic(_holder_path(), {"holder": holder, "pid": os.getpid(), "since": time.time()})
        try:
            yield True
        finally:
            with contextlib.suppress(FileNotFoundError):
                _holder_path().unlink()
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    finally:
        if ticket is not None:
            ticket.unlink(missing_ok=True)
        f.close()
