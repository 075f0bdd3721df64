"""The report card a teacher reads on Compare: what the fine-tune changed, by subject, grade band, topic
and skill, each against what guessing would get on the same questions.

`report_card(base, tuned, shuffled)` takes the two evaluations of the same questions (and, when they
exist, the same two models scored with the options shuffled, core.evaluation.method_shuffled) and gives:
- `overall`: base and fine-tuned accuracy, chance (mean 1 / choices) and "always the most common letter"
  (the share of these questions whose right answer is the letter most often right among them).
- `dimensions`: the same per subject, grade band, topic and skill, with the questions the fine-tune
  fixed (base wrong, fine-tuned right) and broke (base right, fine-tuned wrong). These rows count only
  the questions a model can answer from the text; `image_unseen` counts separately the questions whose
  answer needs an image the model sees no useful caption of (core.evaluation.scoring.image_unseen).
- `letters`: the share of each answer letter among each model's answers, beside the right answers' own.
- `shuffled`: each model's accuracy with the options in another fixed order (None: not measured).
Exports: `to_csv(card)` and `to_markdown(card)` (a model-card section).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from core.data.records import LETTERS
from core.errors import StudioError
from core.evaluation.scoring import EvalResult, Prediction

DIMENSIONS = ("subject", "grade band", "topic", "skill")
SUBJECTS = {"NAT": "natural science", "SOC": "social science", "LAN": "language science"}


def most_common_letter(preds: list[Prediction]) -> tuple[str, float | None]:
    """(letter, accuracy of always answering it): the letter most often right on these questions (the first
    in A-Z order on a tie) and the share of them it is right for."""
    if not preds:
        return "", None
    counts = Counter(p.gold for p in preds)
    best = min(counts, key=lambda g: (-counts[g], g))
    return LETTERS[best], counts[best] / len(preds)


def chance(preds: list[Prediction]) -> float | None:
    return sum(1 / p.n_choices for p in preds) / len(preds) if preds else None


def _group(p: Prediction, dimension: str) -> str:
    if dimension == "subject":
        return p.subject or next((SUBJECTS[g] for g in p.groups if g in SUBJECTS), "(unknown)")
    if dimension == "grade band":
        return next((g for g in p.groups if g in ("G1-6", "G7-12")), "(unknown)")
    return (p.topic if dimension == "topic" else p.skill) or "(unknown)"


def _row(group: str, pids: list[str], base: dict[str, Prediction], tuned: dict[str, Prediction]) -> dict[str, Any]:
    preds = [base[i] for i in pids]
    n = len(pids)
    letter, always = most_common_letter(preds)
    return {"group": group, "n": n,
            "base": sum(base[i].correct for i in pids) / n if n else None,
            "tuned": sum(tuned[i].correct for i in pids) / n if n else None,
            "chance": chance(preds), "always_letter": always, "letter": letter,
            "fixed": sum(tuned[i].correct and not base[i].correct for i in pids),
            "broke": sum(base[i].correct and not tuned[i].correct for i in pids)}


def letter_shares(preds: list[Prediction], gold: bool = False) -> dict[str, float]:
    """Share of each letter among the answers given (or the right answers, gold=True); A.. up to the widest."""
    letters = [p.gold if gold else p.pred for p in preds]
    letters = [x for x in letters if x is not None]
    width = max((p.n_choices for p in preds), default=0)
    counts = Counter(letters)
    return {LETTERS[i]: counts[i] / len(letters) if letters else 0.0 for i in range(width)}


def report_card(base: EvalResult, tuned: EvalResult,
                shuffled: dict[str, EvalResult | None] | None = None) -> dict[str, Any]:
    """The report card of `tuned` against `base` on the same questions (see the module docstring)."""
    a = {p.pid: p for p in base.predictions}
    b = {p.pid: p for p in tuned.predictions}
    if set(a) != set(b) or not a:
        raise StudioError("The report card needs both models evaluated on the same questions.")
    pids = [p.pid for p in base.predictions]
    seen = [i for i in pids if not a[i].image_unseen]
    unseen = [i for i in pids if a[i].image_unseen]
    dims = {}
    for dim in DIMENSIONS:
        groups: dict[str, list[str]] = {}
        for i in seen:
            groups.setdefault(_group(a[i], dim), []).append(i)
        dims[dim] = sorted((_row(g, ids, a, b) for g, ids in groups.items()), key=lambda r: (-r["n"], r["group"]))
    shuffled = shuffled or {}
    shuffled_acc = {}
    for role, res in (("base", shuffled.get("base")), ("tuned", shuffled.get("tuned"))):
        ok = res is not None and {p.pid for p in res.predictions} == set(pids)
        shuffled_acc[role] = res.accuracy if ok else None
    return {
        "n": len(pids), "n_seen": len(seen), "base_model": base.model, "tuned_model": tuned.model,
        "overall": _row("all questions", pids, a, b),
        "image_unseen": _row("answer needs an image the model cannot see", unseen, a, b),
        "dimensions": dims,
        "letters": {"right answers": letter_shares(base.predictions, gold=True),
                    "base": letter_shares(base.predictions), "tuned": letter_shares(tuned.predictions)},
        "shuffled": shuffled_acc,
    }


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


CSV_FIELDS = ["dimension", "group", "questions", "base %", "fine-tuned %", "chance %", "always-letter %",
              "letter", "fixed", "broke"]


def table_rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every accuracy row of the card, flat (what the CSV and the page's table show)."""
    rows = []

    def add(dimension: str, r: dict[str, Any]) -> None:
        rows.append({"dimension": dimension, "group": r["group"], "questions": r["n"], "base %": _pct(r["base"]),
                     "fine-tuned %": _pct(r["tuned"]), "chance %": _pct(r["chance"]),
                     "always-letter %": _pct(r["always_letter"]), "letter": r["letter"], "fixed": r["fixed"],
                     "broke": r["broke"]})

    add("overall", card["overall"])
    if card["image_unseen"]["n"]:
        add("image not seen", card["image_unseen"])
    for dim, group_rows in card["dimensions"].items():
        for r in group_rows:
            add(dim, r)
    return rows


def to_csv(card: dict[str, Any]) -> str:
    """The accuracy rows, then the options-shuffled accuracies and the answer letters' shares."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, restval="")
    writer.writeheader()
    writer.writerows(table_rows(card))
    writer.writerow({"dimension": "options shuffled", "group": "all questions", "questions": card["n"],
                     "base %": _pct(card["shuffled"]["base"]), "fine-tuned %": _pct(card["shuffled"]["tuned"])})
    for letter, share in card["letters"]["right answers"].items():
        writer.writerow({"dimension": "answer letter share", "group": letter,
                         "base %": _pct(card["letters"]["base"].get(letter)),
                         "fine-tuned %": _pct(card["letters"]["tuned"].get(letter)), "always-letter %": "",
                         "chance %": "", "letter": f"right answers {_pct(share)}%"})
    return buf.getvalue()


def shuffled_sentence(card: dict[str, Any]) -> str:
    """What the options-shuffled accuracies say, or that they were not measured."""
    s, o = card["shuffled"], card["overall"]
    if s["base"] is None or s["tuned"] is None:
        return "Not measured with the options shuffled yet."
    drop = o["tuned"] - s["tuned"]
    verdict = ("it drops by more than 5 points: part of its score comes from which letter is usually right, "
               "not from the science" if drop > 0.05 else "it holds: it reads the options, not the letter order")
    return (f"With the options shuffled: base {_pct(s['base'])}%, fine-tuned {_pct(s['tuned'])}% "
            f"(in the official order {_pct(o['base'])}% and {_pct(o['tuned'])}%); for the fine-tuned model {verdict}.")


def to_markdown(card: dict[str, Any], title: str = "Report card (ScienceQA)") -> str:
    """A model-card section: the overall line against both baselines, the shuffled check, the letters,
    and the subject, grade band, topic and skill tables."""
    o, u = card["overall"], card["image_unseen"]
    lines = [f"## {title}", "",
             f"On {card['n']} questions: fine-tuned **{_pct(o['tuned'])}%**, base {_pct(o['base'])}%, chance "
             f"{_pct(o['chance'])}%, always answering ({o['letter']}) {_pct(o['always_letter'])}%; the fine-tune "
             f"fixed {o['fixed']} and broke {o['broke']}.", "", shuffled_sentence(card), ""]
    if u["n"]:
        lines += [f"{u['n']} questions need an image the model cannot see (no useful caption): base "
                  f"{_pct(u['base'])}%, fine-tuned {_pct(u['tuned'])}%, chance {_pct(u['chance'])}%. They are left "
                  "out of the tables below.", ""]
    letters = card["letters"]
    lines += ["| answers | " + " | ".join(letters["right answers"]) + " |",
              "|---|" + "---|" * len(letters["right answers"])]
    for name, key in (("right answers", "right answers"), ("base", "base"), ("fine-tuned", "tuned")):
        lines.append(f"| {name} | " + " | ".join(f"{_pct(letters[key].get(x))}%" for x in letters["right answers"])
                     + " |")
    for dim, group_rows in card["dimensions"].items():
        lines += ["", f"### By {dim}", "", f"| {dim} | n | base % | fine-tuned % | chance % | always-letter % | "
                  "fixed | broke |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['group']} | {r['n']} | {_pct(r['base'])} | {_pct(r['tuned'])} | {_pct(r['chance'])} | "
                  f"{_pct(r['always_letter'])} ({r['letter']}) | {r['fixed']} | {r['broke']} |" for r in group_rows]
    return "\n".join(lines) + "\n"
