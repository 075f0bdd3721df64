"""What the Compare page shows, decided here so the page only draws: which evaluations a comparison needs,
which of them are done (cached), running (to re-attach to) or missing, how long the missing ones take,
starting them as one request checked whole, and the stored results once they are there.

- `plan_comparison(models, data, split, limit, method, fmt, actor)`: the questions (selected by the
  worker's own `select_questions`) and one `Slot` per model, plus the same models scored with the options
  shuffled when the method is categorical (`Plan.shuffled`). `fmt=None` scores each model in the format
  it was trained in (Many models); the slot says which format it used.
- `start(plan, slots, actor)`: every check (data, each model, the visitor's budget for all of them) runs
  before any job starts, so a refused request starts nothing.
- `submit(request, actor)`: the one call that starts an evaluation job (to become core.jobs' `submit`).
- `outcome(plan)`: the stored results and summaries, the paired comparison and the report card.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core import access
from core.data.records import Question
from core.errors import StudioError
from core.evaluation import jobs
from core.evaluation.jobs import EvalRequest


@dataclass
class Slot:
    model: str
    request: EvalRequest
    key: str | None  # None while the model is not here yet (it cannot be identified)
    done: Path | None = None  # the job folder holding the result
    running: Path | None = None  # the same evaluation queued or running
    failed: str = ""  # why the newest attempt of it failed or stopped, while it is neither done nor running

    @property
    def fmt(self) -> str:
        return self.request.fmt


@dataclass
class Plan:
    questions: list[Question]
    method: str
    slots: list[Slot]  # one per model, in the order asked
    shuffled: list[Slot] = field(default_factory=list)  # the same models, options shuffled (categorical only)

    @property
    def n(self) -> int:
        return len(self.questions)

    @property
    def ready(self) -> bool:
        return all(s.done for s in self.slots)

    @property
    def missing(self) -> list[Slot]:
        return [s for s in self.slots if s.done is None and s.running is None]

    @property
    def running(self) -> list[Slot]:
        return [s for s in self.slots + self.shuffled if s.done is None and s.running is not None]

    @property
    def warning(self) -> str:
        """The method's own warning ('' for a sound one); for the plan's metric, what the prompt alone scores."""
        from core.evaluation.methods import get_method
        from core.evaluation.scoring import plan_prompt_only_accuracy

        text = get_method(self.method).warning
        if self.method == "plan" and self.questions:
            text += (f" On these questions the prompt alone, before any model writes a token, scores "
                     f"{100 * plan_prompt_only_accuracy(self.questions):.1f}%.")
        return text

    def seconds_left(self, slots: list[Slot] | None = None) -> float:
        """Rough seconds for the evaluations of `slots` (default: the models') still to run."""
        todo = [s for s in (self.slots if slots is None else slots) if s.done is None]
        return sum(jobs.time_estimate(self.n, s.request.method, 1) for s in todo)


def plan_comparison(models: list[str], data: str, split: str | None, limit: int | None, method: str,
                    fmt: str | None, actor: access.Actor | None = None) -> Plan:
    """The evaluations comparing `models` on the same questions need (see the module docstring). Bad data
    or a data source the visitor may not read raises StudioError."""
    from core.data.records import content_hash
    from core.data.sources import check_source
    from core.evaluation.capability import default_format
    from core.models.locations import local_model_folder

    check_source(data, actor)
    first = EvalRequest(model=models[0] if models else "", data=data, split=split, method=method,
                        fmt=fmt or default_format(models[0] if models else None), limit=limit)
    questions = jobs.select_questions(first)
    data_hash = content_hash(questions)
    identities = {}  # model -> its identity (the model folder's files hashed once per page run, not per slot)
    for m in dict.fromkeys(models):
        folder = local_model_folder(m)
        identities[m] = jobs.model_identity(folder) if folder is not None else None
    slots = [_slot(replace(first, model=m, fmt=fmt or default_format(m)), identities[m], data_hash) for m in models]
    shuffled = ([_slot(replace(s.request, method="shuffled"), identities[s.model], data_hash) for s in slots]
                if method == "categorical" else [])
    return Plan(questions, method, slots, shuffled)


def _slot(req: EvalRequest, identity: str | None, data_hash: str) -> Slot:
    key = jobs.cache_key(identity, data_hash, req) if identity is not None else None
    if key is None:
        return Slot(req.model, req, None)
    slot = Slot(req.model, req, key, done=jobs._lookup(key), running=jobs._find_active(key))
    if slot.done is None and slot.running is None:
        from core.home import area
        from core.jobs import runs

        ended = [j for j in runs.list_runs(area("evals")) if j.config.get("key") == key and j.status.terminal]
        if ended and (last := max(ended, key=lambda j: j.created)).status.state != "done":
            slot.failed = f"the last evaluation {last.status.state}: {last.status.error or last.status.message}"
    return slot


def submit(req: EvalRequest, actor: access.Actor | None = None, spend: bool = True) -> Path:
    """Start (or attach to) the evaluation job of `req`; its folder. The one place Compare starts work."""
    return jobs.start_eval(req, actor=actor, spend=spend).run_dir


def check(req: EvalRequest, actor: access.Actor | None = None) -> None:
    """Whether `actor` may start `req`, without starting anything."""
    from core.data.sources import check_source
    from core.models.locations import check_model_name, local_model_folder

    check_source(req.data, actor)
    check_model_name(req.model, actor)
    if req.device not in (None, "", "auto"):
        access.require(actor, "Choosing the device")
    if local_model_folder(req.model) is None:
        access.require(actor, f"Evaluating {req.model}, which is not downloaded yet,")


def start(slots: list[Slot], actor: access.Actor | None = None) -> list[Path]:
    """Start the evaluations of `slots` that are neither done nor running, as one request: every check
    first, then the visitor's budget for all of them at once, then the jobs. Refused: nothing started."""
    todo = [s for s in slots if s.done is None and s.running is None]
    for s in todo:
        check(s.request, actor)
    if todo:
        access.spend(actor, "evaluation", count=len(todo))
    return [submit(s.request, actor, spend=False) for s in todo]


def stop(slot: Slot, actor: access.Actor | None = None) -> None:
    from core.jobs import runs

    if slot.running is not None:
        runs.request_stop(slot.running, actor=actor)


def job_state(slot: Slot) -> tuple[str, float, str]:
    """(state, fraction done, message) of a slot's running job, read from its status file only."""
    from core.jobs import runs

    if slot.running is None:
        return ("missing", 0.0, "not evaluated yet")
    s = runs.read_status(slot.running)
    frac = min(1.0, max(0.0, s.step / s.total)) if s.total else 0.0
    message = s.error if s.state in ("failed", "crashed") else (s.message or s.state)
    return (s.state, frac, message)


def stored(slot: Slot) -> tuple[Any, dict[str, Any]]:
    """(EvalResult, the summary the worker stored) of a finished slot."""
    if slot.done is None:
        raise StudioError(f"{slot.model} has not been evaluated on these questions yet.")
    return jobs.load_results(slot.done)


def outcome(plan: Plan) -> dict[str, Any]:
    """For two models: both stored results and summaries, the paired comparison and the report card (with
    the options-shuffled results where they exist)."""
    from core.evaluation.report_card import report_card
    from core.evaluation.reports import compare

    (res_a, sum_a), (res_b, sum_b) = (stored(s) for s in plan.slots[:2])
    shuffled = {role: stored(s)[0] for role, s in zip(("base", "tuned"), plan.shuffled) if s.done}
    return {"results": (res_a, res_b), "summaries": (sum_a, sum_b), "compare": compare(res_a, res_b),
            "card": report_card(res_a, res_b, shuffled)}


def refusal(slots: list[Slot], actor: access.Actor | None = None) -> str:
    """Why `actor` may not start the evaluations of `slots` ('' when they may): shown on the disabled button."""
    try:
        for s in slots:
            if s.done is None and s.running is None:
                check(s.request, actor)
    except StudioError as e:
        return access.shown(str(e), actor)
    return ""


def leaderboard_rows(plan: Plan, board: dict[str, Any], label=str) -> list[dict[str, Any]]:
    """The Many models table: per model its accuracy, interval, the format it was scored in and the
    leaderboard's columns (a column with no question reads "–", never "None"); then chance, the
    always-most-common-letter line and the published rows."""
    from core.data.records import LEADERBOARD_COLUMNS

    def pct(x: float | None, digits: int = 1) -> str:
        return "–" if x is None else f"{100 * x:.{digits}f}"

    formats = {s.model: s.fmt for s in plan.slots}
    rows = []
    for m, s in board["models"].items():
        row = {"model": label(m), "format": formats.get(m, ""), "accuracy %": pct(s["accuracy"], 2),
               "95% CI": f"{pct(s['ci'][0])}–{pct(s['ci'][1])}"}
        row.update({c: pct(s["columns"][c]["accuracy"]) for c in LEADERBOARD_COLUMNS})
        rows.append(row)
    first = next(iter(board["models"].values()))
    blank = {"format": "", "95% CI": "", **{c: "" for c in LEADERBOARD_COLUMNS}}
    rows.append({**blank, "model": "chance (1 / choices)", "accuracy %": pct(board["chance"], 2)})
    if first.get("always_letter_accuracy") is not None:
        rows.append({**blank, "model": f"always ({first['always_letter']}), the most common right letter",
                     "accuracy %": pct(first["always_letter_accuracy"], 2)})
    rows += [{**blank, "model": f"published: {r['name']}", "accuracy %": pct(r["accuracy"], 2)}
             for r in board["reference"] or []]
    return rows


def flip_rows(plan: Plan, cmp: dict[str, Any], base: Any, tuned: Any) -> list[dict[str, Any]]:
    """The questions the fine-tune fixed (base wrong, fine-tuned right) and broke, with their skill."""
    from core.data.records import LETTERS

    by_pid = {q.pid: q for q in plan.questions}
    pa, pb = ({p.pid: p for p in r.predictions} for r in (base, tuned))

    def letter(p) -> str:
        return LETTERS[p.pred] if p.pred is not None else "–"

    return [{"pid": i, "change": kind, "skill": by_pid[i].skill, "gold": LETTERS[pa[i].gold], "base": letter(pa[i]),
             "fine-tuned": letter(pb[i]), "question": by_pid[i].question}
            for kind, ids in (("fixed", cmp["gained"]), ("broke", cmp["lost"])) for i in ids]


def many_defaults(names: list[str], base: str) -> list[str]:
    """Many models' first pick: the base model and the four newest runs offered."""
    return [n for n in dict.fromkeys([base, *[n for n in names if n.startswith("run:")][:4]]) if n in names]


def pair_format(base: str, tuned: str | None) -> str:
    """The format two models are compared in: the one the fine-tuned model was trained in, else the base's."""
    from core.evaluation.capability import default_format, trained_format

    return default_format(tuned) if tuned and trained_format(tuned) else default_format(base)


def data_sources(actor: access.Actor | None = None) -> list[str]:
    """The question sources Compare offers: the sample, saved subsets, and (trusted only) a local file."""
    from core.data.subsets import list_subsets

    return ["sample"] + [f"subset:{s.name}" for s in list_subsets()] + (["local…"] if access.who(actor).trusted else [])


def stored_report_card(tuned: str, base: str) -> dict[str, Any] | None:
    """The report card of `tuned` against `base` from evaluations already stored (the newest categorical
    evaluation of `tuned` whose questions and format `base` was also evaluated on; the options-shuffled
    ones where they exist), or None: what the published model card carries (core.evaluation.publish)."""
    from core.evaluation.report_card import report_card
    from core.home import area
    from core.jobs import runs

    found: dict[tuple[str, str, str, str], Path] = {}  # (model, method, fmt, data hash) -> newest job
    for job in runs.list_runs(area("evals")):  # newest first
        req = job.config.get("request") or {}
        if job.status.state != "done" or not isinstance(req, dict) or req.get("model") not in (tuned, base):
            continue
        try:
            data_hash = jobs.load_results(job.run_dir)[1]["data_hash"]
        except (StudioError, KeyError, TypeError, OSError):
            continue
        found.setdefault((req["model"], req.get("method", "categorical"), req.get("fmt", ""), data_hash), job.run_dir)
    for (model, method, fmt, data_hash), run_dir in found.items():
        other = found.get((base, "categorical", fmt, data_hash))
        if model != tuned or method != "categorical" or other is None:
            continue
        shuffled = {role: jobs.load_results(found[(m, "shuffled", fmt, data_hash)])[0]
                    for role, m in (("base", base), ("tuned", tuned)) if (m, "shuffled", fmt, data_hash) in found}
        try:
            return report_card(jobs.load_results(other)[0], jobs.load_results(run_dir)[0], shuffled)
        except StudioError:
            continue
    return None


def test_rows(tests: list[dict[str, Any]], label=str) -> list[dict[str, Any]]:
    """Many models' paired tests against the reference, as table rows."""
    return [{"model": label(t["b"]), "minus the reference (points)": round(100 * t["difference"], 1),
             "better / worse questions": f"{t['b_better']} / {t['a_better']}", "p": t["p"], "p (Holm)": t["p_holm"],
             "significant": t["significant"]} for t in tests]


def question_view(plan: Plan, results: tuple[Any, ...], pid: str) -> tuple[Question, list[tuple[list[float] | None, str]]]:
    """One question and, per model, its stored choice probabilities and what it answered ('B (right)')."""
    from core.data.records import LETTERS

    q = next(q for q in plan.questions if q.pid == pid)
    out = []
    for res in results:
        p = next((p for p in res.predictions if p.pid == pid), None)
        said = "nothing" if p is None or p.pred is None else f"{LETTERS[p.pred]} ({'right' if p.correct else 'wrong'})"
        out.append((p.probs if p is not None else None, said))
    return q, out
