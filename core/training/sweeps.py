"""Sweeps: a grid of training settings, each trained (per seed) and evaluated on the same held-out questions.

A sweep is a job folder under `<home>/sweeps/<name>/` (core.jobs.runs: config.json, status.json,
log.txt, stop/cancel requests) plus:

    questions.jsonl   the held-out questions every member is scored on, fixed when the sweep is made:
                      the source's test split if it has one, else the worker's own held-out slice (never
                      a training row); at most `eval_questions` of them, a seeded choice
    evals/<member>.json   each member's evaluation on those questions (core.evaluation.scoring result)

Its members are ordinary training runs under `<home>/runs/<sweep>-NN` (config `sweep` names the sweep),
so the Train, Compare and Tutor pages see them like any run. The driver (`python -m core.training.sweeps
SWEEP_DIR`, or `run_driver` in the foreground) trains them one after another (each waits for the device
slot like any job), evaluates each at its end, and ends `done`. A member that crashes or fails ends the
sweep `failed`; `resume_sweep` relaunches the driver, which resumes that member from its last checkpoint
and goes on; a member already done is never trained again. `stop_sweep` stops (or cancels) the current
member and the driver. `results(sweep_dir)` builds the table, the best setting and the paired tests.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from core import access
from core.errors import StudioError
from core.files import read_json, write_json_atomic, write_text_atomic
from core.home import area
from core.jobs import kinds, runner, runs
from core.training.recipes import RECIPES, Recipe, TrainConfig, get_recipe, suggested_format, suggested_recipe

QUESTIONS, EVALS = "questions.jsonl", "evals"
GRID_KEYS = ("format",) + tuple(f.name for f in fields(Recipe) if f.name not in ("name", "seed", "betas"))
MAX_MEMBERS = 64
POLL = 0.5


# ---------------------------------------------------------------------------------------------- grid

def _value(text: str) -> Any:
    """'3e-4' -> 0.0003, '16' -> 16, 'true' -> True, 'paper' -> 'paper'."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def parse_grid(items: list[str] | str) -> dict[str, list[Any]]:
    """['lr=1e-4,3e-4', 'format=paper,tutor'] -> {'lr': [1e-4, 3e-4], 'format': ['paper', 'tutor']}."""
    if isinstance(items, str):
        items = items.split()
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key or not values.strip():
            raise ValueError(f"a grid entry is SETTING=V1,V2,...; got {item!r}")
        if key == "seed":
            raise ValueError("seeds are not a grid setting: give --seeds 0,1")
        if key not in GRID_KEYS:
            raise ValueError(f"unknown grid setting {key!r}; one of: {', '.join(GRID_KEYS)}")
        if key in grid:
            raise ValueError(f"the grid names {key!r} twice")
        vals = [_value(v) for v in values.split(",") if v.strip()]
        if len(set(map(repr, vals))) != len(vals):
            raise ValueError(f"{key} lists a value twice")
        grid[key] = vals
    if not grid:
        raise ValueError("the grid is empty: give at least one SETTING=V1,V2")
    return grid


def lr_setting(recipe: str) -> str:
    """The recipe field that is its learning rate: Muon's matrix rate, else AdamW's."""
    return "matrix_lr" if RECIPES[recipe].optimizer == "muon" else "lr"


def grid_from_choices(formats: list[str], lr_field: str, rates: str, extra: str = "") -> dict[str, list[Any]]:
    """The grid of the Train page's sweep form: formats, a comma-separated list of learning rates, and
    more SETTING=V1,V2 lines. ValueError (naming what is wrong) when it is empty or bad."""
    lines = [f"format={','.join(formats)}"] if formats else []
    lines += [f"{lr_field}={rates.replace(' ', '')}"] if rates.strip() else []
    lines += [line.strip() for line in extra.splitlines() if line.strip()]
    return parse_grid(lines)


def settings(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid, in order (the first setting varies slowest)."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def label(setting: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in setting.items())


def member_config(spec: dict[str, Any], setting: dict[str, Any], seed: int, sweep_name: str) -> TrainConfig:
    """The training config of one member: the sweep's base, the setting and the seed (validated)."""
    over = {**(spec.get("set") or {}), **{k: v for k, v in setting.items() if k != "format"}}
    over["seed"] = seed
    if spec.get("epochs") is not None:
        over["epochs"] = spec["epochs"]
    recipe = get_recipe(spec["recipe"], **over)
    return TrainConfig(model=spec["model"], data=spec["data"], recipe=recipe,
                       format=setting.get("format", spec["format"]), minutes=spec.get("minutes"),
                       device=spec.get("device", "auto"), label=f"{sweep_name}: {label(setting)}, seed {seed}",
                       sweep=sweep_name, report_to=tuple(spec.get("report_to") or ()))


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


# --------------------------------------------------------------------------------------------- reading

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
    from core.data.sources import load_file

    return load_file(Path(sweep_dir) / QUESTIONS)


def member_eval(sweep_dir: Path, name: str):
    """A member's EvalResult on the sweep's questions, or None before it is evaluated."""
    from core.evaluation.scoring import EvalResult

    path = Path(sweep_dir) / EVALS / f"{name}.json"
    return EvalResult.from_dict(read_json(path)) if path.exists() else None


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


# --------------------------------------------------------------------------------------------- results

def _member_row(sweep_dir: Path, m: dict) -> dict[str, Any]:
    from core.evaluation.reports import wilson_interval
    from core.training.letters import top_letter
    from core.training.progress import elapsed

    run_dir = member_dir(m["name"])
    row: dict[str, Any] = {"member": m["name"], "setting": label(m["setting"]), "seed": m["seed"],
                           "state": "not started", "accuracy": None, "ci_low": None, "ci_high": None,
                           "eval_loss": None, "minutes": None, "tokens_per_s": None, "answer_loss": None,
                           "top_letter_share": None}
    if not run_dir.exists():
        return row
    st = runs.read_status(run_dir)
    row["state"] = st.state
    hist = runs.read_metrics(run_dir)
    losses = [r["eval_loss"] for r in hist if r.get("eval_loss") is not None]
    tps = [r["tokens_per_s"] for r in hist if r.get("tokens_per_s") is not None]
    row["eval_loss"] = losses[-1] if losses else None
    letters = [r["answer_loss"] for r in hist if r.get("answer_loss") is not None]
    tail = letters[-max(1, len(letters) // 5):]  # the last fifth of training: one batch's figure is noisy
    row["answer_loss"] = statistics.mean(tail) if tail else None
    row["tokens_per_s"] = statistics.median(tps) if tps else None
    seconds = elapsed(st)
    row["minutes"] = None if seconds is None else seconds / 60
    ev = member_eval(sweep_dir, m["name"])
    if ev is not None:
        lo, hi = wilson_interval(ev.correct, ev.n)
        row.update(accuracy=ev.accuracy, ci_low=lo, ci_high=hi, correct=ev.correct, n=ev.n)
        top = top_letter((p.pred for p in ev.predictions), (p.gold for p in ev.predictions))
        if top:
            row["top_letter"], row["top_letter_share"], row["top_letter_gold_share"] = top
    return row


def results(sweep_dir: Path, alpha: float = 0.05) -> dict[str, Any]:
    """The sweep's table (one row per member, one per setting), the best setting and the paired tests."""
    from core.evaluation.reports import pairwise_tests, per_question, wilson_interval

    sweep_dir = Path(sweep_dir)
    spec = read_spec(sweep_dir)
    rows = [_member_row(sweep_dir, m) for m in spec["members"]]
    by_setting: dict[str, list] = {}
    for m in spec["members"]:
        by_setting.setdefault(label(m["setting"]), []).append(m)
    setting_rows, scores = [], {}
    for name, ms in by_setting.items():
        mine = [r for r in rows if r["setting"] == name]
        evals = [e for e in (member_eval(sweep_dir, m["name"]) for m in ms) if e is not None]
        done = [r for r in mine if r["accuracy"] is not None]
        row = {"setting": name, "seeds": len(ms), "evaluated": len(done), "accuracy": None, "ci_low": None,
               "ci_high": None, "seed_accuracies": [r["accuracy"] for r in done]}
        if evals:
            k, n = sum(e.correct for e in evals), sum(e.n for e in evals)
            row["accuracy"] = k / n
            row["ci_low"], row["ci_high"] = wilson_interval(k, n)  # pooled over seeds' answers
            if len(evals) == len(ms):
                scores[name] = per_question(evals)
        for key in ("eval_loss", "minutes", "tokens_per_s", "answer_loss", "top_letter_share"):
            vals = [r[key] for r in mine if r[key] is not None]
            row[key] = statistics.mean(vals) if vals else None
        setting_rows.append(row)
    complete = [r for r in setting_rows if r["accuracy"] is not None and r["setting"] in scores]
    tests = pairwise_tests(scores, alpha=alpha) if len(scores) > 1 else []
    n_q = spec.get("eval", {}).get("n")
    chance = None
    if (sweep_dir / QUESTIONS).exists():
        qs = eval_questions(sweep_dir)
        chance = sum(1 / len(q.choices) for q in qs) / len(qs) if qs else None
    best, best_note = pick_best(complete, chance)
    return {"sweep": sweep_dir.name, "model": spec["model"], "data": spec["data"], "grid": spec["grid"],
            "seeds": spec["seeds"], "questions": n_q, "how": spec.get("eval", {}).get("how"), "chance": chance,
            "members": rows, "settings": setting_rows, "best": best, "best_note": best_note, "tests": tests,
            "alpha": alpha}


def pick_best(rows: list[dict[str, Any]], chance: float | None) -> tuple[str | None, str]:
    """The setting with the highest accuracy, or None with the reason: a tie at the top, or nothing above chance."""
    if not rows:
        return None, ""
    top = max(r["accuracy"] for r in rows)
    leaders = [r["setting"] for r in rows if r["accuracy"] == top]
    if chance is not None and top <= chance:
        return None, f"no setting scored above chance ({100 * chance:.1f}%)"
    if len(leaders) > 1:
        return None, f"{len(leaders)} settings tie at {100 * top:.1f}%"
    return leaders[0], ""


def settings_table(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The sweep's settings as table rows for people: accuracy and interval in percent, the best marked."""
    rows = []
    for r in res["settings"]:
        acc = r["accuracy"]
        rows.append({"": "★ best" if r["setting"] == res["best"] else "", "setting": r["setting"],
                     "accuracy %": None if acc is None else round(100 * acc, 1),
                     "95% CI": "–" if acc is None else f"{100 * r['ci_low']:.1f}–{100 * r['ci_high']:.1f}",
                     "runs scored": f"{r['evaluated']}/{r['seeds']}",
                     "eval loss": None if r["eval_loss"] is None else round(r["eval_loss"], 3),
                     "answer-letter loss": None if r.get("answer_loss") is None else round(r["answer_loss"], 3),
                     "top letter %": None if r.get("top_letter_share") is None else round(100 * r["top_letter_share"]),
                     "minutes": None if r["minutes"] is None else round(r["minutes"], 1),
                     "tokens/s": None if r["tokens_per_s"] is None else round(r["tokens_per_s"])})
    return rows


def tests_table(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The paired tests as table rows for people (differences in points)."""
    return [{"a": t["a"], "b": t["b"], "b - a (points)": round(100 * t["difference"], 1),
             "a better / b better": f"{t['a_better']} / {t['b_better']}", "p": t["p"], "p (Holm)": t["p_holm"],
             "significant": t["significant"]} for t in res["tests"]]


def to_csv(res: dict[str, Any]) -> str:
    """The per-member table as CSV."""
    import csv
    import io

    cols = ["member", "setting", "seed", "state", "accuracy", "ci_low", "ci_high", "eval_loss", "minutes",
            "tokens_per_s", "answer_loss", "top_letter", "top_letter_share"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for r in res["members"]:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in cols})
    return buf.getvalue()


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str) -> str:
    return "–" if x is None else format(x, fmt)


def to_markdown(res: dict[str, Any]) -> str:
    """A model-card section: the settings with accuracy and 95% CI, the best marked, the significant differences."""
    grid = "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in res["grid"].items())
    lines = [f"## Sweep {res['sweep']}", "",
             f"`{res['model']}` on `{res['data']}`; grid: {grid}; seeds: {', '.join(map(str, res['seeds']))}. "
             f"Every run is scored on the same {res['questions']} held-out questions ({res['how']}); "
             f"chance {_pct(res['chance'])}.", "",
             "| setting | accuracy (95% CI) | per seed | eval loss | answer-letter loss | top letter's share | minutes "
             "| tokens/s |", "|---|---|---|---|---|---|---|---|"]
    for r in res["settings"]:
        mark = " **(best)**" if r["setting"] == res["best"] else ""
        acc = (f"{_pct(r['accuracy'])} ({_pct(r['ci_low'])}–{_pct(r['ci_high'])})" if r["accuracy"] is not None
               else "–")
        seeds = ", ".join(_pct(a) for a in r["seed_accuracies"]) or "–"
        lines.append(f"| {r['setting']}{mark} | {acc} | {seeds} | {_num(r['eval_loss'], '.3f')} | "
                     f"{_num(r['answer_loss'], '.3f')} | {_pct(r['top_letter_share'])} | "
                     f"{_num(r['minutes'], '.1f')} | {_num(r['tokens_per_s'], ',.0f')} |")
    if res.get("best_note"):
        lines += ["", f"No best setting: {res['best_note']}."]
    if res["tests"]:
        sig = [t for t in res["tests"] if t["significant"]]
        n = len(res["tests"])
        lines += ["", f"Paired sign tests on the shared questions (McNemar for one seed), Holm-corrected over "
                      f"{n} comparison{'s' * (n != 1)} at {res['alpha']}: "
                  + ("; ".join(f"{t['b']} vs {t['a']}: {100 * t['difference']:+.1f} points (p = {t['p_holm']:.3g})"
                               for t in sig) if sig else "no difference is significant.")]
    return "\n".join(lines) + "\n"


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
