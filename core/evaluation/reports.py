"""Turn evaluation results into numbers a reader can trust: intervals, baselines, breakdowns, comparisons.

- `summarize(result)`: accuracy with a 95% Wilson interval and n, the chance baseline of the same
  questions and, beside it, the accuracy of always answering their most common right letter
  (`always_letter`, `always_letter_accuracy`), the leaderboard's columns (NAT SOC LAN TXT IMG NO G1-6 G7-12) and per topic, and the
  published reference rows when the data is the full official test split (4,241 questions).
- `compare(base, tuned)`: both accuracies, their paired difference with Newcombe's square-and-add
  interval, McNemar's test (exact binomial below 25 discordant pairs), and the flips.
- Exports: `to_json`, `to_csv` (one row per question), `to_markdown` (a model-card section).
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from core.data.records import LEADERBOARD_COLUMNS, LETTERS
from core.errors import StudioError
from core.evaluation.capability import degenerate_note
from core.evaluation.report_card import most_common_letter
from core.evaluation.scoring import EvalResult

Z95 = 1.959963984540054
OFFICIAL_TEST_SIZE = 4241
# Published accuracies on the official test split (Lu et al., 2022, Table 4 / the leaderboard).
REFERENCE_ROWS = [
    ("Random chance", 39.83),
    ("UnifiedQA-base (223M, fine-tuned, captions)", 70.12),
    ("GPT-3 CoT (QCM→ALE, 2-shot)", 75.17),
    ("Human average", 88.40),
]


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (95% by default)."""
    if n <= 0:
        return (0.0, 0.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar(b: int, c: int) -> tuple[float, str]:
    """Two-sided McNemar p-value for b and c discordant pairs: exact binomial when b + c < 25,
    otherwise the chi-square statistic with continuity correction. Returns (p, test name)."""
    n = b + c
    if n == 0:
        return 1.0, "exact"
    if n < 25:
        tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n
        return min(1.0, 2 * tail), "exact"
    stat = (abs(b - c) - 1) ** 2 / n
    return math.erfc(math.sqrt(stat / 2)), "chi2"  # survival function of chi-square with 1 dof


def paired_difference_interval(both: int, only_base: int, only_tuned: int, neither: int,
                               z: float = Z95) -> tuple[float, float]:
    """Newcombe's (1998) square-and-add interval for tuned accuracy minus base accuracy, paired data."""
    n = both + only_base + only_tuned + neither
    if n == 0:
        return (0.0, 0.0)
    p1, p2 = (both + only_base) / n, (both + only_tuned) / n  # base, tuned
    l1, u1 = wilson_interval(both + only_base, n, z)
    l2, u2 = wilson_interval(both + only_tuned, n, z)
    margins = (both + only_base) * (only_tuned + neither) * (both + only_tuned) * (only_base + neither)
    phi = 0.0
    if margins:
        a = both * neither - only_base * only_tuned
        phi = (a - n / 2) / math.sqrt(margins) if a > n / 2 else (a / math.sqrt(margins) if a < 0 else 0.0)
    d = p2 - p1
    lower = d - math.sqrt(max(0.0, (p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1)))
    upper = d + math.sqrt(max(0.0, (u2 - p2) ** 2 + (p1 - l1) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1)))
    return (max(-1.0, lower), min(1.0, upper))


def _cell(preds: list) -> dict[str, Any]:
    k, n = sum(p.correct for p in preds), len(preds)
    lo, hi = wilson_interval(k, n)
    return {"n": n, "correct": k, "accuracy": k / n if n else None, "ci": [lo, hi]}


def is_official_test(result: EvalResult, split: str | None = None) -> bool:
    """Whether the data is the whole official test split (so the published rows are comparable)."""
    return result.n == OFFICIAL_TEST_SIZE and (split or "test") == "test"


def summarize(result: EvalResult, split: str | None = None) -> dict[str, Any]:
    """The report of one evaluation (JSON-safe)."""
    preds = result.predictions
    overall = _cell(preds)
    columns = {col: _cell([p for p in preds if col in p.groups]) for col in LEADERBOARD_COLUMNS}
    topics = {t: _cell([p for p in preds if p.topic == t]) for t in sorted({p.topic for p in preds if p.topic})}
    letter, always = most_common_letter(preds)
    summary = {
        "model": result.model, "method": result.method, "format": result.fmt, "data_hash": result.data_hash,
        "valid": result.valid, "warning": result.warning, "seconds": result.seconds, **overall,
        "chance": sum(1 / p.n_choices for p in preds) / len(preds) if preds else None,
        "always_letter": letter, "always_letter_accuracy": always,
        "columns": columns, "topics": topics, "truncated": result.truncated,
        "prompt_only_accuracy": result.prompt_only_accuracy,
        "degenerate": degenerate_note(preds),
        "reference": [{"name": n, "accuracy": a / 100} for n, a in REFERENCE_ROWS]
        if is_official_test(result, split) else None,
    }
    if result.method == "generative":
        summary.update(format_failures=result.format_failures, fallback_accuracy=result.fallback_accuracy)
    return summary


def prediction_rows(result: EvalResult) -> list[dict[str, Any]]:
    """One flat row per question: prediction, correctness, choice probabilities."""
    rows = []
    for p in result.predictions:
        row = {"pid": p.pid, "gold": LETTERS[p.gold], "pred": LETTERS[p.pred] if p.pred is not None else "",
               "correct": p.correct, "n_choices": p.n_choices, "groups": " ".join(p.groups), "topic": p.topic}
        for i in range(p.n_choices):
            row[f"p_{LETTERS[i]}"] = round(p.probs[i], 6) if p.probs else ""
        if p.output is not None:
            row["output"] = p.output
        rows.append(row)
    return rows


def to_json(result: EvalResult, split: str | None = None) -> str:
    return json.dumps({"summary": summarize(result, split), "result": result.to_dict()}, indent=2,
                      ensure_ascii=False)


def to_csv(result: EvalResult) -> str:
    rows = prediction_rows(result)
    fields = ["pid", "gold", "pred", "correct", "n_choices", "groups", "topic"]
    fields += [f"p_{LETTERS[i]}" for i in range(max((p.n_choices for p in result.predictions), default=0))]
    if any("output" in r for r in rows):
        fields.append("output")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}"


def to_markdown(summary: dict[str, Any], title: str = "ScienceQA evaluation") -> str:
    """A model-card section: the headline number, its interval and baseline, the leaderboard columns."""
    lo, hi = summary["ci"]
    lines = [f"## {title}", ""]
    if not summary["valid"]:
        lines += [f"> **{summary['warning']}**", ""]
    if summary.get("prompt_only_accuracy") is not None:
        lines += [f"> The prompt text alone, before the model writes anything, scores "
                  f"{_pct(summary['prompt_only_accuracy'])}% under this metric.", ""]
    lines += [f"- Accuracy: **{_pct(summary['accuracy'])}%** (95% CI {_pct(lo)}–{_pct(hi)}, "
              f"n = {summary['n']}; {summary['method']} scoring, prompt format `{summary['format']}`)",
              f"- Chance on the same questions: {_pct(summary['chance'])}%"]
    if summary.get("always_letter_accuracy") is not None:
        lines.append(f"- Always answering ({summary['always_letter']}), their most common right letter: "
                     f"{_pct(summary['always_letter_accuracy'])}%")
    if summary.get("format_failures") is not None:
        lines.append(f"- Replies without a valid answer: {summary['format_failures']} "
                     f"(paper's accuracy with a random fallback: {_pct(summary['fallback_accuracy'])}%)")
    cols = summary["columns"]
    lines += ["", "| " + " | ".join(LEADERBOARD_COLUMNS) + " |", "|" + "---|" * len(LEADERBOARD_COLUMNS),
              "| " + " | ".join(_pct(cols[c]["accuracy"]) for c in LEADERBOARD_COLUMNS) + " |"]
    if summary.get("reference"):
        lines += ["", "Published results on the same 4,241 test questions:", "",
                  "| model | accuracy |", "|---|---|"]
        lines += [f"| {r['name']} | {_pct(r['accuracy'])} |" for r in summary["reference"]]
    return "\n".join(lines) + "\n"


def compare(base: EvalResult, tuned: EvalResult) -> dict[str, Any]:
    """Paired comparison on the same questions (matched by pid)."""
    a = {p.pid: p for p in base.predictions}
    b = {p.pid: p for p in tuned.predictions}
    if set(a) != set(b):
        raise StudioError(f"The two evaluations are not on the same questions ({len(a)} vs {len(b)}, "
                          f"{len(set(a) ^ set(b))} differ); evaluate both models on the same data.")
    pids = [p.pid for p in base.predictions]
    both = sum(a[i].correct and b[i].correct for i in pids)
    gained = [i for i in pids if not a[i].correct and b[i].correct]
    lost = [i for i in pids if a[i].correct and not b[i].correct]
    neither = len(pids) - both - len(gained) - len(lost)
    p_value, test = mcnemar(len(lost), len(gained))
    sa, sb = summarize(base), summarize(tuned)
    return {
        "n": len(pids), "base": sa, "tuned": sb,
        "difference": (sb["correct"] - sa["correct"]) / len(pids) if pids else 0.0,
        "difference_ci": list(paired_difference_interval(both, len(lost), len(gained), neither)),
        "mcnemar_p": p_value, "mcnemar_test": test,
        "table": {"both": both, "base_only": len(lost), "tuned_only": len(gained), "neither": neither},
        "gained": gained, "lost": lost,  # base wrong -> tuned right; base right -> tuned wrong
        "valid": base.valid and tuned.valid,
    }


# ------------------------------------------------------------------------------- plain language

def significance(p: float) -> str:
    """What a McNemar p-value means, in words a teacher reads without statistics."""
    if p < 0.001:
        return "a difference this large is very unlikely to be luck (p < 0.001)"
    if p < 0.01:
        return f"a difference this large is unlikely to be luck (p = {p:.3f})"
    if p < 0.05:
        return f"this is probably not luck, but more questions would make it sure (p = {p:.2f})"
    return f"a difference this small could be luck (p = {p:.2f}); more questions would tell"


def headline(cmp: dict[str, Any], base: str = "its base", tuned: str = "The fine-tuned model") -> str:
    """One sentence on what the comparison found, per 100 questions, with how sure it is."""
    n = cmp["n"]
    per100 = round(100 * cmp["difference"])
    if n == 0:
        return "No questions were compared."
    if per100 == 0:
        return f"{tuned} answers about as many questions correctly as {base}; {significance(cmp['mcnemar_p'])}."
    more = "more" if per100 > 0 else "fewer"
    return (f"{tuned} answers {abs(per100)} {more} question{'s' * (abs(per100) != 1)} out of 100 correctly than "
            f"{base}; {significance(cmp['mcnemar_p'])}.")


def model_warnings(result: EvalResult) -> list[str]:
    """Signs that a model is not really choosing: one answer position almost always (far more often than it
    is right), or no better than chance."""
    note = degenerate_note(result.predictions)
    out = [note] if note else []
    s = _cell(result.predictions)
    chance = sum(1 / p.n_choices for p in result.predictions) / len(result.predictions) if result.predictions else 0
    if s["n"] >= 10 and s["ci"][1] < chance:
        out.append(f"It scores below chance ({100 * chance:.0f}%).")
    elif s["n"] >= 10 and s["ci"][0] <= chance and not out:
        out.append(f"It is not clearly better than guessing (chance is {100 * chance:.0f}%).")
    return out


# ---- many models or settings on the same questions ---------------------------------------------------

def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order): family-wise error held at alpha over all tests."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def paired_sign_test(a: dict[str, float], b: dict[str, float]) -> dict[str, Any]:
    """Two scorings of the same questions, each a share correct per question (0/1 for one model, the mean
    over seeds for a setting): the sign test over the questions where they differ, which for 0/1 scores is
    McNemar's test. Returns the accuracy difference (b - a), the counts and the two-sided p-value."""
    if set(a) != set(b):
        raise StudioError(f"The two scorings are not on the same questions ({len(a)} vs {len(b)}, "
                          f"{len(set(a) ^ set(b))} differ).")
    n = len(a)
    a_better = sum(a[q] > b[q] for q in a)
    b_better = sum(b[q] > a[q] for q in a)
    p, test = mcnemar(a_better, b_better)
    diff = (sum(b.values()) - sum(a.values())) / n if n else 0.0
    return {"n": n, "difference": diff, "a_better": a_better, "b_better": b_better, "p": p, "test": test}


def pairwise_tests(scores: dict[str, dict[str, float]], reference: str | None = None,
                   alpha: float = 0.05) -> list[dict[str, Any]]:
    """Paired tests on the shared questions between named scorings ({name: {pid: share correct}}): every
    pair, or each one against `reference`; p-values Holm-corrected for the number of comparisons."""
    names = list(scores)
    if reference is not None and reference not in scores:
        raise StudioError(f"{reference!r} is not among the compared models.")
    pairs = ([(reference, n) for n in names if n != reference] if reference is not None
             else [(x, y) for i, x in enumerate(names) for y in names[i + 1:]])
    rows = [{"a": x, "b": y, **paired_sign_test(scores[x], scores[y])} for x, y in pairs]
    for row, adj in zip(rows, holm([r["p"] for r in rows])):
        row.update(p_holm=adj, significant=adj < alpha)
    return rows


def per_question(results: list[EvalResult]) -> dict[str, float]:
    """Share correct per question over several evaluations of the same questions (e.g. the seeds of a setting)."""
    if not results:
        return {}
    pids = [p.pid for p in results[0].predictions]
    got = [{p.pid: p.correct for p in r.predictions} for r in results]
    if any(set(g) != set(pids) for g in got):
        raise StudioError("The evaluations to pool are not on the same questions.")
    return {q: sum(g[q] for g in got) / len(got) for q in pids}


def leaderboard(results: dict[str, EvalResult], split: str | None = None) -> dict[str, Any]:
    """N models on the same questions: accuracy with its 95% interval per model and per leaderboard column,
    the chance baseline, the published rows when the data is the whole official test split."""
    if not results:
        raise StudioError("No evaluations to compare.")
    pid_sets = {name: {p.pid for p in r.predictions} for name, r in results.items()}
    first = next(iter(pid_sets.values()))
    if any(s != first for s in pid_sets.values()):
        raise StudioError("The models were not evaluated on the same questions; evaluate them all on the same data.")
    summaries = {name: summarize(r, split) for name, r in results.items()}
    any_summary = next(iter(summaries.values()))
    return {"n": any_summary["n"], "chance": any_summary["chance"], "reference": any_summary["reference"],
            "models": summaries}
