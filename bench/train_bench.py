"""Training throughput: the `default` recipe (this app's worker) vs the plan's recipe as written
(HF Trainer, batch 2 x 8 accumulation, gradient checkpointing, DataCollatorForLanguageModeling),
on the same tokenized examples, the same model and the same device, in alternating rounds so that
machine load hits both alike.

    python -m bench.train_bench                      # tiny "small" (~5.2M params) on CPU, sample, paper_ale
    python -m bench.train_bench --plan-steps 20 --default-seconds 70 --rounds 4
    # where a GPU is lent: nanochat's d20 shape (561M params, random init), fp16 (plan) / bf16 (default)
    python -m bench.train_bench --shape d20 --device cuda --plan-steps 30 --default-seconds 180
    # a pretrained model with the CPU recipe, on that recipe's format
    python -m bench.train_bench --model smollm2-135m --recipe cpu-pretrained --format paper --plan-steps 3 \
        --default-seconds 150 --rounds 1

Reports real (non-padding) tokens per second from the end of each recipe's first optimizer step on,
the padding fraction and their ratio, and how long the first step took (the default recipe compiles
the model there: cold in round 1, reused by later rounds in the same process); on a GPU also the
peak memory of each and the MFU (model FLOPs per real token, 6N + attention as in PaLM/nanochat, over
the GPU's dense bf16 peak); on a CPU, MFU is 6N FLOPs per real token (N = all parameters) over the
fp32 matmul peak measured on the same threads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "train-bench"


# Dense bf16 peak FLOP/s by GPU name (datasheets; SXM parts), for MFU. Others: pass --peak-tflops.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0}


def make_model(questions, shape: str, out: Path) -> Path:
    """The benchmarked model: a tiny preset size, or nanochat's d20 shape (random init, its 65,536-token
    vocab; the tokenizer is the tiny one trained on the questions, whose ids all fit in that vocab)."""
    from core.models.tiny import SIZES, TinySpec, build_tiny_model, create_tiny, train_tokenizer

    if shape in SIZES:
        return create_tiny(questions, out, size=shape, seed=0, overwrite=True)
    if shape != "d20":
        raise SystemExit(f"unknown --shape {shape!r}: one of {', '.join(SIZES)}, d20")
    from core.files import atomic_dir
    from core.models.catalogue import D20

    tok = train_tokenizer(questions, 4096)
    spec = TinySpec(vocab_size=4096, hidden_size=D20["hidden"], num_layers=D20["n_layer"], num_heads=D20["n_head"],
                    max_positions=2048)
    model = build_tiny_model(tok, spec, seed=0)
    model.resize_token_embeddings(D20["vocab"], mean_resizing=False)
    with atomic_dir(out, overwrite=True) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return out


def matmul_peak(threads: int, n: int = 1024, repeats: int = 20) -> float:
    """The best fp32 matmul rate (FLOP/s) of this machine on `threads` threads: best of `repeats`."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def count_parameters(model_dir: Path) -> int:
    """N for 6N: every parameter of the model, tied weights once."""
    from core.models.loading import load_model

    return sum(p.numel() for p in load_model(model_dir, device="cpu").model.parameters())


def flops_per_token(model_dir: Path, seq_len: float) -> float:
    """PaLM/nanochat's estimate: 6 x parameters (less the input embedding) + 12 x layers x width x seq_len."""
    from core.models.memory import ModelShape

    shape = ModelShape.from_folder(model_dir)
    matmul_params = shape.matrix_params + shape.vocab * shape.hidden  # blocks + the output head
    return 6 * matmul_params + 12 * shape.n_layer * shape.hidden * seq_len


def peak_tflops(override: float | None) -> float | None:
    import torch

    if override:
        return override
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def plan_phase(model_dir: Path, examples, steps: int, device: str) -> dict:
    """HF Trainer as the plan wrote it; timed from the end of its first optimizer step."""
    import torch
    from transformers import AutoModelForCausalLM, DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments

    from core.models.loading import load_tokenizer

    tok = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    gpu = device.startswith("cuda")
    if gpu:
        torch.cuda.reset_peak_memory_stats()
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
                                 report_to="none", use_cpu=not gpu, fp16=gpu, dataloader_num_workers=0, seed=0,
                                 remove_unused_columns=False, disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=[{"input_ids": e.input_ids} for e in examples],
                          data_collator=collate, callbacks=[Clock()])
        start = time.time()
        trainer.train()
    (t0, r0, p0), (t1, r1, p1) = marks[0], marks[-1]
    return {"tokens_per_s": (r1 - r0) / (t1 - t0), "padding": 1 - (r1 - r0) / (p1 - p0), "steps": steps,
            "seconds": t1 - t0, "first_step_s": t0 - start,
            "peak_memory": torch.cuda.max_memory_allocated() if gpu else None}


def default_phase(model_dir: Path, data: str, fmt: str, seconds: float, max_seq_len: int, device: str,
                  overrides: dict, recipe_name: str = "default") -> dict:
    """This app's worker with a named recipe (`default`), in-process, for a time budget; from its metrics."""
    from core.jobs import runs
    from core.training.recipes import TrainConfig, get_recipe
    from core.training.worker import run_worker

    recipe = get_recipe(recipe_name, **{**overrides, "max_seq_len": max_seq_len, "eval_every": 10**6,
                                      "save_every": 10**6, "eval_examples": 0})
    cfg = TrainConfig(model=str(model_dir), data=data, recipe=recipe, format=fmt, minutes=seconds / 60, device=device)
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()
    run_dir = runs.create_run(OUT / "home" / "runs", cfg.to_dict())
    run_worker(run_dir)
    steps = [r for r in runs.read_metrics(run_dir) if "tokens" in r]
    if len(steps) < 3:
        raise SystemExit(f"the {recipe_name} recipe made only {len(steps)} steps in {seconds}s; give it more time")
    timed = steps[1:]
    real = sum(r["tokens"] for r in timed)
    padded = sum(r["tokens"] / (1 - r["padding"]) for r in timed)
    return {"tokens_per_s": real / (timed[-1]["elapsed"] - steps[0]["elapsed"]), "padding": 1 - real / padded,
            "steps": len(timed), "seconds": timed[-1]["elapsed"] - steps[0]["elapsed"],
            "first_step_s": steps[0]["elapsed"],  # compilation included, when the recipe compiles
            "peak_memory": timed[-1]["peak_memory"] if device.startswith("cuda") else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="sample")
    ap.add_argument("--format", default="paper_ale")
    ap.add_argument("--max-seq-len", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plan-steps", type=int, default=5, help="timed optimizer steps (16 examples each)")
    ap.add_argument("--default-seconds", type=float, default=60.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--shape", default="small", help="tiny preset size (xs, small, medium) or d20")
    ap.add_argument("--model", default=None, help="a catalogue name or model folder instead of --shape")
    ap.add_argument("--recipe", default="default", help="the app's recipe timed against the plan's")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak, for MFU")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a field of --recipe (JSON value), e.g. batch_size=32")
    a = ap.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in a.set)}
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["SQA_STUDIO_HOME"] = str(OUT / "home")
    import torch

    torch.set_num_threads(a.threads)
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT
    from core.data.sources import load_source
    from core.models.loading import load_tokenizer
    from core.training.batching import encode_all
    from core.training.recipes import get_recipe
    from core.training.setup import split_questions

    gpu = a.device.startswith("cuda")
    if gpu and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU here")
    train_q, _, how = split_questions(load_source(a.data), 0.1, 0)  # the worker's own train split
    if a.model:
        from core.training.setup import resolve_model_path

        model_dir, a.shape = resolve_model_path(a.model), a.model
    else:
        model_dir = make_model(train_q, a.shape, OUT / f"model-{a.shape}")
    examples, _ = encode_all(load_tokenizer(model_dir), train_q, a.format, DEFAULT_SYSTEM_PROMPT, a.max_seq_len)
    mean_len = statistics.mean(len(e) for e in examples)
    print(f"{len(examples)} examples ({how}, {mean_len:.0f} tokens on average), format {a.format}, "
          f"max_seq_len {a.max_seq_len}, model {a.shape}, device {a.device}", flush=True)
    cpu_peak = 0.0 if gpu else matmul_peak(a.threads)
    plan, default = [], []
    for i in range(a.rounds):
        plan.append(plan_phase(model_dir, examples, a.plan_steps, a.device))
        print(f"round {i + 1} plan: {plan[-1]}", flush=True)
        default.append(default_phase(model_dir, a.data, a.format, a.default_seconds, a.max_seq_len, a.device,
                                     overrides, a.recipe))
        print(f"round {i + 1} default: {default[-1]}", flush=True)
    ratios = [d["tokens_per_s"] / p["tokens_per_s"] for p, d in zip(plan, default)]
    med = statistics.median
    where = torch.cuda.get_device_name() if gpu else f"{a.threads} CPU threads"
    print(f"\n## train_bench: model {a.shape}, {a.data} {a.format}, {where}, recipe {a.recipe} {overrides or 'as is'}, "
          f"{a.rounds} alternating rounds (load average now {os.getloadavg()[0]:.1f})\n")
    recipe = get_recipe(a.recipe, **overrides)
    if gpu:
        peak = peak_tflops(a.peak_tflops)
        flops = flops_per_token(model_dir, mean_len)
    else:  # 6N per token over this CPU's measured fp32 matmul rate (best of before and after the rounds)
        peak = max(cpu_peak, matmul_peak(a.threads)) / 1e12
        flops = 6 * count_parameters(model_dir)
        print(f"MFU: 6N FLOPs per token, N = {flops / 6:,.0f}, over {peak * 1e3:.1f} GFLOP/s (fp32 matmul, measured)\n")
    extra = (" | peak memory | MFU" if gpu else " | MFU")
    print(f"| recipe | real tokens/s (median) | padding fraction | first step (s) | ratio vs plan{extra} |")
    print("|---|---|---|---|---|" + ("---|---|" if gpu else "---|"))
    default_name = (f"{a.recipe} (length-grouped {recipe.batch_size} x {recipe.grad_accum} accum, {recipe.optimizer}"
                    + (f", bottom {recipe.freeze_fraction:.0%} frozen" if recipe.freeze_fraction else "")
                    + (", LoRA" if recipe.lora else "") + (", compiled)" if recipe.compile else ")"))
    rounds = ", ".join(f"{r:.2f}" for r in ratios)
    for name, runs_, ratio in (("plan (HF Trainer, 2 x 8 accum, grad ckpt, LM collator)", plan, "1.00"),
                               (default_name, default, f"{med(ratios):.2f} (rounds: {rounds})")):
        tps = med(x["tokens_per_s"] for x in runs_)
        first = ", ".join(f"{x['first_step_s']:.1f}" for x in runs_)
        row = f"| {name} | {tps:,.1f} | {med(x['padding'] for x in runs_):.1%} | {first} | {ratio}"
        mfu = f"{tps * flops / (peak * 1e12):.1%}" if peak else "(give --peak-tflops)"
        if gpu:
            row += f" | {max(x['peak_memory'] for x in runs_) / 2**30:.1f} GiB"
        print(row + f" | {mfu} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
