"""Fine-tune SmolLM2-135M fully on real ScienceQA on a GPU for several epochs, pick the checkpoint by
held-out accuracy, and print the figures. One prepared command; nothing in the app depends on it.

    python -m bench.gpu_finetune                      # 3,241 train / 1,000 held out of test_qcm.jsonl, 4 epochs
    python -m bench.gpu_finetune --epochs 6 --lr 3e-5

Every epoch ends in a checkpoint (the app's worker: full AdamW, options shuffled in every epoch, bf16
autocast); each is scored by categorical accuracy on the held-out questions (official option order) beside
the base model, chance and always-the-most-common-letter, with the 95% Wilson interval and McNemar's test
against the base. The best checkpoint by held-out accuracy is named, with its letter share. Without a GPU it
stops at once with one line (--allow-cpu runs it anyway, for checking the script on a tiny model).
Everything goes under bench/out/gpu-finetune/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "gpu-finetune"


def always_top_letter(train_q, test_q) -> float:
    """Accuracy of always answering the training questions' most common gold letter."""
    top = Counter(q.answer for q in train_q).most_common(1)[0][0]
    return sum(q.answer == top for q in test_q) / len(test_q)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "scienceqa" / "test_qcm.jsonl"))
    ap.add_argument("--held-out", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--format", default="tutor")
    ap.add_argument("--shuffle-options", action=argparse.BooleanOptionalAction, default=True,
                    help="a new order of the options for every example in every epoch (default on: over several "
                         "epochs a letter must not be learned as a prior)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--allow-cpu", action="store_true", help="run without a GPU (slow: for checking the script)")
    a = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available() and not a.allow_cpu:
        print("error: no CUDA GPU here: bench.gpu_finetune fine-tunes on a GPU (use the Train page's CPU recipe "
              "on this machine, or --allow-cpu to check the script on a tiny model)", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SQA_STUDIO_HOME", str(a.out / "home"))
    from bench.cpu_recipe_bench import chance, compare
    from bench.learn_bench import held_out_split
    from core.data.sources import load_source
    from core.evaluation.reports import wilson_interval
    from core.evaluation.scoring import evaluate
    from core.jobs import runs
    from core.models.loading import load_model
    from core.training.letters import top_letter
    from core.training.recipes import TrainConfig, get_recipe
    from core.training.setup import checkpoints, resolve_model_path
    from core.training.worker import run_worker

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model_dir = resolve_model_path(a.model)
    train_q, test_q, val_fraction, how = held_out_split(load_source(a.data), a.held_out)

    def score(folder: Path):
        loaded = load_model(folder, device=device)
        res = evaluate(loaded, test_q, fmt=a.format, method="categorical", batch_size=64)
        del loaded
        return res

    t = time.time()
    base = score(model_dir)
    print(f"{len(train_q)} train / {len(test_q)} held out ({how}); base {100 * base.accuracy:.1f}% "
          f"({time.time() - t:.0f}s)", flush=True)
    steps_per_epoch = max(1, -(-len(train_q) // a.batch_size))  # the worker's batches per epoch (the last one short)
    recipe = get_recipe("cpu-pretrained", freeze_fraction=0.0, lr=a.lr, shuffle_options=a.shuffle_options, batch_size=a.batch_size,
                        epochs=float(a.epochs), eval_examples=0, eval_every=10 ** 6, save_every=steps_per_epoch,
                        keep_checkpoints=a.epochs + 1, precision="auto")
    cfg = TrainConfig(model=a.model if not Path(a.model).exists() else str(model_dir), data=a.data, recipe=recipe,
                      format=a.format, val_fraction=val_fraction, device=device, label="gpu-finetune")
    run_dir = runs.create_run(a.out / "runs", cfg.to_dict())
    t = time.time()
    if run_worker(run_dir) != 0 or runs.read_status(run_dir).state != "done":
        print(runs.log_tail(run_dir), file=sys.stderr)
        print(f"error: training failed: {runs.read_status(run_dir).error}", file=sys.stderr)
        return 1
    train_s = time.time() - t
    rows = []
    for ck in sorted(checkpoints(run_dir), key=lambda p: int(p.name[5:])):
        res = score(ck)
        top = top_letter((p.pred for p in res.predictions), (p.gold for p in res.predictions))
        rows.append({"checkpoint": ck.name, "step": int(ck.name[5:]), **compare(base, res),
                     "top_letter": top, "correct": res.correct, "n": res.n})
        print(f"{ck.name}: {100 * res.accuracy:.1f}%", flush=True)
    best = max(rows, key=lambda r: r["accuracy"])
    lo, hi = wilson_interval(base.correct, base.n)
    print(f"\n## gpu_finetune: {a.model} fully fine-tuned, AdamW {a.lr:g}, batches of {a.batch_size}, options "
          f"{'shuffled' if a.shuffle_options else 'in the official order'}, "
          f"{a.epochs} epochs in {train_s / 60:.1f} min on {torch.cuda.get_device_name() if device == 'cuda' else 'CPU'}\n")
    print(f"held-out: {len(test_q)} real questions ({how}); chance {100 * chance(test_q):.1f}%, always the most "
          f"common training letter {100 * always_top_letter(train_q, test_q):.1f}%, base {100 * base.accuracy:.1f}% "
          f"[{100 * lo:.1f}, {100 * hi:.1f}]\n")
    print("| checkpoint | epoch | accuracy [95% CI] | vs base [95% CI] | McNemar p | top letter's share |")
    print("|---|---|---|---|---|---|")
    for i, r in enumerate(rows, 1):
        mark = " (best)" if r is best else ""
        print(f"| {r['checkpoint']}{mark} | {i} | {100 * r['accuracy']:.1f}% [{100 * r['ci'][0]:.1f}, "
              f"{100 * r['ci'][1]:.1f}] | {100 * r['diff']:+.1f} [{100 * r['diff_ci'][0]:+.1f}, "
              f"{100 * r['diff_ci'][1]:+.1f}] | {r['p']:.2g} | {r['top_letter'][0]} {r['top_letter'][1]:.0%} |")
    print(f"\nbest: {run_dir / 'checkpoints' / best['checkpoint']}")
    (a.out / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(a).items()}, "how": how,
                                                    "base": base.accuracy, "rows": rows, "best": best["checkpoint"],
                                                    "train_s": train_s}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
