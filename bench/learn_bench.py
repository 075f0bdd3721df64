"""Does the tiny preset learn? Train it from scratch for a fixed time on CPU, then score it
(categorical accuracy, core.evaluation) on its training questions and on held-out questions,
beside the chance baseline (mean of 1 / number of choices).

    # real ScienceQA test split: 3,000 train / 1,241 held out by a seeded shuffle, 10 minutes, 2 cores
    python -m bench.learn_bench --data ../shared/scienceqa/test_qcm.jsonl --held-out 1241 --minutes 10
    # the embedded sample: train split -> test split, 5 minutes
    python -m bench.learn_bench --data sample --minutes 5

Everything (tiny model, run folder, results.json) goes under bench/out/learn-<name>/.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def chance(questions) -> float:
    return sum(1 / len(q.choices) for q in questions) / len(questions)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="sample")
    ap.add_argument("--held-out", type=int, default=None, help="rows held out when the source has no test split")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", default="small", help="tiny preset size (xs, small, medium)")
    ap.add_argument("--recipe", default="tiny")
    ap.add_argument("--format", default="paper_ale")
    ap.add_argument("--name", default=None)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="recipe override")
    a = ap.parse_args(argv)

    name = a.name or Path(a.data).stem
    out = OUT / f"learn-{name}"
    out.mkdir(parents=True, exist_ok=True)
    os.environ["SQA_STUDIO_HOME"] = str(out / "home")  # its own device slot, runs and caches
    import torch

    torch.set_num_threads(a.threads)
    from core import runs
    from core.evaluation import evaluate
    from core.loading import load_model
    from core.recipes import TrainConfig, get_recipe
    from core.sources import load_source
    from core.tiny import create_tiny
    from core.train_setup import split_questions
    from core.training import run_worker

    questions = load_source(a.data)
    recipe_over = {}
    for item in a.set:
        k, v = item.split("=", 1)
        recipe_over[k] = json.loads(v)
    recipe = get_recipe(a.recipe, **recipe_over)
    if "test" in {q.split for q in questions}:
        train_q = [q for q in questions if q.split == "train"]
        test_q = [q for q in questions if q.split == "test"]
        val_fraction, how = 0.1, "the source's train split -> its test split"
    else:
        if not a.held_out:
            raise SystemExit("the source has no test split: give --held-out N")
        val_fraction = a.held_out / len(questions)
        train_q, test_q, how = split_questions(questions, val_fraction, recipe.seed)  # the worker's own split
    t0 = time.time()
    model_dir = create_tiny(train_q, out / "tiny", size=a.size, seed=0, source=a.data, overwrite=True)
    print(f"tiny '{a.size}' built in {time.time() - t0:.1f}s; {len(train_q)} train / {len(test_q)} held out ({how})")

    cfg = TrainConfig(model=str(model_dir), data=a.data, recipe=recipe, format=a.format, minutes=a.minutes,
                      val_fraction=val_fraction, device="cpu")
    run_dir = runs.create_run(out / "home" / "runs", cfg.to_dict(), name=time.strftime("%Y%m%d-%H%M%S"))
    t0 = time.time()
    rc = run_worker(run_dir)
    st = runs.read_status(run_dir)
    print(f"trained {time.time() - t0:.0f}s: {st.state}, {st.step} steps, rc {rc} {st.error}")
    if st.state != "done":
        print(runs.log_tail(run_dir))
        return 1
    hist = runs.read_metrics(run_dir)
    tps = [r["tokens_per_s"] for r in hist if "tokens_per_s" in r]
    epochs = max((r.get("epoch", 0) for r in hist), default=0)

    rows = []
    loaded = load_model(run_dir / "model", device="cpu")
    for set_name, qs in (("train", train_q), ("held-out", test_q)):
        res = evaluate(loaded, qs, fmt=a.format, method="categorical", batch_size=32)
        rows.append({"model": "trained", "set": set_name, "n": len(qs), "accuracy": res.accuracy,
                     "chance": chance(qs)})
    print(f"\n## learn_bench: tiny '{a.size}', recipe {a.recipe}, {a.minutes} min on {a.threads} CPU threads, "
          f"data {a.data}, format {a.format}\n")
    print(f"steps {st.step}, epochs {epochs:.1f}, mean {sum(tps) / max(1, len(tps)):.0f} real tokens/s\n")
    print("| model | set | n | categorical accuracy | chance | accuracy - chance (points) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['set']} | {r['n']} | {100 * r['accuracy']:.1f}% | {100 * r['chance']:.1f}% | "
              f"{100 * (r['accuracy'] - r['chance']):+.1f} |")
    (out / "results.json").write_text(json.dumps({"args": vars(a), "steps": st.step, "epochs": epochs,
                                                  "rows": rows, "run_dir": str(run_dir)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
