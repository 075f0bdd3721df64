"""What the Train page and `python -m core runs list` say about a training run, computed once.

`snapshot(run)` reads a run's status and config into one `RunView` (label, state, step, progress,
elapsed, ETA, best evaluation), so the runs table, the live header and the charts show the same step
and the same duration. The duration is the worker's training time (`elapsed`, which a resumed run
carries over from its checkpoint), advanced by the time since the worker wrote it while it runs.

`eval_interval(...)` is the adaptive evaluation schedule: a short run still shows several evaluation
points; `eval_plan(...)` sizes the in-training evaluation to the run's length and the measured cost of a
question, so it never takes more than EVAL_SHARE of the time the run trains. `learning_note(steps)` says
when a run ended with fewer steps than it needs to learn. `run_colors(names)` gives each run one colour,
the same in every chart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from core.jobs.runs import RunInfo, Status

EVAL_POINTS = 6  # at least this many evaluations in a run whose length is known before it starts
EVAL_SHARE = 0.10  # in-training evaluation takes at most this share of the training time ...
EVAL_FLOOR_S = 10.0  # ... or this many seconds in all, whichever is more (a few seconds always fit)
MIN_EVAL_QUESTIONS = 16  # fewer, larger evaluations rather than many of a handful of questions
EVAL_COST = 0.7  # an evaluated question (two forward passes) costs about this share of a trained example
LEARNING_STEPS = 64  # optimizer steps a fine-tune needs to learn more than the letters: 40 steps of 8 moved no held-out
# figure of SmolLM2-135M (bench/recipe_screen.py), 64 (4 epochs of 128 questions) gained +6.8 points (README)
PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D",
           "#EECA3B", "#BAB0AC")


@dataclass(frozen=True)
class RunView:
    name: str  # the folder id
    label: str  # the name the user gave (may be empty)
    state: str
    step: int
    total: int  # 0 while unknown (a time budget before the first step)
    progress: float  # 0..1
    elapsed: float | None  # seconds of training so far (None before the worker starts)
    eta: float | None  # seconds left, while active
    model: str
    data: str
    recipe: str
    best_eval_loss: float | None
    best_eval_accuracy: float | None
    message: str
    error: str

    @property
    def title(self) -> str:
        """The label where one was given, with the folder id; else the folder id."""
        return f"{self.label} ({self.name})" if self.label else self.name

    def progress_text(self) -> str:
        total = f" of ~{self.total}" if self.total and self.state not in ("done",) else ""
        eta = f" · about {format_duration(self.eta)} left" if self.eta else ""
        return (f"step {self.step}{total} · {100 * self.progress:.0f}% · "
                f"trained for {format_duration(self.elapsed)}{eta}")


def elapsed(status: Status, now: float | None = None) -> float | None:
    """Training time: the worker's last `elapsed`, plus the time since it wrote it while it runs."""
    now = time.time() if now is None else now
    value = status.elapsed  # typed by core.jobs.lifecycle: a damaged value reads as None
    if value is None:
        return None if status.started is None or status.state == "queued" else status.duration
    value = float(value)
    written = status.elapsed_at
    if status.state in ("running", "stopping") and written is not None:
        value += max(0.0, now - float(written))
    return value


def snapshot(run: RunInfo, now: float | None = None) -> RunView:
    s, cfg = run.status, run.config
    frac = s.progress
    if frac is None:
        frac = s.step / s.total if s.total else 0.0
    if s.state == "done":
        frac = 1.0
    eta = s.eta if s.state in ("running", "stopping") else None
    if eta and s.elapsed_at is not None:  # counts down between the worker's writes instead of freezing
        eta = max(0.0, float(eta) - max(0.0, (time.time() if now is None else now) - float(s.elapsed_at)))
    recipe = cfg.get("recipe")
    return RunView(
        name=run.name, label=str(cfg.get("label") or ""), state=s.state, step=s.step, total=s.total,
        progress=min(1.0, max(0.0, float(frac))), elapsed=elapsed(s, now), eta=float(eta) if eta else None,
        model=str(cfg.get("model", "")), data=str(cfg.get("data", "")),
        recipe=str(recipe.get("name", "")) if isinstance(recipe, dict) else "",
        best_eval_loss=s.best_eval_loss, best_eval_accuracy=s.best_eval_accuracy, message=s.message, error=s.error)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    return f"{s // 3600}h {s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


def table_row(v: RunView) -> dict[str, Any]:
    """One row of the runs table (the same numbers as the live header)."""
    return {"run": v.title, "state": v.state, "step": v.step, "progress": v.progress,
            "trained for": format_duration(v.elapsed), "model": v.model, "data": v.data, "recipe": v.recipe,
            "best eval loss": v.best_eval_loss, "best eval acc": v.best_eval_accuracy}


def eval_interval(configured: int, max_steps: int | None) -> int:
    """Steps between evaluations: the recipe's, or fewer so a run of known length shows EVAL_POINTS."""
    if not max_steps:
        return configured
    return max(1, min(configured, max_steps // EVAL_POINTS))


def eval_period(budget_seconds: float | None) -> float | None:
    """For a time budget: evaluate at least every budget / EVAL_POINTS seconds (None: no time rule)."""
    return budget_seconds / EVAL_POINTS if budget_seconds else None


def eval_plan(train_seconds: float, question_seconds: float, wanted: int,
              points: int = EVAL_POINTS) -> tuple[int, int]:
    """(questions per evaluation, evaluations in the run) so that all of them take at most EVAL_SHARE of
    `train_seconds` (or EVAL_FLOOR_S): as many evaluations as fit with at least MIN_EVAL_QUESTIONS each,
    at most `points`, never more questions than `wanted` (the recipe's eval_examples)."""
    if wanted <= 0:
        return 0, 0
    allowed = max(EVAL_SHARE * train_seconds, EVAL_FLOOR_S)
    cost = max(question_seconds, 1e-6)
    least = min(wanted, MIN_EVAL_QUESTIONS)
    for n in range(points, 0, -1):
        k = min(wanted, int(allowed / n / cost))
        if k >= least:
            return k, n
    return max(1, min(wanted, int(allowed / cost))), 1


def learning_note(steps: int, needed: int = LEARNING_STEPS) -> str:
    """A plain sentence when a run made fewer optimizer steps than it needs to learn; else ''."""
    if steps >= needed:
        return ""
    return (f"Only {steps} optimizer step{'s' if steps != 1 else ''}: a run needs about {needed} to learn more than "
            "which answer letters are common. Give it more time (the estimate on the Train page says how long).")


def run_colors(names: list[str]) -> dict[str, str]:
    """One colour per run, by its place in the list (newest first), the same in every chart."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


# ---- the charts the Train page draws (add a chart here: the page draws every entry) -----------------------

# (metrics key, title, how its axis reads). "percent": 0..1 as a percentage; "mib": bytes shown in MiB.
CHARTS: list[tuple[str, str, str]] = [
    ("loss", "Training loss", ""), ("eval_loss", "Eval loss", ""), ("eval_accuracy", "Eval accuracy", "percent"),
    ("tokens_per_s", "Throughput (real tokens/s)", ""),  # learning rates: learning_charts, per group
    ("peak_memory", "Peak memory (MiB)", "mib")]
COMPARE_CHARTS = ("loss", "eval_loss", "eval_accuracy")  # the charts of the runs compared side by side


def chart_series(hist: list[dict], key: str) -> tuple[list, list]:
    """(steps, values) of one metric over a run's history (resume markers skipped; memory in MiB)."""
    pts = [(r["step"], r[key]) for r in hist if r.get(key) is not None and "resumed_from" not in r]
    if any(k == key and how == "mib" for k, _, how in CHARTS):
        pts = [(s, v / 2**20) for s, v in pts]
    return [p[0] for p in pts], [p[1] for p in pts]


def run_charts(hist: list[dict]) -> tuple[list[tuple[str, str, str, tuple[list, list]]], list[str]]:
    """The charts a run has points for, as (key, title, how, (x, y)), and the titles not measured yet."""
    drawn = [(k, title, how, chart_series(hist, k)) for k, title, how in CHARTS]
    return [c for c in drawn if c[3][0]], [c[1] for c in drawn if not c[3][0]]


def eval_every_of(config: dict) -> int | None:
    """The evaluation interval a run's config asks for (None when the config does not say)."""
    recipe = config.get("recipe")
    value = recipe.get("eval_every") if isinstance(recipe, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Chart:
    """One chart of a run's metrics: series by label, horizontal reference lines (y, label)."""
    key: str
    title: str
    series: dict[str, tuple[list, list]]
    lines: list[tuple[float, str]] = field(default_factory=list)
    percent: bool = False


def metric_series(hist: list[dict], key: str) -> tuple[list, list]:
    pts = [(r["step"], r[key]) for r in hist if isinstance(r.get(key), (int, float)) and "resumed_from" not in r]
    return [p[0] for p in pts], [p[1] for p in pts]


def learning_charts(hist: list[dict], status_extra: dict[str, Any]) -> list[Chart]:
    """The charts that tell learning from letter-guessing (core.training.letters), and each optimizer
    group's actual learning rate: the answer letter's loss (training and evaluation) against the guessing
    line and the letter-prior line of the run's questions; the share of the most common predicted letter
    against how often that letter is right."""
    charts = []
    answer = {label: xy for label, key in (("training", "answer_loss"), ("evaluation", "eval_answer_loss"))
              if (xy := metric_series(hist, key))[0]}
    if answer:
        guess, prior = status_extra.get("answer_guess_loss"), status_extra.get("answer_prior_loss")
        lines = [(float(guess), "guessing")] if isinstance(guess, (int, float)) else []
        if isinstance(prior, (int, float)) and (not lines or abs(prior - lines[0][0]) > 1e-6):
            lines.append((float(prior), "letter prior only"))
        charts.append(Chart("answer_loss", "Answer-letter loss", answer, lines))
    top = {label: xy for label, key in (("its answers", "eval_top_letter_share"),
                                        ("right answers", "eval_top_letter_gold_share"))
           if (xy := metric_series(hist, key))[0]}
    if top:
        charts.append(Chart("top_letter", "Most common answer letter's share", top, [(0.5, "half the answers")],
                            percent=True))
    keys = sorted({k for r in hist for k in r if k.startswith("lr:")})
    rates = {k[3:]: metric_series(hist, k) for k in keys} or {"lr": metric_series(hist, "lr")}
    if any(x for x, _ in rates.values()):
        charts.append(Chart("lr", "Learning rate (each optimizer group)", rates))
    return charts
