"""`python -m core runs ...`: list, inspect, stop, resume and delete training runs (or eval jobs).

    python -m core runs list
    python -m core runs jobs                # every job of every kind, and who holds the device
    python -m core runs status RUN          # RUN: a name under <home>/runs, or a folder
    python -m core runs stop RUN [--cancel]
    python -m core runs resume RUN
    python -m core runs delete RUN
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("runs", help="list, inspect, stop, resume and delete runs")
    p.add_argument("--root", type=Path, default=None, help="job area (default: <home>/runs)")
    sub = p.add_subparsers(dest="runs_command", required=True)
    sub.add_parser("list", help="all runs, newest first").set_defaults(func=run_list)
    sub.add_parser("jobs", help="every job of every kind (training, evaluation, sweep, model), newest first, "
                                "and who holds the device").set_defaults(func=run_jobs)
    for name, func, text in [("status", run_status, "a run's status as JSON"),
                             ("stop", run_stop, "ask a run to stop (it saves a checkpoint)"),
                             ("resume", run_resume, "resume a stopped or crashed run from its last checkpoint"),
                             ("delete", run_delete, "delete a finished run's folder")]:
        sp = sub.add_parser(name, help=text)
        sp.add_argument("run")
        if name == "stop":
            sp.add_argument("--cancel", action="store_true", help="stop without saving a checkpoint")
        sp.set_defaults(func=func)


def _run_dir(a: argparse.Namespace) -> Path:
    from core.jobs.runs import resolve_run

    return resolve_run(a.run, a.root)


def run_list(a: argparse.Namespace) -> int:
    from core.home import area
    from core.jobs import runs
    from core.training.progress import format_duration, snapshot

    root = Path(a.root) if a.root else area("runs")
    if not root.is_dir():
        from core.errors import StudioError

        raise StudioError(f"--root {root} is not a folder." if root.exists() else f"--root {root} does not exist.")
    rows = runs.list_runs(root)
    if not rows:
        print("no runs")
    for r in rows:
        v = snapshot(r)
        best = v.best_eval_accuracy
        print(f"{r.name:24} {v.state:9} step {v.step:>6}/{v.total:<6} {format_duration(v.elapsed):>8} "
              f"{'' if best is None else f'best acc {best:.3f} '}{v.model} on {v.data}"
              + (f"  [{v.label}]" if v.label else "") + (f"  [damaged: {r.status.damaged}]" if r.status.damaged else ""))
    return 0


def run_jobs(a: argparse.Namespace) -> int:
    from core.jobs.device import device_holder, device_queue
    from core.jobs.kinds import list_jobs

    for row in list_jobs():
        st = row.status
        doing = f"waiting for {st.waiting_for}" if st.waiting_for and st.state == "queued" else (
            st.error if st.state in ("failed", "crashed") else st.message)
        print(f"{row.label:18} {row.name:28} {st.state:9} {doing}")
    holder, queue = device_holder(), device_queue()
    print("device: " + (f"in use by {holder.holder}" if holder else "free")
          + (f"; waiting: {', '.join(w.holder for w in queue)}" if queue else ""))
    return 0


def run_status(a: argparse.Namespace) -> int:
    from dataclasses import asdict

    from core.jobs import runs

    print(json.dumps(asdict(runs.read_status(_run_dir(a))), indent=2, default=str))
    return 0


def run_stop(a: argparse.Namespace) -> int:
    from core.jobs import runs

    d = _run_dir(a)
    runs.request_stop(d, cancel=a.cancel)
    for _ in range(300):
        st = runs.read_status(d)
        if st.terminal:
            print(f"{d.name}: {st.state}")
            return 0
        time.sleep(0.2)
    print(f"{d.name}: stop requested; the worker has not finished yet")
    return 0


def run_resume(a: argparse.Namespace) -> int:
    from core.training.jobs import resume_training

    d = _run_dir(a)
    pid = resume_training(d)
    print(f"resumed {d.name} (pid {pid})")
    return 0


def run_delete(a: argparse.Namespace) -> int:
    from core.jobs import runs

    d = _run_dir(a)
    runs.delete_run(d)
    print(f"deleted {d}")
    return 0
