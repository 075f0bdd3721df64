"""Is the tutor right? Held-out questions asked as a student would in the chat (the question and its options
typed as text), the reply's chosen option found by matching the option letters and texts, under three
conditions:

- `plain`: the chat as it was before grounding (the model's free reply, no lesson, no scoring);
- `off`: the tutor with grounding off (`chat --lessons off`): the answer picked by letter probabilities
  (core.evaluation.grounding), explained, or "not sure" below the calibrated threshold;
- `on`: the same with the best lessons retrieved for the question in the model's context.

On (a) the embedded sample's test split (lessons retrieved from its train and val rows) and (b) the real
rows of ../shared/scienceqa/original/ (lessons retrieved from the other rows only). Reported per condition:
right (with a 95% Wilson CI), wrong answers asserted, abstentions, replies that name two different
options as the answer, the share of low-confidence questions (the letter scoring's confidence below the
calibrated threshold) whose reply abstains, and the letter pick's own accuracy (before abstaining). The
issue's lines are printed per set (`target_lines`): right without and with the lessons, the difference
(McNemar's p on the same questions), self-contradictions, abstentions, and on the sample the target.
A fine-tuned run is asked in the format it was trained in (its manifest: a tutor-format run in `tutor`).

    nice -n 5 python -m bench.grounded_tutor_bench --model smollm2-135m --n 40 --threads 1
    SQA_STUDIO_HOME=<the run's home> python -m bench.grounded_tutor_bench --model run:RUN_ID --n 40

Writes bench/out/grounded-<model>.json. Greedy decoding (temperature 0) so runs repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from pathlib import Path

# The reply checks are core's (tests/test_answer_text.py); still importable from here.
from core.evaluation.answer_text import answers_named, chosen_option, contradicts  # noqa: F401

OUT = Path(__file__).resolve().parent / "out"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "scienceqa" / "original"


def pick_rows(questions, n: int, seed: int = 0):
    """Text-only rows (an image question only where its caption is given), a seeded sample of n."""
    rows = [q for q in questions if not q.has_image or q.caption.strip()]
    random.Random(seed).shuffle(rows)
    return rows[:n]


def typed(q) -> str:
    """The question as a student types it: the question, its hint (the context it needs), its options."""
    options = " ".join(f"({l}) {c}" for l, c in zip("ABCDEFGHIJ", q.choices))
    return f"{q.question} {q.hint.strip()}".strip() + f" {options}"


def ask(loaded, rows, index, exclude_self: bool, fmt: str, settings, calib_off, calib_on, say) -> list[dict]:
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT
    from core.evaluation.grounded_choice import K_LESSONS
    from core.evaluation.grounding import tutor_reply
    from core.serving.chat import build_messages, reply

    out = []
    for i, q in enumerate(rows):
        text = typed(q)
        rec = {"pid": q.pid, "gold": q.answer, "n_choices": len(q.choices)}
        plain = reply(loaded, build_messages(DEFAULT_SYSTEM_PROMPT, [], text), settings)
        rec["plain"] = {"reply": plain, "choice": chosen_option(plain, q.choices), "abstained": False,
                        "contradicts": contradicts(plain, q.choices)}
        lessons = index.retrieve(text, K_LESSONS, exclude={q.pid} if exclude_self else ())
        for name, found, calib in (("off", [], calib_off), ("on", lessons, calib_on)):
            turn = tutor_reply(loaded, DEFAULT_SYSTEM_PROMPT, [], text, settings, fmt=fmt, lessons=found, calib=calib)
            said = "".join(turn.deltas)
            pick = max(range(len(turn.probs)), key=turn.probs.__getitem__)
            rec[name] = {"reply": said, "choice": None if turn.abstained else chosen_option(said, q.choices),
                         "abstained": turn.abstained, "contradicts": contradicts(said, q.choices),
                         "pick": pick, "confidence": turn.confidence, "threshold": calib.threshold,
                         "lesson": turn.lesson_note(), "lesson_pids": [l.pid for l in turn.lessons]}
        rec["plain"]["confidence"], rec["plain"]["threshold"] = rec["off"]["confidence"], calib_off.threshold
        out.append(rec)
        if (i + 1) % 5 == 0:
            say(f"  {i + 1}/{len(rows)} asked")
    return out


def summarize(records: list[dict]) -> dict:
    from core.evaluation.reports import wilson_interval

    out = {}
    n = len(records)
    for cond in ("plain", "off", "on"):
        rs = [r[cond] | {"gold": r["gold"]} for r in records]
        right = sum(r["choice"] == r["gold"] for r in rs)
        wrong = sum(r["choice"] is not None and r["choice"] != r["gold"] for r in rs)
        low = [r for r in rs if r.get("confidence") is not None and r["confidence"] < r["threshold"]]
        lo, hi = wilson_interval(right, n)
        out[cond] = {
            "n": n, "right": right, "accuracy": right / n, "ci95": [lo, hi], "wrong_asserted": wrong,
            "no_answer_found": sum(r["choice"] is None and not r["abstained"] for r in rs),
            "abstained": sum(r["abstained"] for r in rs), "self_contradicting": sum(r["contradicts"] for r in rs),
            "low_confidence": len(low), "low_confidence_abstaining": sum(r["abstained"] for r in low),
        }
        if cond != "plain":
            out[cond]["pick_accuracy"] = sum(r["pick"] == r["gold"] for r in rs) / n
    out["chance"] = sum(1 / r["n_choices"] for r in records) / n
    out["with_minus_without"] = paired(records, "on", "off")
    out["with_minus_plain"] = paired(records, "on", "plain")
    return out


def paired(records: list[dict], a: str, b: str) -> dict:
    """Condition `a`'s accuracy minus `b`'s on the same questions, in points, with McNemar's p."""
    from core.evaluation.reports import mcnemar

    right = {c: [r[c]["choice"] == r["gold"] for r in records] for c in (a, b)}
    only_a = sum(x and not y for x, y in zip(right[a], right[b]))
    only_b = sum(y and not x for x, y in zip(right[a], right[b]))
    p, test = mcnemar(only_a, only_b)
    return {"points": 100 * (sum(right[a]) - sum(right[b])) / max(1, len(records)),
            "only_with": only_a, "only_without": only_b, "p": p, "test": test}


TARGET = {"right_with": 0.70, "gain_points": 15.0}  # the target on the sample, for the tutor-format run


def target_lines(name: str, s: dict) -> list[str]:
    """The issue's figure for one set, as lines a person reads: right (95% CI) without and with the
    lessons, the difference, self-contradicting replies and abstentions (and the target on the sample)."""
    def right(c: str) -> str:
        d = s[c]
        pick = f"; letter pick before abstaining {100 * d['pick_accuracy']:.1f}%" if "pick_accuracy" in d else ""
        return (f"{d['right']}/{d['n']} = {100 * d['accuracy']:.1f}% (95% CI {100 * d['ci95'][0]:.1f}-"
                f"{100 * d['ci95'][1]:.1f}){pick}")

    def diff(d: dict) -> str:
        return (f"{d['points']:+.1f} points (right only with: {d['only_with']}, only without: "
                f"{d['only_without']}; McNemar p {d['p']:.3g})")

    n = s["on"]["n"]
    lines = [f"== {name}: {n} questions (chance {100 * s['chance']:.1f}%)",
             f"  right WITHOUT lessons (tutor, --lessons off): {right('off')}",
             f"  right WITH lessons    (tutor, grounded):      {right('on')}",
             f"  difference, with minus without:              {diff(s['with_minus_without'])}",
             f"  plain chat before grounding (reference):      {right('plain')}; with lessons minus it: "
             f"{diff(s['with_minus_plain'])}",
             "  self-contradicting replies (two different options as the answer): "
             + ", ".join(f"{c} {s[c]['self_contradicting']}/{n}" for c in ("off", "on", "plain")),
             "  abstained ('not sure', the lesson shown): "
             + ", ".join(f"{c} {s[c]['abstained']}/{n}" for c in ("off", "on")),
             "  low-confidence replies that abstain: "
             + ", ".join(f"{c} {s[c]['low_confidence_abstaining']}/{s[c]['low_confidence']}" for c in ("off", "on", "plain")),
             "  wrong answers stated: " + ", ".join(f"{c} {s[c]['wrong_asserted']}" for c in ("off", "on", "plain"))]
    if name == "sample":
        met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
        gain = s["with_minus_without"]["points"]
        lines.append(f"  target (tutor-format run): >= 70% right with lessons: {met(s['on']['accuracy'] >= TARGET['right_with'])}; "
                     f">= +15 points over without: {met(gain >= TARGET['gain_points'])}; no self-contradicting "
                     f"reply: {met(s['on']['self_contradicting'] == 0)}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n", type=int, default=40, help="questions per set")
    ap.add_argument("--sets", default="sample,real", help="sample and/or real")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calibration-n", type=int, default=None, help="held-out questions (default: the app's)")
    a = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(a.threads)
    from core import access
    from core.data.lessons import LessonIndex
    from core.data.sources import load_source
    from core.evaluation.capability import default_format
    from core.evaluation.tutor_calibration import calibrate, held_out
    from core.models.obtain import resolve_model
    from core.serving.chat import ChatSettings, get_model

    access.act_as_local()
    say = lambda m: print(m, flush=True)
    loaded = get_model(resolve_model(a.model, progress=say))
    fmt = default_format(a.model)
    settings = ChatSettings(temperature=0.0, max_new_tokens=a.max_new_tokens, repetition_penalty=1.1)
    started = time.time()
    val = held_out(a.calibration_n) if a.calibration_n else held_out()
    calib_off = calibrate(loaded, fmt, False, val, say)
    calib_on = calibrate(loaded, fmt, True, val, say)
    say(f"calibration ({len(val)} sample val questions, {time.time() - started:.0f} s): off {calib_off}, on {calib_on}")
    result = {"model": a.model, "format": fmt, "n": a.n, "max_new_tokens": a.max_new_tokens, "threads": a.threads,
              "load_before": os.getloadavg(), "calibration": {"off": calib_off.__dict__, "on": calib_on.__dict__},
              "sets": {}}
    for name in a.sets.split(","):
        t = time.time()
        if name == "sample":
            pool = load_source("sample")
            rows = pick_rows([q for q in pool if q.split == "test"], a.n)
            index, exclude_self = LessonIndex.from_questions([q for q in pool if q.split != "test"]), False
        else:
            pool = load_source(str(SHARED))
            rows = pick_rows([q for q in pool if q.lecture.strip() or q.solution.strip()], a.n)
            index, exclude_self = LessonIndex.from_questions(pool), True
        say(f"{name}: {len(rows)} questions, lessons from {len(index)} rows")
        records = ask(loaded, rows, index, exclude_self, fmt, settings, calib_off, calib_on, say)
        result["sets"][name] = {"summary": summarize(records), "seconds": round(time.time() - t), "records": records}
        say("\n".join(target_lines(name, result["sets"][name]["summary"])))
    result["load_after"] = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"grounded-{re.sub(r'[^A-Za-z0-9._-]+', '_', a.model)}.json"
    path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    say(f"model {a.model} (format {fmt}); calibration: lessons off {calib_off.threshold:.2f} threshold, "
        f"debias {calib_off.debias}; lessons on {calib_on.threshold:.2f}, debias {calib_on.debias}")
    for name, found in result["sets"].items():
        say("\n".join(target_lines(name, found["summary"])))
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
