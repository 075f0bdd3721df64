"""Does the tiny preset learn? Train it from scratch for a fixed time on CPU, then score it
(categorical accuracy, core.evaluation.scoring) on its training questions and on held-out questions,
beside the chance baseline (mean of 1 / number of choices). With several seeds (the model's
initialisation and the batch order), each run is reported and then their mean.

    # real ScienceQA test split: 3,000 train / 1,241 held out by a seeded shuffle, 10 minutes, 2 cores
    python -m bench.learn_bench --data ../shared/scienceqa/test_qcm.jsonl --held-out 1241 --minutes 10
    # the embedded sample: train split -> test split, 5 minutes, three seeds
    python -m bench.learn_bench --data sample --minutes 5 --seeds 0,1,2

Everything (tiny models, run folders, results.json) goes under bench/out/learn-<name>/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def chance(questions) -> float:
    return sum(1 / len(q.choices) for q in questions) / len(questions)


def held_out_split(questions, held_out: int | None):
    """(train, held-out, the worker's val fraction, how): the source's test split where it has one, else
    `held_out` questions by the worker's own seeded split (whatever the training seed)."""
    from core.training.setup import split_questions

    if "test" in {q.split for q in questions}:
        train_q = [q for q in questions if q.split == "train"]
        test_q = [q for q in questions if q.split == "test"]
        return train_q, test_q, 0.1, "the source's train split -> its test split"
    if not held_out:
        raise SystemExit("the source has no test split: give --held-out N")
    val_fraction = held_out / len(questions)
    train_q, test_q, how = split_questions(questions, val_fraction)
    return train_q, test_q, val_fraction, how


def train_and_score(a, seed: int, out: Path, train_q, test_q, val_fraction: float) -> dict:
    """One seed: a fresh tiny model, trained by the real worker for the budget, scored on both sets."""
    from core.evaluation.scoring import evaluate
    from core.jobs import runs
    from core.models.loading import load_model
    from core.models.tiny import create_tiny
    from core.training.recipes import TrainConfig, get_recipe
    from core.training.worker import run_worker

    recipe = get_recipe(a.recipe, **{**a.overrides, "seed": seed})
    model_dir = create_tiny(train_q, out / f"tiny-seed{seed}", size=a.size, seed=seed, source=a.data, overwrite=True)
    cfg = TrainConfig(model=str(model_dir), data=a.data, recipe=recipe, format=a.format, minutes=a.minutes,
                      val_fraction=val_fraction, device="cpu")
    run_dir = runs.create_run(out / "home" / "runs", cfg.to_dict(), name=f"{time.strftime('%Y%m%d-%H%M%S')}-seed{seed}")
    t0 = time.time()
    rc = run_worker(run_dir)
    st = runs.read_status(run_dir)
    print(f"seed {seed}: trained {time.time() - t0:.0f}s: {st.state}, {st.step} steps, rc {rc} {st.error}", flush=True)
    if st.state != "done":
        print(runs.log_tail(run_dir))
        raise SystemExit(1)
    hist = runs.read_metrics(run_dir)
    tps = [r["tokens_per_s"] for r in hist if "tokens_per_s" in r]
    loaded = load_model(runs.model_dir(run_dir), device="cpu")
    acc = {name: evaluate(loaded, qs, fmt=a.format, method="categorical", batch_size=32).accuracy
           for name, qs in (("train", train_q), ("held-out", test_q))}
    return {"seed": seed, "steps": st.step, "epochs": max((r.get("epoch", 0) for r in hist), default=0),
            "tokens_per_s": sum(tps) / max(1, len(tps)), "accuracy": acc, "run_dir": str(run_dir)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="sample")
    ap.add_argument("--held-out", type=int, default=None, help="rows held out when the source has no test split")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", default="small", help="tiny preset size (xs, small, medium)")
    ap.add_argument("--recipe", default="tiny")
    ap.add_argument("--format", default=None, help="prompt format (default: the recipe's, paper for tiny)")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds: one run each (model init and batch order)")
    ap.add_argument("--name", default=None)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="recipe override (JSON value)")
    a = ap.parse_args(argv)

    name = a.name or Path(a.data).stem
    out = OUT / f"learn-{name}"
    out.mkdir(parents=True, exist_ok=True)
    os.environ["SQA_STUDIO_HOME"] = str(out / "home")  # its own device slot, runs and caches
    import torch

    torch.set_num_threads(a.threads)
    os.environ["SQA_TORCH_THREADS"] = str(a.threads)  # the worker keeps it (core.training.machine.pick_threads)
    from core.data.sources import load_source
    from core.training.recipes import suggested_format

    a.overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in a.set)}
    a.format = a.format or suggested_format(a.recipe)
    seeds = [int(s) for s in a.seeds.split(",")]
    questions = load_source(a.data)
    train_q, test_q, val_fraction, how = held_out_split(questions, a.held_out)
    print(f"{len(train_q)} train / {len(test_q)} held out ({how}); seeds {seeds}", flush=True)
    results = [train_and_score(a, seed, out, train_q, test_q, val_fraction) for seed in seeds]

    sets = {"train": chance(train_q), "held-out": chance(test_q)}
    print(f"\n## learn_bench: tiny '{a.size}', recipe {a.recipe} {a.overrides or ''}, {a.minutes} min on {a.threads} "
          f"CPU threads, data {a.data}, format {a.format}\n")
    print("| seed | steps | epochs | real tokens/s | " + " | ".join(f"{s} accuracy (chance {100 * c:.1f}%)"
                                                            for s, c in sets.items()) + " |")
    print("|---|---|---|---|" + "---|" * len(sets))
    for r in results:
        print(f"| {r['seed']} | {r['steps']} | {r['epochs']:.1f} | {r['tokens_per_s']:,.0f} | " + " | ".join(
            f"{100 * r['accuracy'][s]:.1f}% ({100 * (r['accuracy'][s] - c):+.1f})" for s, c in sets.items()) + " |")
    if len(results) > 1:
        mean = {s: statistics.mean(r["accuracy"][s] for r in results) for s in sets}
        print("| mean | | | | " + " | ".join(f"**{100 * mean[s]:.1f}% ({100 * (mean[s] - c):+.1f})**"
                                               for s, c in sets.items()) + " |")
    (out / "results.json").write_text(json.dumps({"args": vars(a), "how": how,
                                                  "chance": sets, "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
