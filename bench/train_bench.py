"""Training throughput: the `default` recipe (this app's worker) vs the plan's recipe as written
(HF Trainer, batch 2 x 8 accumulation, gradient checkpointing, DataCollatorForLanguageModeling),
on the same tokenized examples, the same tiny model (core.tiny size "small", ~5.2M parameters) and
the same CPU threads, in alternating rounds so that machine load hits both alike.

    python -m bench.train_bench                      # sample train split, paper_ale format, 2 rounds
    python -m bench.train_bench --plan-steps 4 --default-seconds 45 --rounds 1

Reports real (non-padding) tokens per second and the padding fraction of each, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "train-bench"


def plan_phase(model_dir: Path, examples, steps: int) -> dict:
    """HF Trainer as the plan wrote it; timed from the end of its first optimizer step."""
    import torch
    from transformers import (AutoModelForCausalLM, DataCollatorForLanguageModeling, Trainer, TrainerCallback,
                              TrainingArguments)

    from core.loading import load_tokenizer

    tok = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    base = DataCollatorForLanguageModeling(tok, mlm=False)
    seen = {"real": 0, "padded": 0}

    def collate(features):
        batch = base(features)
        seen["real"] += sum(len(f["input_ids"]) for f in features)
        seen["padded"] += batch["input_ids"].numel()
        return batch

    marks = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            marks.append((time.time(), seen["real"], seen["padded"]))

    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_train_batch_size=2, gradient_accumulation_steps=8,
                                 gradient_checkpointing=True, learning_rate=5e-5, warmup_steps=100, weight_decay=0.01,
                                 num_train_epochs=2, max_steps=steps + 1, logging_steps=10**6, save_strategy="no",
                                 report_to="none", use_cpu=True, dataloader_num_workers=0, seed=0,
                                 remove_unused_columns=False, disable_tqdm=True)
        Trainer(model=model, args=args, train_dataset=[{"input_ids": e.input_ids} for e in examples],
                data_collator=collate, callbacks=[Clock()]).train()
    (t0, r0, p0), (t1, r1, p1) = marks[0], marks[-1]
    return {"tokens_per_s": (r1 - r0) / (t1 - t0), "padding": 1 - (r1 - r0) / (p1 - p0), "steps": steps,
            "seconds": t1 - t0}


def default_phase(model_dir: Path, data: str, fmt: str, seconds: float, max_seq_len: int) -> dict:
    """This app's worker with the default recipe, in-process, for a time budget; from its metrics."""
    from core import runs
    from core.recipes import TrainConfig, get_recipe
    from core.training import run_worker

    recipe = get_recipe("default", max_seq_len=max_seq_len, eval_every=10**6, save_every=10**6, eval_examples=0)
    cfg = TrainConfig(model=str(model_dir), data=data, recipe=recipe, format=fmt, minutes=seconds / 60, device="cpu")
    run_dir = runs.create_run(OUT / "home" / "runs", cfg.to_dict())
    run_worker(run_dir)
    steps = [r for r in runs.read_metrics(run_dir) if "tokens" in r]
    if len(steps) < 3:
        raise SystemExit(f"the default recipe made only {len(steps)} steps in {seconds}s; give it more time")
    timed = steps[1:]
    real = sum(r["tokens"] for r in timed)
    padded = sum(r["tokens"] / (1 - r["padding"]) for r in timed)
    return {"tokens_per_s": real / (timed[-1]["elapsed"] - steps[0]["elapsed"]), "padding": 1 - real / padded,
            "steps": len(timed), "seconds": timed[-1]["elapsed"] - steps[0]["elapsed"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="sample")
    ap.add_argument("--format", default="paper_ale")
    ap.add_argument("--max-seq-len", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plan-steps", type=int, default=5, help="timed optimizer steps (16 examples each)")
    ap.add_argument("--default-seconds", type=float, default=60.0)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["SQA_STUDIO_HOME"] = str(OUT / "home")
    import torch

    torch.set_num_threads(a.threads)
    from core.batching import encode_all
    from core.prompts import DEFAULT_SYSTEM_PROMPT
    from core.sources import load_source
    from core.tiny import create_tiny
    from core.train_setup import split_questions

    train_q, _, how = split_questions(load_source(a.data), 0.1, 0)  # the worker's own train split
    model_dir = create_tiny(train_q, OUT / "tiny-small", size="small", seed=0, overwrite=True)
    from core.loading import load_tokenizer

    examples, _ = encode_all(load_tokenizer(model_dir), train_q, a.format, DEFAULT_SYSTEM_PROMPT, a.max_seq_len)
    print(f"{len(examples)} examples ({how}), format {a.format}, max_seq_len {a.max_seq_len}, {a.threads} threads")
    plan, default = [], []
    for i in range(a.rounds):
        plan.append(plan_phase(model_dir, examples, a.plan_steps))
        print(f"round {i + 1} plan: {plan[-1]}", flush=True)
        default.append(default_phase(model_dir, a.data, a.format, a.default_seconds, a.max_seq_len))
        print(f"round {i + 1} default: {default[-1]}", flush=True)
    ratios = [d["tokens_per_s"] / p["tokens_per_s"] for p, d in zip(plan, default)]
    med = statistics.median
    print(f"\n## train_bench: tiny 'small' (~5.2M params), {a.data} {a.format}, {a.threads} CPU threads, "
          f"{a.rounds} alternating rounds (load average now {os.getloadavg()[0]:.1f})\n")
    print("| recipe | real tokens/s (median) | padding fraction | ratio vs plan |")
    print("|---|---|---|---|")
    print(f"| plan (HF Trainer, 2 x 8 accum, grad ckpt, LM collator) | {med(p['tokens_per_s'] for p in plan):,.0f} | "
          f"{med(p['padding'] for p in plan):.1%} | 1.00 |")
    print(f"| default (length-grouped 16, Muon + AdamW) | {med(d['tokens_per_s'] for d in default):,.0f} | "
          f"{med(d['padding'] for d in default):.1%} | {med(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
