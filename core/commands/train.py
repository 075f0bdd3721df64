"""`python -m core train ...`: train a model on a data source, in the foreground (or --background).

    python -m core train --model tiny --data sample --out RUN_DIR --minutes 5    # recipe tiny, format paper
    python -m core train --model ./my-model --data subset:grade5 --recipe default --epochs 2 --lora
    python -m core train --model tiny --data sample --minutes 5 --report-to trackio,tensorboard
    accelerate launch -m core train --model M --data SRC --out RUN_DIR    # DDP: one process per GPU

The run folder is the same as a run started from the Train page (`python -m core runs list` shows it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

OVERRIDES = {  # flag -> (recipe field, type)
    "--lr": ("lr", float), "--matrix-lr": ("matrix_lr", float), "--embedding-lr": ("embedding_lr", float),
    "--batch-size": ("batch_size", int), "--grad-accum": ("grad_accum", int), "--max-seq-len": ("max_seq_len", int),
    "--eval-every": ("eval_every", int), "--eval-examples": ("eval_examples", int), "--save-every": ("save_every", int),
    "--keep-checkpoints": ("keep_checkpoints", int), "--seed": ("seed", int), "--warmup": ("warmup", float),
    "--weight-decay": ("weight_decay", float), "--optimizer": ("optimizer", str), "--schedule": ("schedule", str),
    "--precision": ("precision", str), "--lora-r": ("lora_r", int),
    "--freeze-fraction": ("freeze_fraction", float), "--answer-weight": ("answer_weight", float),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    from core.data.prompts import DEFAULT_FORMAT, FORMATS

    p = subparsers.add_parser("train", help="fine-tune a model (a run folder with metrics, checkpoints, model/)")
    p.add_argument("--model", required=True, help="tiny | a Hub id | a local model folder | run:<id>")
    p.add_argument("--data", default="sample", help="sample | a file | a folder | subset:NAME (default: sample)")
    p.add_argument("--out", type=Path, default=None, help="run folder to create (default: <home>/runs/<time>)")
    p.add_argument("--recipe", default=None, help="plan | default | tiny | cpu-pretrained | cpu-frozen (default: from what the model is: tiny from "
                        "scratch, cpu-pretrained for a pretrained model without a GPU, else default)")
    p.add_argument("--format", default=None, choices=list(FORMATS),
                   help=f"prompt format (default: tutor for a pretrained model, paper from scratch, else {DEFAULT_FORMAT})")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=None, help="train for this long (cycling the data)")
    budget.add_argument("--epochs", type=float, default=None, help="train for this many epochs")
    p.add_argument("--label", default="", help="a name for the run, shown beside its folder id")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out share when the source has no val split")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    for flag, (_, typ) in OVERRIDES.items():
        p.add_argument(flag, type=typ, default=None)
    p.add_argument("--lora", action=argparse.BooleanOptionalAction, default=None, help="train LoRA adapters")
    p.add_argument("--grad-checkpointing", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--group-by-length", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--shuffle-options", action=argparse.BooleanOptionalAction, default=None,
                   help="a new order of the options for every example in every epoch (evaluation keeps the official one)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the model's blocks (the default recipe does)")
    p.add_argument("--report-to", default="", metavar="TRACKERS",
                   help="also log metrics and config to: trackio, tensorboard (comma-separated; default: none)")
    p.add_argument("--background", action="store_true", help="launch the worker and return at once")
    p.set_defaults(func=run_train)


def config_from_args(a: argparse.Namespace):
    from core.training.recipes import TrainConfig, get_recipe, suggested_format, suggested_recipe

    recipe = a.recipe or suggested_recipe(a.model)
    overrides = {field: getattr(a, flag[2:].replace("-", "_")) for flag, (field, _) in OVERRIDES.items()}
    overrides.update(epochs=a.epochs, lora=a.lora, grad_checkpointing=a.grad_checkpointing,
                     group_by_length=a.group_by_length, compile=a.compile, shuffle_options=a.shuffle_options)
    return TrainConfig(model=a.model, data=a.data, recipe=get_recipe(recipe, **overrides),
                       format=a.format or suggested_format(recipe, a.model),
                       minutes=a.minutes, val_fraction=a.val_fraction, device=a.device, label=a.label.strip(),
                       report_to=a.report_to)


def prepare_model(name: str) -> None:
    """A preset (tiny, smollm2-135m) is prepared on first use, as `chat` does; its progress on stderr."""
    from core.models.presets import PRESETS

    if name.strip() in PRESETS or name.strip() == "tiny":
        from core.models.obtain import resolve_model

        resolve_model(name.strip(), progress=lambda m: print(m, file=sys.stderr, flush=True))


def run_train(a: argparse.Namespace) -> int:
    from core.files import check_output
    from core.home import area
    from core.jobs import runs
    from core.training.jobs import start_training, validate_launch

    cfg = config_from_args(a)
    if a.out:
        check_output(a.out, folder=True)
    if int(os.environ.get("RANK", 0)) == 0:
        validate_launch(cfg)  # bad input (device, tracker, data) is refused before a preset is prepared
    prepare_model(a.model)
    root, name = (a.out.parent, a.out.name) if a.out else (area("runs"), None)
    if a.background:
        run_dir = start_training(cfg, name=name, root=root)
        print(f"launched {run_dir} (follow: python -m core runs status {run_dir})")
        return 0
    from core.errors import StudioError
    from core.training.worker import run_worker

    if int(os.environ.get("WORLD_SIZE", 1)) > 1 and a.out is None:
        raise StudioError("Under DDP (accelerate launch / torchrun) give --out RUN_DIR so every process finds the run.")
    if int(os.environ.get("RANK", 0)) == 0:
        if a.out and runs.has_config(a.out):
            raise StudioError(f"{a.out} already holds a run; resume it with: python -m core runs resume {a.out}")
        run_dir = runs.create_run(root, cfg.to_dict(), name)
    else:  # DDP ranks > 0: wait for rank 0 to write the run folder
        run_dir = a.out
        for _ in range(600):
            if runs.has_config(run_dir):
                break
            time.sleep(0.1)
    print(f"run folder: {run_dir}", flush=True)
    if int(os.environ.get("RANK", 0)) != 0:
        rc = run_worker(run_dir)
    else:
        from core.progress import Bar

        if holder := runs.device_holder():
            print(f"waiting for the device, in use by {holder}", file=sys.stderr, flush=True)
        bars: list[Bar] = []  # opened at the first step, after loading (whose own bar must not overlap it)

        def on_step(step: int, total: int, rec: dict) -> None:
            if not bars:
                bars.append(Bar("training", total=total or None, unit="step"))
            bars[0].set(step, total or None, postfix=f"loss {rec['loss']:.3f}")  # total: estimated on a time budget
        try:
            rc = run_worker(run_dir, on_step=on_step)
        finally:
            for bar in bars:
                bar.close()
    if int(os.environ.get("RANK", 0)) != 0:
        return rc
    st = runs.read_status(run_dir)
    print(f"{st.state}: step {st.step}" + (f"; error: {st.error}" if st.error else "") +
          (f"; model: {runs.model_dir(run_dir)}" if st.state == "done" else ""))
    return rc
