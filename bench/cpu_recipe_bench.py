"""Which recipe fine-tunes a pretrained model best on a CPU? Candidates train the same pretrained model
on the same examples for the same time budget with this app's worker, then each is scored by
categorical accuracy (core.evaluation.scoring) on the same held-out questions beside the base model:
accuracy with its 95% Wilson interval, chance, the paired difference and McNemar's test
(core.evaluation.reports). Throughput is reported as real (non-padding) tokens/s and as MFU: model
FLOPs (6N per token, N = all parameters) over the fp32 matmul peak of this machine, measured here.

    # screen the candidates on the embedded sample (train split -> its test split), 4 minutes each
    python -m bench.cpu_recipe_bench --data sample --minutes 4
    # one recipe on real ScienceQA: 3,241 train / 1,000 held out of test_qcm.jsonl (seeded split)
    python -m bench.cpu_recipe_bench --data ../shared/scienceqa/test_qcm.jsonl --held-out 1000 \\
        --only cpu-pretrained --minutes 45
    # can the recipe learn what it is shown? 16 real questions, 20 epochs, scored on themselves
    python -m bench.cpu_recipe_bench --data ../shared/scienceqa/test_qcm.jsonl --held-out 1000 \\
        --only cpu-pretrained --fit 16 --epochs 20 --set warmup=2

The base model's scores are computed once per data and format and cached in bench/out/cpu-recipe/.
In-training evaluation is turned off (eval_examples 0) so every candidate spends its budget training.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench.learn_bench import held_out_split
from bench.train_bench import count_parameters, matmul_peak
from core.jobs.runs import model_dir as run_model

OUT = Path(__file__).resolve().parent / "out" / "cpu-recipe"

# name -> (recipe, overrides). All on format `paper` (QCM->A) unless --format says otherwise.
CANDIDATES: dict[str, tuple[str, dict]] = {
    "cpu-pretrained": ("cpu-pretrained", {}),  # full AdamW 5e-5 (the screen's choice)
    "cpu-frozen": ("cpu-frozen", {}),  # the earlier default: bottom half frozen, AdamW 3e-4
    "full-adamw": ("cpu-pretrained", {"lr": 1e-4}),
    "lora-r16": ("cpu-pretrained", {"lora": True, "lr": 1e-3}),
    "freeze-low-lr": ("cpu-frozen", {"lr": 1e-4}),
    "muon-default": ("default", {"compile": False}),
}


def flops_done(model_dir: Path, rec) -> float:
    """FLOPs per real token that a recipe does: the forward of the blocks (2 x their matrices), and the
    backward (4 x) of the trainable blocks only; LoRA back-propagates through every block for the
    activations (2 x) and adds little for its own weights. The head runs only on the ~6 target tokens of
    an example and attention on ~100-token sequences adds a few percent: both left out (an underestimate).
    6N, the issue's MFU numerator, counts a full fine-tune's work on every parameter, head included."""
    from core.models.memory import ModelShape

    blocks = ModelShape.from_folder(model_dir).matrix_params
    if rec.lora:
        return 2 * blocks + 2 * blocks
    return 2 * blocks + 4 * blocks * (1 - rec.freeze_fraction)


def chance(questions) -> float:
    return sum(1 / len(q.choices) for q in questions) / len(questions)


def score(model_dir: str | Path, questions, fmt: str):
    from core.evaluation.scoring import evaluate
    from core.models.loading import load_model

    loaded = load_model(Path(model_dir), device="cpu")
    t0 = time.time()

    def progress(done: int, total: int) -> None:
        if done == total or done // 16 % 10 == 0:
            print(f"  scored {done}/{total} ({time.time() - t0:.0f}s)", flush=True)

    return evaluate(loaded, questions, fmt=fmt, method="categorical", batch_size=16, progress=progress)


def base_result(model_dir: Path, questions, fmt: str, key: str):
    """The base model's evaluation, cached by model folder, questions and format."""
    from core.evaluation.scoring import EvalResult, content_hash

    path = OUT / f"base-{key}-{fmt}-{content_hash(questions)[:12]}.json"
    cached = json.loads(path.read_text()) if path.exists() else None
    if cached and cached.get("model") == str(model_dir):
        return EvalResult.from_dict(cached)
    res = score(model_dir, questions, fmt)
    path.write_text(json.dumps(res.to_dict()))
    return res


def train(model: str, data: str, recipe: str, overrides: dict, fmt: str, minutes: float | None,
          val_fraction: float):
    """One candidate run by the real worker, in this process; (run folder, throughput figures)."""
    from core.jobs import runs
    from core.training.recipes import TrainConfig, get_recipe
    from core.training.worker import run_worker

    rec = get_recipe(recipe, **{**overrides, "eval_examples": 0, "eval_every": 10 ** 6, "save_every": 10 ** 6})
    cfg = TrainConfig(model=model, data=data, recipe=rec, format=fmt, minutes=minutes, val_fraction=val_fraction,
                      device="cpu")
    run_dir = runs.create_run(Path(os.environ["SQA_STUDIO_HOME"]) / "runs", cfg.to_dict())
    rc = run_worker(run_dir)
    st = runs.read_status(run_dir)
    if rc or st.state != "done":
        print(runs.log_tail(run_dir))
        raise SystemExit(f"{recipe} {overrides}: the run ended {st.state}: {st.error}")
    steps = [r for r in runs.read_metrics(run_dir) if "tokens" in r]
    timed = steps[1:] or steps
    t0 = steps[0]["elapsed"] if len(steps) > 1 else 0.0
    return run_dir, {"steps": len(steps), "epochs": steps[-1]["epoch"],
                     "examples": len(steps) * rec.effective_batch,
                     "tokens_per_s": sum(r["tokens"] for r in timed) / max(1e-9, timed[-1]["elapsed"] - t0),
                     "first_step_s": steps[0]["elapsed"], "train_s": steps[-1]["elapsed"]}


def compare(base, tuned) -> dict:
    from core.evaluation.reports import mcnemar, paired_difference_interval, wilson_interval

    pairs = list(zip(base.predictions, tuned.predictions))
    assert all(b.pid == t.pid for b, t in pairs)
    both = sum(b.correct and t.correct for b, t in pairs)
    only_base = sum(b.correct and not t.correct for b, t in pairs)
    only_tuned = sum(t.correct and not b.correct for b, t in pairs)
    neither = len(pairs) - both - only_base - only_tuned
    p, test = mcnemar(only_base, only_tuned)
    return {"accuracy": tuned.accuracy, "ci": wilson_interval(tuned.correct, tuned.n),
            "diff": tuned.accuracy - base.accuracy,
            "diff_ci": paired_difference_interval(both, only_base, only_tuned, neither),
            "only_base": only_base, "only_tuned": only_tuned, "p": p, "test": test}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m", help="a catalogue name or a transformers folder")
    ap.add_argument("--data", default="sample")
    ap.add_argument("--held-out", type=int, default=None, help="rows held out when the source has no test split")
    ap.add_argument("--format", default=None, help="prompt format (default: the cpu-pretrained recipe's)")
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=4.0, help="training budget of every candidate")
    budget.add_argument("--epochs", type=float, default=None, help="train every candidate for this many epochs")
    ap.add_argument("--eval-n", type=int, default=None, help="score a seeded sample of this many held-out questions")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="cpu-pretrained,full-adamw,lora-r16",
                    help="comma-separated candidates: " + ", ".join(CANDIDATES))
    ap.add_argument("--fit", type=int, default=None, metavar="N",
                    help="train on the first N training rows and score those same rows: can the recipe learn what "
                         "it is shown? (a check of the training path; use with --epochs)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a recipe field of every candidate (JSON value)")
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["SQA_STUDIO_HOME"] = str(OUT / f"home-{Path(a.data).stem}")  # its own device slot per data
    import torch

    torch.set_num_threads(a.threads)
    os.environ["SQA_TORCH_THREADS"] = str(a.threads)  # the worker keeps it (core.training.machine.pick_threads)
    from core.data.sources import load_source
    from core.training.recipes import get_recipe, suggested_format
    from core.training.setup import resolve_model_path

    fmt = a.format or suggested_format("cpu-pretrained")
    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in a.set)}
    names = [n.strip() for n in a.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise SystemExit(f"unknown candidate(s) {unknown}: one of {', '.join(CANDIDATES)}")
    model_dir = resolve_model_path(a.model)
    questions = load_source(a.data)
    train_q, test_q, val_fraction, how = held_out_split(questions, a.held_out)
    if a.fit:
        from dataclasses import replace

        from core.data.subsets import write_subset

        train_q = test_q = [replace(q, split="") for q in train_q[: a.fit]]
        a.data = str(write_subset(OUT / f"fit-{a.fit}-{Path(a.data).stem}", train_q, overwrite=True))
        val_fraction, how = 0.01, f"the first {a.fit} training rows, scored on themselves (the worker keeps one)"
    if a.eval_n and a.eval_n < len(test_q):
        import random

        test_q = sorted(random.Random(0).sample(test_q, a.eval_n), key=lambda q: q.pid)
    if a.epochs:
        a.minutes, extra = None, {**extra, "epochs": a.epochs}
    budget_text = f"{a.minutes} min" if a.minutes else f"{a.epochs} epochs"
    peak = matmul_peak(a.threads)
    print(f"{len(train_q)} train / {len(test_q)} held out ({how}); format {fmt}; {budget_text} per candidate; "
          f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s on {a.threads} threads", flush=True)
    t = time.time()
    base = base_result(model_dir, test_q, fmt, Path(a.data).stem)
    n_params = count_parameters(model_dir)
    print(f"base: {100 * base.accuracy:.1f}% on {base.n} ({time.time() - t:.0f}s); {n_params:,} parameters",
          flush=True)
    rows = []
    for name in names:
        recipe, over = CANDIDATES[name]
        over = {**over, **extra}
        run_dir, thr = train(str(model_dir) if Path(a.model).exists() else a.model, a.data, recipe, over, fmt,
                             a.minutes, val_fraction)
        t = time.time()
        tuned = score(run_model(run_dir), test_q, fmt)
        cmp = compare(base, tuned)
        rows.append({"name": name, "recipe": recipe, "overrides": over, **thr, **cmp, "run_dir": str(run_dir),
                     "eval_s": time.time() - t})
        print(f"{name}: {json.dumps({k: v for k, v in rows[-1].items() if k != 'run_dir'}, default=str)}", flush=True)

    from core.evaluation.reports import wilson_interval

    peak = max(peak, matmul_peak(a.threads))  # the best of before and after: load from others only lowers it
    for r in rows:
        r["mfu"] = r["tokens_per_s"] * 6 * n_params / peak
        r["mfu_done"] = r["tokens_per_s"] * flops_done(model_dir, get_recipe(r["recipe"], **r["overrides"])) / peak
    lo, hi = wilson_interval(base.correct, base.n)
    print(f"\n## cpu_recipe_bench: {a.model}, data {a.data} ({how}), format {fmt}, {budget_text} per candidate "
          f"on {a.threads} CPU threads (load average now {os.getloadavg()[0]:.1f}); fp32 matmul peak "
          f"{peak / 1e9:.1f} GFLOP/s; N = {n_params / 1e6:.1f}M\n")
    print(f"held-out: {base.n} questions, chance {100 * chance(test_q):.1f}%; base {100 * base.accuracy:.1f}% "
          f"[{100 * lo:.1f}, {100 * hi:.1f}]\n")
    print("| candidate | steps | epochs | training time | real tokens/s | MFU (6N) | MFU (FLOPs done) | accuracy [95% CI] | "
          "vs base [95% CI] | base-only / tuned-only right | McNemar p |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['steps']} | {r['epochs']:.2f} | {r['train_s'] / 60:.1f} min | "
              f"{r['tokens_per_s']:,.1f} | {r['mfu']:.1%} | {r['mfu_done']:.1%} | "
              f"{100 * r['accuracy']:.1f}% [{100 * r['ci'][0]:.1f}, {100 * r['ci'][1]:.1f}] | "
              f"{100 * r['diff']:+.1f} [{100 * r['diff_ci'][0]:+.1f}, {100 * r['diff_ci'][1]:+.1f}] | "
              f"{r['only_base']} / {r['only_tuned']} | {r['p']:.2g} ({r['test']}) |")
    (OUT / f"results-{Path(a.data).stem}.json").write_text(json.dumps(
        {"args": vars(a), "how": how, "peak_flops": peak, "n_params": n_params, "chance": chance(test_q),
         "base": {"accuracy": base.accuracy, "ci": [lo, hi], "n": base.n}, "candidates": rows}, indent=2,
        default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
