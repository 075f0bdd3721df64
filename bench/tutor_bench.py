"""Does the tutor teach? A base model and two fine-tunes of it on the same rows for the same minutes, one in
the `tutor` format and one letters only (`paper`, QCM->A), asked the same things:

- open questions (assets/open_questions/open_questions.jsonl: 48 questions written for this project,
  grades 1-12, three subjects, no options), each with the grade in the system prompt: the share of
  replies that are not a bare "The answer is X." and run at least 12 words, and the share that end
  cleanly (the end-of-turn token, no 4-gram repeated 3 times);
- multiple-choice questions (held out): categorical accuracy with its 95% CI, and generative format
  compliance (the reply's "The answer is X." parses).

Generation uses the chat's own path (core.serving.chat.stream_reply) with the family's sampling defaults
(core.serving.chat.sampling_defaults), or the settings given; `--sweep` compares sampling settings on the
tutor model's open replies instead (how the defaults were chosen).

    # SmolLM2-135M-Instruct: two 10-minute fine-tunes (cpu-pretrained recipe), then the figures
    python -m bench.tutor_bench --base smollm2-135m --train-minutes 10 --mc-limit 100
    # the tiny preset from scratch (recipe tiny), 5 minutes each
    python -m bench.tutor_bench --base tiny --train-minutes 5 --mc-limit 200
    # reuse trained runs; sampling sweep
    python -m bench.tutor_bench --base smollm2-135m --tutor RUN_DIR --letters RUN_DIR --sweep

Models, run folders and results-<models>.json go under bench/out/tutor-<name>/. `--models tutor --letters RUN`
retrains and asks the tutor model only (after a change to the tutor format).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections import Counter
from pathlib import Path

from core.jobs.runs import model_dir as run_model

OUT = Path(__file__).resolve().parent / "out"
OPEN_QUESTIONS = Path(__file__).resolve().parent.parent / "assets" / "open_questions" / "open_questions.jsonl"
BARE = re.compile(r"^\s*(The answer is\s*)?\(?[A-E]\)?\.?\s*$")
MIN_WORDS = 12


def load_open_questions() -> list[dict]:
    return [json.loads(line) for line in OPEN_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def looped(text: str, n: int = 4, times: int = 3) -> bool:
    """A repetition loop: some word n-gram occurs `times` times or more."""
    words = text.lower().split()
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    return bool(grams) and max(grams.values()) >= times


def teaches(text: str) -> bool:
    """Not a bare "The answer is X." and at least MIN_WORDS words."""
    return not BARE.match(text) and len(text.split()) >= MIN_WORDS


def ask_open(loaded, questions: list[dict], settings) -> list[dict]:
    """Each open question asked in a fresh chat (grade in the system prompt); reply, end reason, figures."""
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT, with_grade
    from core.serving.chat import ReplyStats, build_messages, stream_reply

    rows = []
    for q in questions:
        stats = ReplyStats()
        text = "".join(stream_reply(loaded, build_messages(with_grade(DEFAULT_SYSTEM_PROMPT, q["grade"]), [],
                                                           q["question"]), settings, stats=stats)).strip()
        rows.append({"id": q["id"], "question": q["question"], "reply": text, "stopped": stats.stopped,
                     "teaches": teaches(text), "clean": stats.stopped == "eos" and not looped(text)})
    return rows


def shared_openings(replies: list[str], words: int = 4, others: int = 3) -> float:
    """The share of replies that open with the same `words` words as at least `others` other replies: a
    tutor that answers unrelated questions with one memorised lecture scores high here."""
    starts = Counter(" ".join(r.lower().split()[:words]) for r in replies)
    return sum(starts[" ".join(r.lower().split()[:words])] > others for r in replies) / max(1, len(replies))


def multiple_choice(loaded, questions, fmt: str) -> dict:
    """Categorical accuracy (95% CI) and generative format compliance in `fmt`."""
    from core.evaluation.reports import wilson_interval
    from core.evaluation.scoring import EvalSettings, evaluate

    cat = evaluate(loaded, questions, fmt, "categorical", batch_size=16)
    gen = evaluate(loaded, questions, fmt, "generative", settings=EvalSettings(max_new_tokens=12, batch_size=8))
    return {"accuracy": cat.accuracy, "ci": wilson_interval(cat.correct, len(cat.predictions)), "n": len(questions),
            "compliance": 1 - gen.format_failures / len(questions), "generative_accuracy": gen.accuracy}


def train(base: str, fmt: str, minutes: float, data: str, out: Path, eval_examples: int) -> Path:
    """Fine-tune `base` in `fmt` with the real worker for `minutes`; its suggested recipe; the run folder.
    In-training evaluation is kept small (`eval_examples`): a short run evaluates several times, and the
    minutes belong to training here."""
    from core.jobs import runs
    from core.training.recipes import TrainConfig, get_recipe, suggested_recipe
    from core.training.worker import run_worker

    recipe = suggested_recipe(base)
    cfg = TrainConfig(model=base, data=data, recipe=get_recipe(recipe, seed=0, eval_examples=eval_examples), format=fmt, minutes=minutes,
                      device="cpu")
    run_dir = runs.create_run(out / "runs", cfg.to_dict(), name=f"{time.strftime('%Y%m%d-%H%M%S')}-{fmt}")
    rc = run_worker(run_dir)
    st = runs.read_status(run_dir)
    print(f"{fmt}: recipe {recipe}, {minutes} min: {st.state}, {st.step} steps, rc {rc} {st.error}", flush=True)
    if st.state != "done":
        print(runs.log_tail(run_dir))
        raise SystemExit(1)
    return run_dir


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.tutor_bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the base model: smollm2-135m, tiny, a folder")
    ap.add_argument("--tutor", default=None, help="a trained tutor-format run (folder) instead of training one")
    ap.add_argument("--letters", default=None, help="a trained letters-only run (folder) instead of training one")
    ap.add_argument("--train-minutes", type=float, default=10.0, help="budget of each fine-tune")
    ap.add_argument("--data", default="sample", help="training rows (default: the sample's train split)")
    ap.add_argument("--eval-examples", type=int, default=20, help="in-training evaluation questions")
    ap.add_argument("--mc-data", default="sample", help="multiple-choice questions (default: the sample's test split)")
    ap.add_argument("--mc-split", default="test", help="the split to ask from; '' for every row (a file without splits)")
    ap.add_argument("--mc-limit", type=int, default=100)
    ap.add_argument("--open-limit", type=int, default=48)
    ap.add_argument("--max-new-tokens", type=int, default=None, help="default: the family's sampling default")
    ap.add_argument("--models", default="base,letters only,tutor",
                    help="which models to ask (comma-separated): base, letters only, tutor")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sweep", action="store_true", help="compare sampling settings on the tutor model instead")
    a = ap.parse_args(argv)

    import torch

    torch.set_num_threads(a.threads)
    name = Path(a.base).name if os.sep in a.base else a.base
    out = OUT / f"tutor-{name}"
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SQA_STUDIO_HOME", str(out / "home"))
    from core.data.sources import load_source
    from core.models.loading import load_model
    from core.models.manifest import read_manifest
    from core.models.obtain import resolve_model
    from core.serving.chat import sampling_defaults

    base_dir = resolve_model(a.base)
    mc = load_source(a.mc_data, a.mc_split or None)[: a.mc_limit]  # before training: a bad source fails fast
    runs_ = {"tutor": Path(a.tutor) if a.tutor else None, "letters": Path(a.letters) if a.letters else None}
    wanted = [m.strip() for m in a.models.split(",") if m.strip()]
    for label, fmt in (("tutor", "tutor"), ("letters", "paper")):
        if runs_[label] is None and (a.sweep and label == "tutor" or {"tutor": "tutor", "letters": "letters only"}[label] in wanted):
            runs_[label] = train(str(base_dir), fmt, a.train_minutes, a.data, out, a.eval_examples)
    manifest = read_manifest(base_dir)
    settings = sampling_defaults(manifest.family if manifest else None)
    if a.max_new_tokens:
        settings.max_new_tokens = a.max_new_tokens
    questions = load_open_questions()[: a.open_limit]
    if a.sweep:
        return sweep(load_model(run_model(runs_["tutor"]), device="cpu"), questions, settings, out)
    models = {"base": (base_dir, "paper"), "letters only": (run_model(runs_["letters"]) if runs_["letters"] else None, "paper"),
              "tutor": (run_model(runs_["tutor"]) if runs_["tutor"] else None, "tutor")}
    models = {k: v for k, v in models.items() if k in wanted}
    report = {"base": a.base, "settings": vars(settings), "runs": {k: str(v) for k, v in runs_.items()}, "models": {}}
    for label, (folder, fmt) in models.items():
        t0 = time.time()
        loaded = load_model(folder, device="cpu")
        rows = ask_open(loaded, questions, settings)
        res = {"open_teaches": sum(r["teaches"] for r in rows) / len(rows),
               "open_clean": sum(r["clean"] for r in rows) / len(rows),
               "open_shared_opening": shared_openings([r["reply"] for r in rows]), "replies": rows,
               **multiple_choice(loaded, mc, fmt)}
        report["models"][label] = res
        print(f"{label}: {time.time() - t0:.0f}s", flush=True)
    (out / f"results-{'-'.join(m.replace(' ', '_') for m in wanted)}.json").write_text(
        json.dumps(report, indent=1, ensure_ascii=False))
    print(f"\n{a.base}: {len(questions)} open questions, {len(mc)} multiple-choice ({a.mc_data} {a.mc_split}); "
          f"sampling {settings.temperature}/{settings.top_p}/{settings.repetition_penalty}, "
          f"{settings.max_new_tokens} new tokens\n")
    print("| model | open: teaches (not bare, >= 12 words) | open: ends cleanly | open: same opening as 3+ others "
          "| MC categorical accuracy (95% CI) | MC format compliance |")
    print("|---|---|---|---|---|---|")
    for label, r in report["models"].items():
        lo, hi = r["ci"]
        print(f"| {label} | {pct(r['open_teaches'])} | {pct(r['open_clean'])} | {pct(r['open_shared_opening'])} "
              f"| {pct(r['accuracy'])} ({pct(lo)}-{pct(hi)}) | {pct(r['compliance'])} |")
    shown = report["models"].get("tutor") or next(iter(report["models"].values()))
    for r in shown["replies"][:3]:
        print(f"\n> {r['question']}\n{r['reply']}")
    return 0


SWEEP = [(0.0, 1.0, 1.0), (0.7, 0.9, 1.0), (0.3, 0.9, 1.1), (0.7, 0.9, 1.2)]


def sweep(loaded, questions: list[dict], base_settings, out: Path) -> int:
    """The tutor model's open replies under several (temperature, top-p, repetition penalty) settings."""
    from dataclasses import replace

    print("| temperature | top-p | repetition penalty | teaches | ends cleanly | mean words |")
    print("|---|---|---|---|---|---|")
    results = []
    for t, p, rp in SWEEP:
        s = replace(base_settings, temperature=t, top_p=p, repetition_penalty=rp)
        rows = ask_open(loaded, questions, s)
        words = sum(len(r["reply"].split()) for r in rows) / len(rows)
        results.append({"temperature": t, "top_p": p, "repetition_penalty": rp, "rows": rows})
        print(f"| {t} | {p} | {rp} | {pct(sum(r['teaches'] for r in rows) / len(rows))} "
              f"| {pct(sum(r['clean'] for r in rows) / len(rows))} | {words:.0f} |", flush=True)
    (out / "sweep.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
