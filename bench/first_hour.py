"""Issue 24's figures, one script: a teacher's first hour on a busy machine.

While a second process keeps one core busy (`python -c 'while True: pass'`, started here, ended at the end):

(a) The Train page's DEFAULT run, built as the page builds it (train_ui.launch_form: the sample, a 5-minute
    budget, the model's suggested recipe and format, every recipe field at its default; `page_config`
    below), the page's estimate printed before launch (core.training.jobs.estimate: steps, whether it
    warns the budget is too short), started through core.jobs.kinds.submit. After the run, from the run's
    own records (status and metrics): steps reached, the share of the run (first step to saved model) spent
    on optimizer steps and on in-training evaluation, the optimizer steps' share of the budget, the most
    common answer letter's share. Then base and fine-tuned scored on the sample's test split as Compare
    does (core.evaluation.comparison: plan_comparison with Compare's first scoring method and the pair's
    format, start, outcome), with Compare's headline sentence and McNemar p.
(b) Stop to "stopped" inside an in-training evaluation: a default run is launched, and once its status says
    it is evaluating, a stop is requested as the Stop button does (core.jobs.runs.request_stop); the
    seconds until its state reads "stopped". Three times; median and max.

    python -m bench.first_hour --model smollm2-135m                 # (a) + (b): about 30 min on 2 busy cores
    python -m bench.first_hour --model tiny --minutes 0.5            # a quick check of the script (~3 min)
    python -m bench.first_hour --model smollm2-135m --stop-only      # (b) only

Results go to bench/out/first-hour-<model>.json (updated section by section: a --stop-only run keeps the
training figures already there). The app home is --home (default: $SQA_STUDIO_HOME, else
bench/out/first-hour-home): the preset is imported into it once, the tiny preset created there (size
small, the Models page's default) if absent, and Compare's evaluations of the base model are cached there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
BUSY = [sys.executable, "-c", "while True: pass"]
BUSY_TEXT = "python -c 'while True: pass'"
SPLIT = "test"


LAUNCHED: list[Path] = []  # run folders this script started: any still active at exit is cancelled


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------- setup
def prepare(model: str) -> float:
    """The model in the app home (the tiny preset created, a preset imported); seconds it took."""
    from core import access
    from core.models.obtain import ensure_preset, ensure_tiny
    from core.models.presets import PRESETS

    t = time.time()
    if model == "tiny":
        ensure_tiny(size="small", actor=access.LOCAL, progress=say)
    elif model in PRESETS:
        ensure_preset(model, progress=say)
    return time.time() - t


def page_config(model: str, minutes: float, label: str = ""):
    """The config the Train page's Launch builds with nothing changed but the model, the budget and the
    name (train_ui.launch_form and _advanced: each widget's default value)."""
    from core.training.recipes import RECIPES, build_config, suggested_format, suggested_recipe

    recipe = suggested_recipe(model)
    r = RECIPES[recipe]
    settings = dict(recipe=recipe, fmt=suggested_format(recipe, model), lr=r.lr, matrix_lr=r.matrix_lr,
                    batch_size=r.batch_size, grad_accum=r.grad_accum, max_seq_len=r.max_seq_len, seed=r.seed,
                    eval_every=r.eval_every, save_every=r.save_every, answer_weight=r.answer_weight,
                    shuffle_options=r.shuffle_options, lora=r.lora, grad_checkpointing=r.grad_checkpointing,
                    compile=r.compile, report_to=())
    return build_config(model, "sample", label=label, minutes=minutes, epochs=None, **settings)


def wait_until(run_dir: Path, done, timeout: float, every: float = 30.0, poll: float = 0.5):
    """Poll the run's status until done(status); a line every `every` seconds; the last status."""
    from core.jobs import runs

    start = last = time.time()
    while True:
        st = runs.read_status(run_dir)
        if done(st):
            return st
        if time.time() - start > timeout:
            raise SystemExit(f"{run_dir.name}: still {st.state} ({st.message}) after {timeout:.0f} s")
        if time.time() - last >= every:
            say(f"  {run_dir.name}: {st.state}, step {st.step}, {st.message}")
            last = time.time()
        time.sleep(poll)


def worker_threads(run_dir: Path) -> str:
    m = re.search(r"using (.+)", (run_dir / "log.txt").read_text(errors="replace"))
    return m.group(1).strip() if m else "?"


# ------------------------------------------------------------------------------------------- (a)
def train_figures(model: str, minutes: float, actor) -> dict[str, Any]:
    """Estimate, launch and wait for the page's default run; its figures from its own records."""
    from core import access
    from core.jobs import kinds, runs
    from core.training.jobs import estimate
    from core.training.progress import LEARNING_STEPS

    cfg = page_config(model, minutes, label=f"first hour {model} {minutes:g} min")
    with access.acting(actor):
        est = estimate(cfg)
    say(f"the page's estimate: {est.describe()}. {est.memory_note}")
    say(f"  warning before launch: {est.warning or '(none)'}")
    run_dir = kinds.submit(cfg, actor=actor).run_dir
    LAUNCHED.append(run_dir)
    say(f"launched {run_dir.name}: recipe {cfg.recipe.name}, format {cfg.format}, {minutes:g} min budget")
    t0 = time.time()
    st = wait_until(run_dir, lambda s: s.terminal, timeout=max(900.0, 4 * minutes * 60))
    wall = time.time() - t0
    if st.state != "done":
        print(runs.log_tail(run_dir, 40))
        raise SystemExit(f"the run ended {st.state}: {st.error or st.message}")
    hist = runs.read_metrics(run_dir)
    evals = [r for r in hist if "eval_accuracy" in r]
    last = evals[-1] if evals else {}
    elapsed = float(st.elapsed or 0.0)  # the page's "trained for": the final evaluation and saving not included
    train_s, eval_s, run_s = (st.extra.get(k) for k in ("train_seconds", "eval_seconds", "run_seconds"))
    budget = minutes * 60
    return {
        "run": run_dir.name, "label": cfg.label, "recipe": cfg.recipe.name, "format": cfg.format,
        "estimate": {"text": est.describe(), "steps": est.budget_steps, "step_seconds": est.step_seconds,
                     "measured_here": est.measured, "warning": est.warning, "warns": bool(est.warning)},
        "threads": worker_threads(run_dir), "wall_seconds": round(wall, 1), "budget_seconds": budget,
        "steps": st.step, "learning_steps_needed": LEARNING_STEPS, "run_warning": st.extra.get("warning") or "",
        "elapsed_seconds": round(elapsed, 1), "run_seconds": run_s, "train_seconds": train_s, "eval_seconds": eval_s,
        "train_share": round(train_s / run_s, 3) if train_s is not None and run_s else None,
        "eval_share": round(eval_s / run_s, 3) if eval_s is not None and run_s else None,
        "train_share_of_budget": round(train_s / budget, 3) if train_s is not None else None,  # issue 24's target: >= 85%
        "not_training_share": st.extra.get("eval_share"),  # the worker's own: 1 - steps' time / elapsed
        "evaluations": len(evals),
        "eval_accuracy_last": last.get("eval_accuracy"), "top_letter_last_eval": last.get("eval_top_letter"),
        "top_letter_share_last_eval": last.get("eval_top_letter_share"),
        "top_letter_gold_share_last_eval": last.get("eval_top_letter_gold_share"),
    }


def compare_figures(base: str, tuned: str, actor, timeout: float = 7200.0) -> dict[str, Any]:
    """Base and fine-tuned on the sample's test split as the Compare page does (Two models, its defaults)."""
    from core.evaluation import comparison as cmpn
    from core.evaluation.methods import offered
    from core.evaluation.reports import headline, significance
    from core.models.catalogue import display_name
    from core.training.letters import top_letter

    method = offered()[0].name  # the page's radio starts at the first method offered
    fmt = cmpn.pair_format(base, tuned)

    def plan():
        return cmpn.plan_comparison([base, tuned], "sample", SPLIT, None, method, fmt, actor)

    p = plan()
    say(f"Compare: {p.n} questions of the sample's {SPLIT} split, method {method}, format {fmt}; "
        f"{len(p.missing)} evaluation(s) to run (about {p.seconds_left() / 60:.0f} min, Compare's own estimate)")
    t0 = time.time()
    LAUNCHED.extend(cmpn.start(p.slots, actor))
    last = t0
    while not (p := plan()).ready:
        failed = [s for s in p.slots if s.failed and s.running is None and s.done is None]
        if failed:
            raise SystemExit("; ".join(f"{s.model}: {s.failed}" for s in failed))
        if time.time() - t0 > timeout:
            raise SystemExit(f"Compare's evaluations did not finish in {timeout:.0f} s")
        if time.time() - last >= 30:
            for s in p.running:
                state, frac, message = cmpn.job_state(s)
                say(f"  {display_name(s.model)}: {state} {100 * frac:.0f}% {message}")
            last = time.time()
        time.sleep(2)
    out = cmpn.outcome(p)
    cmp = out["compare"]
    (res_a, res_b), (sa, sb) = out["results"], out["summaries"]
    sentence = headline(cmp, base=f"its base ({display_name(base)})", tuned=f"The fine-tuned model ({display_name(tuned)})")

    def letters(res) -> dict[str, Any]:
        top = top_letter((x.pred for x in res.predictions), (x.gold for x in res.predictions))
        return dict(zip(("letter", "share", "gold_share"), top)) if top else {}

    return {"method": method, "format": fmt, "split": SPLIT, "n": cmp["n"], "seconds": round(time.time() - t0, 1),
            "base": {"model": base, "accuracy": sa["accuracy"], "ci": sa["ci"], "chance": sa.get("chance"),
                     "top_letter": letters(res_a)},
            "tuned": {"model": tuned, "accuracy": sb["accuracy"], "ci": sb["ci"], "top_letter": letters(res_b)},
            "difference": cmp["difference"], "difference_ci": cmp["difference_ci"], "mcnemar_p": cmp["mcnemar_p"],
            "gained": len(cmp["gained"]), "lost": len(cmp["lost"]), "verdict": significance(cmp["mcnemar_p"]),
            "significant_gain": cmp["difference"] > 0 and cmp["mcnemar_p"] < 0.05, "headline": sentence}


# ------------------------------------------------------------------------------------------- (b)
def stop_figures(model: str, minutes: float, reps: int, actor) -> dict[str, Any]:
    """Stop requested while the run evaluates; seconds until it reads stopped, `reps` times."""
    from core.jobs import kinds, runs

    trials = []
    for i in range(reps):
        cfg = page_config(model, minutes, label=f"first hour stop {i + 1}")
        run_dir = kinds.submit(cfg, actor=actor).run_dir
        LAUNCHED.append(run_dir)
        say(f"stop {i + 1}/{reps}: {run_dir.name} launched; waiting for an evaluation")
        st = wait_until(run_dir, lambda s: s.terminal or (s.state == "running" and s.message.startswith("evaluating")),
                        timeout=max(900.0, 4 * minutes * 60), poll=0.05)
        if st.terminal:
            say(f"  the run ended {st.state} before an evaluation was seen: no figure")
            trials.append({"run": run_dir.name, "seen_evaluating": False, "state": st.state})
            continue
        evaluations = sum("eval_loss" in r for r in runs.read_metrics(run_dir))
        t0 = time.monotonic()
        runs.request_stop(run_dir, actor=actor)  # what the Stop button calls
        st = wait_until(run_dir, lambda s: s.terminal, timeout=600.0, poll=0.05)
        seconds = time.monotonic() - t0
        abandoned = sum("eval_loss" in r for r in runs.read_metrics(run_dir)) == evaluations
        say(f"  stop requested at step {st.step} while evaluating: {st.state} after {seconds:.1f} s "
            f"({'evaluation abandoned' if abandoned else 'the evaluation finished first'})")
        trials.append({"run": run_dir.name, "seen_evaluating": True, "state": st.state, "step": st.step,
                       "seconds": round(seconds, 2), "evaluation_abandoned": abandoned})
    secs = [t["seconds"] for t in trials if t.get("state") == "stopped" and "seconds" in t]
    return {"minutes": minutes, "trials": trials, "stopped": len(secs),
            "median_seconds": round(statistics.median(secs), 2) if secs else None,
            "max_seconds": round(max(secs), 2) if secs else None}


# ------------------------------------------------------------------------------------------- report
def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def table(res: dict[str, Any]) -> str:
    rows = [f"first hour: {res['model']}, one core kept busy by {res['busy']}"]
    t = res.get("train")
    if t:
        e = t["estimate"]
        rows += [f"  estimate before launch   about {e['steps']} steps ({e['step_seconds']:.2f} s each, "
                 f"{'measured here' if e['measured_here'] else 'rough'}); warns too short: {'yes' if e['warns'] else 'no'}",
                 f"  steps reached            {t['steps']} in {t.get('run_seconds') or 0:.0f} s ({t['budget_seconds'] / 60:g}-min "
                 f"budget; worker {t['threads']}; {t.get('load', '')})",
                 f"  training / evaluating    {pct(t['train_share'])} / {pct(t['eval_share'])} of the run "
                 f"({t['evaluations']} evaluations); training {pct(t.get('train_share_of_budget'))} of the budget",
                 f"  most common letter       {t['top_letter_last_eval'] or '–'}: {pct(t['top_letter_share_last_eval'])} "
                 f"of the last in-training evaluation's answers (right {pct(t['top_letter_gold_share_last_eval'])})"]
        if t["run_warning"]:
            rows.append(f"  the run says             {t['run_warning']}")
    c = res.get("compare")
    if c:
        tl = c["tuned"]["top_letter"]
        rows += [f"  base / fine-tuned        {pct(c['base']['accuracy'])} / {pct(c['tuned']['accuracy'])} on {c['n']} "
                 f"{c['split']} questions (chance {pct(c['base']['chance'])}), McNemar p = {c['mcnemar_p']:.3g}, "
                 f"significant gain: {'yes' if c['significant_gain'] else 'no'}",
                 f"  fine-tuned's top letter  {tl.get('letter', '–')}: {pct(tl.get('share'))} of its answers "
                 f"(right {pct(tl.get('gold_share'))})",
                 f"  Compare says             {c['headline']}"]
    s = res.get("stop")
    if s:
        med = "–" if s["median_seconds"] is None else f"{s['median_seconds']:.1f} s"
        mx = "–" if s["max_seconds"] is None else f"{s['max_seconds']:.1f} s"
        rows.append(f"  stop to stopped          median {med}, max {mx} ({s['stopped']} of {len(s['trials'])} stops "
                    f"inside an evaluation; {s.get('load', '')})")
    return "\n".join(rows)


def cancel_leftovers(actor) -> None:
    """Cancel the jobs this script started that are still queued or running (an error or Ctrl-C)."""
    from core.jobs import runs

    for run_dir in LAUNCHED:
        if runs.read_status(run_dir).active:
            runs.request_stop(run_dir, cancel=True, actor=actor)
            say(f"cancelled {run_dir.name}, left running by an interrupted benchmark")


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m", help="the model to fine-tune: smollm2-135m, tiny, ...")
    ap.add_argument("--minutes", type=float, default=5.0, help="the budget (the Train page's default: 5)")
    ap.add_argument("--skip-compare", action="store_true", help="no Compare evaluation after the run")
    ap.add_argument("--stop-only", action="store_true", help="only (b): stop to stopped during an evaluation")
    ap.add_argument("--threads", type=int, default=None, help="torch threads of every worker (SQA_TORCH_THREADS, "
                                                               "OMP_NUM_THREADS); default: the worker measures them")
    ap.add_argument("--stops", type=int, default=3, help="repetitions of (b)")
    ap.add_argument("--stop-minutes", type=float, default=None,
                    help="the budget of (b)'s runs (default: the larger of --minutes and 20, so that an evaluation "
                         "falls inside the run: a 5-minute SmolLM2 run on a busy machine evaluates only at its end, "
                         "after its budget, where a stop ends it done)")
    ap.add_argument("--home", type=Path, default=None, help="app home (default: $SQA_STUDIO_HOME, else "
                                                             "bench/out/first-hour-home)")
    a = ap.parse_args(argv)
    home = a.home or Path(os.environ.get("SQA_STUDIO_HOME") or OUT / "first-hour-home")
    os.environ["SQA_STUDIO_HOME"] = str(home.resolve())  # the workers inherit it
    if a.threads:  # the training worker reads SQA_TORCH_THREADS, torch in the evaluation worker OMP_NUM_THREADS
        os.environ["SQA_TORCH_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(a.threads)
    from core import access
    from core.training.jobs import estimate  # noqa: F401 - registers the training kind with core.jobs.kinds

    actor = access.LOCAL
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"first-hour-{re.sub(r'[^A-Za-z0-9_.-]+', '-', a.model)}.json"
    try:
        res = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        res = {}
    say(f"app home {home}; preparing {a.model}")
    res.update(model=a.model, home=str(home), prepare_seconds=round(prepare(a.model), 1),
               busy=BUSY_TEXT)
    busy = subprocess.Popen(BUSY)
    say(f"a second process (pid {busy.pid}) keeps one core busy: {BUSY_TEXT}, until the end")
    try:
        time.sleep(2)
        res["load"] = load_text()
        if not a.stop_only:
            load = load_text()
            res["train"] = {**train_figures(a.model, a.minutes, actor), "load": load, "load_end": load_text()}
            res.pop("compare", None)  # the old comparison belongs to the old run
            if not a.skip_compare:
                res["compare"] = compare_figures(a.model, f"run:{res['train']['run']}", actor)
        load = load_text()
        stop_minutes = a.stop_minutes or max(a.minutes, 20.0)
        res["stop"] = {**stop_figures(a.model, stop_minutes, a.stops, actor), "load": load, "load_end": load_text()}
        res["when"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    finally:
        busy.kill()
        busy.wait()
        cancel_leftovers(actor)
    path.write_text(json.dumps(res, indent=2) + "\n")
    print(table(res))
    say(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
