"""Which recipe should fine-tune a pretrained model on a CPU? A STEP-MATCHED screen: every candidate
trains the same pretrained model on the same training questions for the same number of optimizer steps
of the same batch size (so a busy machine slows every candidate but changes none of them), with this
app's worker, then each is scored by categorical accuracy on the same real held-out questions beside
the base model: accuracy with its 95% Wilson interval, the paired difference, McNemar's test, the share
of the most common predicted letter, and the last answer-letter loss of training.

    nice -n 5 python -m bench.recipe_screen --data ../shared/scienceqa/test_qcm.jsonl --held-out 300 \\
        --train-n 320 --steps 40 --threads 1

Candidates run in the order given (--only), each printed as soon as it is scored, so a screen cut short
still reports what it finished. Everything goes under bench/out/recipe-screen/.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

from bench import cpu_recipe_bench
from bench.cpu_recipe_bench import base_result, chance, compare, score, train
from bench.learn_bench import held_out_split

OUT = Path(__file__).resolve().parent / "out" / "recipe-screen"

# name -> overrides of the cpu-pretrained recipe (batches of 8, AdamW betas 0.9/0.95, 5% warmup, cosine to 10%)
CANDIDATES: dict[str, dict] = {
    "full-5e-5-shuffle": {"freeze_fraction": 0.0, "lr": 5e-5, "shuffle_options": True},
    "full-5e-5": {"freeze_fraction": 0.0, "lr": 5e-5},
    "full-1e-4-shuffle": {"freeze_fraction": 0.0, "lr": 1e-4, "shuffle_options": True},
    "full-2e-5-shuffle": {"freeze_fraction": 0.0, "lr": 2e-5, "shuffle_options": True},
    "frozen-3e-4-shipped": {"freeze_fraction": 0.5, "lr": 3e-4},  # the cpu-frozen recipe (the shipped one before)
    "frozen-3e-4-shuffle": {"freeze_fraction": 0.5, "lr": 3e-4, "shuffle_options": True},
    "lora-r16-1e-3-shuffle": {"freeze_fraction": 0.0, "lora": True, "lr": 1e-3, "shuffle_options": True},
    # the answer letter's own loss added to the per-token loss (Recipe.answer_weight)
    "full-5e-5-w1": {"freeze_fraction": 0.0, "lr": 5e-5, "answer_weight": 1.0},
    "full-2e-4-w1": {"freeze_fraction": 0.0, "lr": 2e-4, "answer_weight": 1.0},
    "full-2e-4": {"freeze_fraction": 0.0, "lr": 2e-4},
}


def top_letter_share(result) -> float:
    from collections import Counter

    counts = Counter(p.pred for p in result.predictions if p.pred is not None)
    return max(counts.values()) / result.n if counts else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--data", default="../shared/scienceqa/test_qcm.jsonl")
    ap.add_argument("--held-out", type=int, default=300)
    ap.add_argument("--train-n", type=int, default=320, help="training questions (the first N of the seeded rest)")
    ap.add_argument("--steps", type=int, default=40, help="optimizer steps of every candidate")
    ap.add_argument("--format", default="tutor")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default=",".join(CANDIDATES), help="comma-separated: " + ", ".join(CANDIDATES))
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    cpu_recipe_bench.OUT.mkdir(parents=True, exist_ok=True)  # its base-model cache
    os.environ["SQA_STUDIO_HOME"] = os.environ.get("SQA_STUDIO_HOME") or str(OUT / "home")
    import torch

    torch.set_num_threads(a.threads)
    os.environ["SQA_TORCH_THREADS"] = str(a.threads)  # the worker keeps it (core.training.machine.pick_threads)
    from core.data.sources import load_source
    from core.data.subsets import write_subset
    from core.evaluation.reports import wilson_interval
    from core.jobs import runs
    from core.training.setup import resolve_model_path

    names = [n.strip() for n in a.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise SystemExit(f"unknown candidate(s) {unknown}: one of {', '.join(CANDIDATES)}")
    model_dir = resolve_model_path(a.model)
    train_q, test_q, _, how = held_out_split(load_source(a.data), a.held_out)
    train_q = [replace(q, split="train") for q in train_q[: a.train_n]]
    # a few held-out rows as the worker's "val" split (never trained on; in-training evaluation is off)
    src = write_subset(OUT / f"train-{a.train_n}", train_q + [replace(q, split="val") for q in test_q[:4]],
                       overwrite=True)
    batch = 8
    epochs = a.steps * batch / len(train_q)
    print(f"{len(train_q)} train / {len(test_q)} held out ({how}); {a.steps} steps of {batch} ({epochs:.2f} epochs); "
          f"format {a.format}; {a.threads} thread(s); load {os.getloadavg()[0]:.1f}", flush=True)
    t = time.time()
    base = base_result(model_dir, test_q, a.format, f"screen{a.held_out}")
    print(f"base: {100 * base.accuracy:.1f}% on {base.n}, top letter {top_letter_share(base):.0%} "
          f"({time.time() - t:.0f}s)", flush=True)
    rows = []
    for name in names:
        over = {**CANDIDATES[name], "epochs": epochs, "batch_size": batch}
        t = time.time()
        run_dir, thr = train(a.model, str(src), "cpu-pretrained", over, a.format, None, 0.1)
        hist = [r for r in runs.read_metrics(run_dir) if r.get("answer_loss") is not None]
        tail = hist[-max(1, len(hist) // 5):]
        answer_loss = sum(r["answer_loss"] for r in tail) / len(tail) if tail else None
        train_s = time.time() - t
        tuned = score(run_dir / "model", test_q, a.format)
        rows.append({"name": name, "overrides": over, **thr, **compare(base, tuned), "top_letter": top_letter_share(tuned),
                     "answer_loss_last_fifth": answer_loss, "wall_train_s": train_s, "load": os.getloadavg()[0],
                     "run_dir": str(run_dir)})
        print(f"{name}: {json.dumps({k: v for k, v in rows[-1].items() if k != 'run_dir'}, default=str)}", flush=True)
        (OUT / "results.json").write_text(json.dumps({"args": vars(a), "how": how, "chance": chance(test_q),
                                                      "base": {"accuracy": base.accuracy, "n": base.n,
                                                               "top_letter": top_letter_share(base)},
                                                      "candidates": rows}, indent=2, default=str))
    lo, hi = wilson_interval(base.correct, base.n)
    print(f"\n## recipe_screen: {a.model}, {len(train_q)} real training questions, {a.steps} steps of {batch}, "
          f"{base.n} real held-out questions ({how}), format {a.format}, {a.threads} thread(s)\n")
    print(f"base {100 * base.accuracy:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}], chance {100 * chance(test_q):.1f}%, "
          f"base top letter {top_letter_share(base):.0%}\n")
    print("| candidate | accuracy [95% CI] | vs base [95% CI] | base-only / tuned-only right | McNemar p | "
          "top letter | answer loss (last fifth) | train wall |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        al = f"{r['answer_loss_last_fifth']:.3f}" if r["answer_loss_last_fifth"] is not None else "-"
        print(f"| {r['name']} | {100 * r['accuracy']:.1f}% [{100 * r['ci'][0]:.1f}, {100 * r['ci'][1]:.1f}] | "
              f"{100 * r['diff']:+.1f} [{100 * r['diff_ci'][0]:+.1f}, {100 * r['diff_ci'][1]:+.1f}] | "
              f"{r['only_base']} / {r['only_tuned']} | {r['p']:.2g} | {r['top_letter']:.0%} | {al} | "
              f"{r['wall_train_s'] / 60:.1f} min |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
