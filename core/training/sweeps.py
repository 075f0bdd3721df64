"""Sweeps: a grid of training settings, each trained (per seed) and evaluated on the same held-out questions.

This module creates a sweep, launches and stops it, and is its driver. The grid is core.training.sweep_grid,
the folder's layout and reading it back core.training.sweep_folder, what it found (the table, the best
setting, the paired tests) core.training.sweep_results.

A sweep's members are ordinary training runs under `<home>/runs/<sweep>-NN` (config `sweep` names the sweep),
so the Train, Compare and Tutor pages see them like any run. The driver (`python -m core.training.sweeps
SWEEP_DIR`, or `run_driver` in the foreground) trains them one after another (each waits for the device
slot like any job), evaluates each at its end, and ends `done`. A member that crashes or fails ends the
sweep `failed`; `resume_sweep` relaunches the driver, which resumes that member from its last checkpoint
and goes on; a member already done is never trained again. `stop_sweep` stops (or cancels) the current
member and the driver.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from core import access
from core.errors import StudioError
from core.files import write_json_atomic, write_text_atomic
from core.home import area
from core.jobs import kinds, runner, runs
from core.training.recipes import TrainConfig, suggested_format, suggested_recipe
from core.training.sweep_folder import EVALS, QUESTIONS, member_dir, member_eval, read_spec
from core.training.sweep_grid import label, member_config, settings
from core.training.sweep_results import results

MAX_MEMBERS = 64
POLL = 0.5


# ------------------------------------------------------------------------------------------ creating

def held_out_questions(data: str, limit: int | None, seed: int = 0) -> tuple[list, str]:
    """The questions a sweep scores every member on: never a training row."""
    from core.data.sources import load_source
    from core.training.setup import split_questions

    questions = load_source(data)
    if any(q.split == "test" for q in questions):
        pool, how = [q for q in questions if q.split == "test"], "the source's test split"
    else:
        _, pool, how = split_questions(questions, TrainConfig(model="x", data=data).val_fraction)
        how = f"the held-out slice the worker never trains on ({how})"
    if not pool:
        raise StudioError(f"{data} has no held-out questions to evaluate a sweep on.")
    if limit and len(pool) > limit:
        pool = sorted(pool, key=lambda q: q.pid)
        random.Random(seed).shuffle(pool)
        pool, how = pool[:limit], f"{limit} of the {len(pool)} in {how}, chosen with seed {seed}"
    return pool, how


def create_sweep(model: str, data: str, grid: dict[str, list[Any]], seeds: list[int] | None = None,
                 minutes: float | None = None, epochs: float | None = None, recipe: str | None = None,
                 fmt: str | None = None, eval_questions: int | None = 500, name: str | None = None,
                 report_to: tuple[str, ...] = (), device: str = "auto", fixed: dict[str, Any] | None = None,
                 root: Path | None = None, actor: access.Actor | None = None) -> Path:
    """Validate every member's config, fix the evaluation questions and write the sweep folder.
    `fixed`: recipe settings every member shares (e.g. {'save_every': 50}); the grid's own win."""
    from core.training.jobs import validate_launch

    access.require(actor, "Training a sweep")

    if minutes is not None and epochs is not None:
        raise ValueError("give --minutes or --epochs, not both")
    seeds = list(dict.fromkeys(seeds if seeds else [0]))
    recipe = recipe or suggested_recipe(model)
    spec: dict[str, Any] = {"kind": "sweep", "model": model, "data": data, "recipe": recipe,
                            "format": fmt or suggested_format(recipe, model), "minutes": minutes, "epochs": epochs,
                            "grid": grid, "seeds": seeds, "report_to": list(report_to), "device": device,
                            "set": dict(fixed or {})}
    combos = settings(grid)
    if len(combos) * len(seeds) > MAX_MEMBERS:
        raise ValueError(f"{len(combos)} settings x {len(seeds)} seeds is {len(combos) * len(seeds)} runs; "
                         f"a sweep holds at most {MAX_MEMBERS}")
    configs = [member_config(spec, s, seed, "check") for s in combos for seed in seeds]  # refuses bad values now
    validate_launch(configs[0])
    questions, how = held_out_questions(data, eval_questions)
    base = name or time.strftime("sweep-%Y%m%d-%H%M%S")
    sweep_dir = runs.create_run(root or area("sweeps"), {**spec, "members": []}, base)
    members = [{"name": f"{sweep_dir.name}-{i + 1:02d}", "setting": s, "seed": seed}
               for i, (s, seed) in enumerate((s, seed) for s in combos for seed in seeds)]
    write_text_atomic(sweep_dir / QUESTIONS, "".join(json.dumps(q.to_dict()) + "\n" for q in questions))
    cfg = {**runs.read_config(sweep_dir), "members": members,
           "eval": {"questions": QUESTIONS, "n": len(questions), "how": how, "method": "categorical"}}
    write_json_atomic(sweep_dir / runs.CONFIG, cfg)
    return sweep_dir


@dataclass
class SweepRequest:
    """A sweep to create and start (the arguments of `create_sweep`)."""

    model: str
    data: str
    grid: dict[str, list[Any]]
    seeds: list[int] | None = None
    minutes: float | None = None
    epochs: float | None = None
    recipe: str | None = None
    fmt: str | None = None
    eval_questions: int | None = 500
    report_to: tuple[str, ...] = ()
    device: str = "auto"
    fixed: dict[str, Any] | None = None


def _submit(req: SweepRequest, name: str | None, actor: access.Actor | None) -> kinds.Submitted:
    sweep_dir = create_sweep(**{f.name: getattr(req, f.name) for f in fields(req)}, name=name, actor=actor)
    start_sweep(sweep_dir, actor=actor)
    return kinds.Submitted(sweep_dir, "sweep")


kinds.register("sweep", SweepRequest, _submit)


def driver_argv(sweep_dir: Path, resume: bool = False) -> list[str]:
    return runner.module_argv("core.training.sweeps", sweep_dir, *(["--resume"] if resume else []))


def start_sweep(sweep_dir: Path, actor: access.Actor | None = None) -> int:
    """Launch the driver in the background; returns its pid."""
    access.require(actor, "Training a sweep")
    return runner.launch(sweep_dir, driver_argv(sweep_dir))


def resume_sweep(sweep_dir: Path, actor: access.Actor | None = None) -> int:
    """Relaunch a stopped, failed or crashed sweep: done members stay, the interrupted one resumes."""
    access.require(actor, "Resuming a sweep")
    st = runs.read_status(sweep_dir)
    if st.active:
        raise StudioError(f"{Path(sweep_dir).name} is still {st.state}; stop it before resuming.")
    if st.state == "done":
        raise StudioError(f"{Path(sweep_dir).name} has finished.")
    return runner.launch(sweep_dir, driver_argv(sweep_dir, resume=True))


def stop_sweep(sweep_dir: Path, cancel: bool = False, actor: access.Actor | None = None) -> None:
    """Stop the whole sweep: the member training now (with a checkpoint, or none when cancelling) and the driver."""
    sweep_dir = Path(sweep_dir)
    runs.request_stop(sweep_dir, cancel=cancel, actor=actor)
    for m in read_spec(sweep_dir)["members"]:
        d = member_dir(m["name"])
        if d.exists() and runs.read_status(d).active:
            runs.request_stop(d, cancel=cancel, actor=actor)


# ---------------------------------------------------------------------------------------------- driver

class _Halt(Exception):
    def __init__(self, state: str, message: str, error: str = ""):
        super().__init__(message)
        self.state, self.message, self.error = state, message, error


def run_driver(sweep_dir: Path, resume: bool = False, echo=print) -> str:
    """Train and evaluate every member in order, as a job of its own (core.jobs.runner writes its states;
    the members lease the device, the driver does not); returns the sweep's final state."""
    sweep_dir = Path(sweep_dir)
    spec = read_spec(sweep_dir)
    members = spec["members"]

    def work(job: runner.Job) -> str | None:
        job.report(started=runs.read_status(sweep_dir).started or time.time(), total=len(members), error="",
                   ended=None, message="starting")
        try:
            for i, m in enumerate(members):
                _member(sweep_dir, spec, i, m, resume, echo)
        except _Halt as h:
            echo(f"sweep {h.state}: {h.message or h.error}")
            if h.state == "failed":
                raise StudioError(h.error) from None
            job.final["message"] = h.message
            return "stopped"
        res = results(sweep_dir)
        runs.write_results(sweep_dir, res)
        job.final.update(step=len(members), best=res["best"])
        echo(f"sweep done; best: {res['best']}")
        return None

    runner.run(sweep_dir, work, device=False, message="starting")
    return runs.read_status(sweep_dir).state


def _check_stop(sweep_dir: Path) -> None:
    if runs.stop_requested(sweep_dir):
        cancel = runs.cancel_requested(sweep_dir)
        raise _Halt("stopped", "cancelled" if cancel else "stopped; resume to continue")


def _member(sweep_dir: Path, spec: dict, i: int, m: dict, resume: bool, echo) -> None:
    from core.training.jobs import resume_training, worker_argv

    name, n = m["name"], len(spec["members"])
    where = f"member {i + 1}/{n} ({name}: {label(m['setting'])}, seed {m['seed']})"
    run_dir = member_dir(name)
    if member_eval(sweep_dir, name) is not None:
        return
    _check_stop(sweep_dir)
    st = runs.read_status(run_dir) if run_dir.exists() else None
    if st is not None and st.state == "queued" and not st.pid and not runs.launched(run_dir):
        runner.launch(run_dir, worker_argv(run_dir))  # created, never launched (the driver died between)
        st = runs.read_status(run_dir)
    if st is None:
        cfg = member_config(spec, m["setting"], m["seed"], sweep_dir.name)
        run_dir = runs.create_run(area("runs"), cfg.to_dict(), name)
        runs.write_status(sweep_dir, step=i, message=f"{where}: training", current=name)
        echo(f"{where}: training")
        runner.launch(run_dir, worker_argv(run_dir))
    elif st.active:
        runs.write_status(sweep_dir, step=i, message=f"{where}: training", current=name)
    elif st.state != "done":
        if not resume:
            raise _Halt("failed", "", f"{where} is {st.state}: {st.error or 'stopped'}. "
                                      "Resume the sweep to continue it from its last checkpoint.")
        runs.write_status(sweep_dir, step=i, message=f"{where}: resuming", current=name)
        echo(f"{where}: resuming from its last checkpoint")
        resume_training(run_dir)
    st = _wait(run_dir, sweep_dir, where)
    if st.state != "done":
        if runs.stop_requested(sweep_dir):
            _check_stop(sweep_dir)
        raise _Halt("failed", "", f"{where} ended {st.state}: {st.error or st.extra.get('message', '')}. "
                                  "Resume the sweep to continue it from its last checkpoint.")
    runs.write_status(sweep_dir, step=i, message=f"{where}: evaluating on {spec['eval']['n']} questions")
    echo(f"{where}: evaluating on the sweep's {spec['eval']['n']} questions")
    _evaluate(sweep_dir, spec, name, run_dir)
    runs.write_status(sweep_dir, step=i + 1, message=f"{where}: done")


def _wait(run_dir: Path, sweep_dir: Path, where: str = "member") -> runs.Status:
    """Until the member's run ends; its steps drawn as a progress bar (core.progress: a line every few
    seconds in the driver's log, a bar on a terminal)."""
    from core.progress import Bar

    forwarded = False
    with Bar(f"{where}: training", unit="step") as bar:
        while True:
            st = runs.read_status(run_dir)
            if st.total:
                bar.set(st.step, st.total)
            if st.terminal:
                return st
            if not forwarded and runs.stop_requested(sweep_dir):  # the driver was asked directly (SIGTERM path)
                runs.request_stop(run_dir, cancel=runs.cancel_requested(sweep_dir))
                forwarded = True
            time.sleep(POLL)


def _evaluate(sweep_dir: Path, spec: dict, name: str, run_dir: Path) -> None:
    from core.evaluation.jobs import EvalRequest, load_results, run_eval

    cfg = runs.read_config(run_dir)
    req = EvalRequest(model=f"run:{name}", data=str(sweep_dir / QUESTIONS), fmt=cfg["format"],
                      method=spec["eval"]["method"], device=None if spec.get("device", "auto") == "auto"
                      else spec["device"])
    job_dir, _ = run_eval(req)
    result, _ = load_results(job_dir)
    write_json_atomic(sweep_dir / EVALS / f"{name}.json", result.to_dict())


# ------------------------------------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.training.sweeps", description="Sweep driver for one sweep folder")
    ap.add_argument("sweep_dir", type=Path)
    ap.add_argument("--resume", action="store_true", help="resume interrupted members from their checkpoints")
    a = ap.parse_args(argv)
    from core.progress import library_bars

    library_bars()  # log.txt is not a terminal: no transformers weight-loading bars drawn into the sweep's log
    # The runner turns a polite kill into a stop request: the driver forwards it to the member training now.
    state = run_driver(a.sweep_dir, a.resume, echo=lambda s: print(f"[{time.strftime('%H:%M:%S')}] {s}", flush=True))
    return 0 if state in ("done", "stopped") else 1


if __name__ == "__main__":
    sys.exit(main())
