"""What a sweep found: one row per member and one per setting (accuracy with its Wilson interval, pooled
over seeds; losses, minutes, speed, the most-chosen letter), the best setting (none on a tie or at chance),
the paired tests between settings (Holm-corrected), and the same as tables, CSV and a model-card section.

    res = results(sweep_dir)        # read from the sweep folder (core.training.sweep_folder) as it stands
    print(to_markdown(res))
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from core.jobs import runs
from core.training.sweep_folder import QUESTIONS, eval_questions, member_dir, member_eval, read_spec
from core.training.sweep_grid import label


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
