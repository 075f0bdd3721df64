"""Taking turns on one device in this process: a first-come, first-served line (`DeviceQueue`, one per
device, `device_queue`) whose waiters learn how many are ahead of them, and `device_turn`, which holds
both that line and the app's device lease (core.jobs.device, shared with training and evaluation jobs in
other processes).

    with device_turn(loaded.device, holder="Compare: one question, both models", wait=30):
        ...   # the device is this block's until it ends (StudioError naming the holder after 30 s of waiting)

The chat's batch loop (core.serving.batching) holds a turn while any row decodes; other in-process device
work (Compare's side-by-side scoring, core.evaluation.side_by_side) takes the same turn under its own name.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from core.errors import StudioError

WaitCallback = Callable[[int], None]


class DeviceQueue:
    """First come, first served: one holder at a time; waiters learn how many are ahead of them."""

    def __init__(self, max_waiting: int = 200):
        self._cond = threading.Condition()
        self._line: collections.deque[object] = collections.deque()
        self.max_waiting = max_waiting

    def __len__(self) -> int:
        with self._cond:
            return len(self._line)

    def enter(self, on_wait: WaitCallback | None = None, timeout: float = 300.0) -> object:
        """Wait for the device; returns a ticket to `leave` with. `on_wait(n_ahead)` when n changes."""
        ticket = object()
        with self._cond:
            if len(self._line) >= self.max_waiting:
                raise StudioError("The tutor is very busy right now; try again in a minute.")
            self._line.append(ticket)
        deadline, last = time.monotonic() + timeout, 0
        try:
            while True:
                with self._cond:
                    ahead = self._line.index(ticket)
                    if ahead and time.monotonic() < deadline:
                        self._cond.wait(0.25)
                        ahead = self._line.index(ticket)
                if ahead == 0:
                    if last and on_wait:
                        on_wait(0)
                    return ticket
                if time.monotonic() >= deadline:
                    raise StudioError(f"Waited {timeout:.0f} s for a turn and {ahead} are still ahead; "
                                      "try again in a minute.")
                if on_wait and ahead != last:
                    on_wait(ahead)  # outside the lock: the callback may draw on a page
                last = ahead
        except BaseException:
            self.leave(ticket)
            raise

    def leave(self, ticket: object) -> None:
        with self._cond:
            with contextlib.suppress(ValueError):
                self._line.remove(ticket)
            self._cond.notify_all()


_queues: dict[str, DeviceQueue] = {}
_queues_lock = threading.Lock()


def device_queue(device) -> DeviceQueue:
    """The process-wide queue of a device ('cpu', 'cuda:0', ...)."""
    key = str(device)
    with _queues_lock:
        return _queues.setdefault(key, DeviceQueue())


@contextlib.contextmanager
def device_turn(device, holder: str = "chat: the tutor", wait: float | None = None) -> Iterator[None]:
    """Hold the device while the batch decodes (or `holder` scores): the app's one device lease
    (core.jobs.device, across processes: a training or evaluation job and the chat take turns), and this
    process's DeviceQueue. Waiting longer than `wait` seconds raises StudioError naming who holds it (None:
    the lease is waited for as long as it takes, the batcher's way)."""
    from core.jobs.device import device_holder, device_lease

    limit = 3600.0 if wait is None else wait
    deadline = time.monotonic() + limit
    q = device_queue(device)
    try:
        ticket = q.enter(timeout=limit)
    except StudioError:
        busy = device_holder()  # the one ahead in this line may itself wait for a job's lease: name the job
        if busy is None:
            raise
        raise _busy(busy, holder, limit) from None
    try:
        with device_lease(holder=holder, should_stop=None if wait is None else lambda: time.monotonic() > deadline) as held:
            if not held:  # only with a `wait`
                raise _busy(device_holder(), holder, limit)
            yield
    finally:
        q.leave(ticket)


def _busy(lease, holder: str, waited: float) -> StudioError:
    """The one sentence a turn that waited too long gets, naming the lease's holder when there is one."""
    return StudioError(f"The device is busy{f' ({lease.holder})' if lease else ''}: "
                       f"{holder} waited {waited:.0f} s; try again when it is free.")
