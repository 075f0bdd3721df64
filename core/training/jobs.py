"""Starting, resuming and sizing training runs: what the Train page and `python -m core train` call.

`start_training(cfg)` validates, writes the run folder's config and launches the worker
(`python -m core.training.worker RUN_DIR`) in the background; `resume_training(run_dir)` relaunches it
from the last checkpoint; `estimate(cfg)` gives a rough time and memory figure before launch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from core import access
from core.errors import StudioError
from core.files import read_only
from core.home import area
from core.jobs import kinds, runner, runs
from core.training.recipes import TrainConfig


def worker_argv(run_dir: Path, resume: bool = False) -> list[str]:
    return runner.module_argv("core.training.worker", run_dir, *(["--resume"] if resume else []))


def validate_launch(cfg: TrainConfig) -> None:
    """Cheap checks that would otherwise fail in the background: the data loads, a model folder exists."""
    from core.data.sources import load_source
    from core.training.tracking import check_available

    check_available(cfg.report_to)  # a missing tracker package: refused now, not mid-run
    if not load_source(cfg.data):
        raise StudioError(f"The data source {cfg.data} has no questions.")
    from core.models.devices import pick_device
    from core.models.loading import check_model_config
    from core.models.locations import HUB_ID, check_model_name, local_model_folder
    from core.models.presets import PRESETS

    check_model_name(cfg.model)
    pick_device(cfg.device)  # an unavailable device fails now, not in the background
    folder = local_model_folder(cfg.model)
    if folder is not None:
        check_model_config(folder)
    elif cfg.model != "tiny" and cfg.model not in PRESETS and not cfg.model.startswith("run:") \
            and not HUB_ID.match(cfg.model):  # a preset not prepared yet: the worker prepares it
        raise StudioError(f"Unknown model {cfg.model!r}: use tiny, a Hub repo id (owner/name), a model folder or "
                          "run:<id>.")
    looks_like_path = "/" in cfg.model or cfg.model.startswith((".", "~"))
    p = Path(cfg.model).expanduser()
    if looks_like_path and p.exists() and not (p / "config.json").exists() and not any(p.glob("*.pt")):
        raise StudioError(f"{p} is not a model folder (no config.json).")
    run_model = runs.run_model_dir(cfg.model)
    if run_model is not None and not (run_model / "config.json").exists():
        raise StudioError(f"Run {cfg.model[4:]} has no final model yet (it is unfinished or was stopped).")


def start_training(cfg: TrainConfig, name: str | None = None, root: Path | None = None,
                   env: dict[str, str] | None = None, actor: access.Actor | None = None) -> Path:
    """Write the run folder and launch its worker; returns the run folder (the worker may wait queued)."""
    access.require(actor, "Training")
    if not isinstance(cfg, TrainConfig):
        raise ValueError("start_training needs a TrainConfig (core.training.recipes.build_config)")
    with access.acting(actor):
        validate_launch(cfg)
    run_dir = runs.create_run(root or area("runs"), cfg.to_dict(), name)
    runner.launch(run_dir, worker_argv(run_dir), env=env)
    return run_dir


def resume_training(run_dir: Path, env: dict[str, str] | None = None, actor: access.Actor | None = None) -> int:
    """Relaunch a stopped, crashed or failed run from its last checkpoint; returns the new pid."""
    access.require(actor, "Resuming a run")
    run_dir = Path(run_dir)
    if run_dir.is_symlink():
        raise StudioError(f"{run_dir.name} is a symbolic link, not a run folder.")
    if read_only(run_dir):
        raise StudioError(f"Cannot resume {run_dir.name}: its folder is read-only (check the permissions of the "
                          "app home).")
    st = runs.read_status(run_dir)
    if st.active:
        raise StudioError(f"{run_dir.name} is still {st.state}; stop it before resuming.")
    if st.state == "done":
        raise StudioError(f"{run_dir.name} has finished; start a new run to train further (model run:{run_dir.name}).")
    TrainConfig.from_dict(runs.read_config(run_dir))  # refuse an edited, invalid config before launch
    return runner.launch(run_dir, worker_argv(run_dir, resume=True), env=env)


def _submit(cfg: TrainConfig, name: str | None, actor: access.Actor | None) -> kinds.Submitted:
    return kinds.Submitted(start_training(cfg, name=name, actor=actor), "training")


kinds.register("training", TrainConfig, _submit)  # submit(TrainConfig) starts a run


@dataclass
class Estimate:
    parameters: int
    examples: int
    tokens_per_epoch: int
    steps: int | None
    seconds: float
    memory_bytes: int
    device: str
    fits: bool = True
    memory_note: str = ""
    compiles: bool = False  # the first step compiles the model (torch.compile; ~30 s for the tiny model on CPU)
    warning: str = ""  # the budget is too short to learn anything (too_short)
    step_seconds: float = 0.0  # seconds per optimizer step: measured on this machine, else from FLOPs
    measured: bool = False  # step_seconds comes from earlier runs of this model and recipe here

    @property
    def budget_steps(self) -> int:
        """Optimizer steps the run will make (its own count, or its budget over the step time)."""
        return self.steps or int(self.seconds / max(self.step_seconds, 1e-9))

    def describe(self) -> str:
        gib = self.memory_bytes / 2**30
        mins = self.seconds / 60
        how = "measured here" if self.measured else "rough"
        steps = (f"{self.steps} optimizer steps, " if self.steps else
                 f"about {self.budget_steps} optimizer steps ({self.step_seconds:.1f} s each, {how}), ")
        return (f"{self.parameters / 1e6:.1f}M parameters, {self.examples} training examples "
                f"(~{self.tokens_per_epoch:,} tokens/epoch); {steps}about {mins:.0f} min on {self.device}"
                f"{', the first step compiling the model' if self.compiles else ''}; "
                f"peak memory about {gib:.2f} GiB (rough)")


def too_short(steps: float, eval_every: int, warmup: float, step_seconds: float | None = None,
              pretrained: bool = False) -> str:
    """Why a run of about `steps` optimizer steps would learn nothing worth measuring, or ''. A fine-tune
    of a pretrained model needs about LEARNING_STEPS steps (core.training.progress) to learn more than the
    answer letters' frequencies; with the step time known, the sentence says how long that takes here."""
    from core.training.progress import LEARNING_STEPS

    if warmup >= 1 and steps < warmup:
        return (f"This budget is too short to learn: about {steps:.0f} optimizer steps, fewer than the "
                f"{warmup:.0f} warm-up steps, so the learning rate never reaches its value. Give it more time.")
    if pretrained and steps < LEARNING_STEPS:
        need = f" (about {LEARNING_STEPS * step_seconds / 60 * 1.15:.0f} minutes on this machine)" if step_seconds else ""
        return (f"This budget is too short to learn: about {steps:.0f} optimizer steps, and a fine-tune needs about "
                f"{LEARNING_STEPS} to learn more than which answer letters are common{need}. Give it more time.")
    if steps < eval_every and not pretrained:
        return (f"This budget is too short to learn much: about {steps:.0f} optimizer steps, fewer than one "
                f"evaluation interval ({eval_every} steps), so you will see no progress measured. "
                f"Give it more time (or evaluate more often, under Advanced settings).")
    return ""


# Effective training throughput in FLOP/s where nothing was measured here yet (core.training.machine keeps
# what runs measure): SmolLM2-135M on 2 busy CPU cores did ~65 GFLOP/s of the work below; a GPU at a
# modest utilisation. Estimates from these are labelled rough wherever shown.
FLOPS = {"cpu": 6e10, "cuda": 1e14, "mps": 5e12}


def flops_per_token(shape, r) -> float:
    """Training FLOPs per token: the forward of the blocks (2 x their matrices) and the backward (4 x) of
    the trainable ones (LoRA back-propagates activations through all of them, 2 x); recomputing the
    forward with gradient checkpointing adds 2 x. The head runs only on the few answer tokens: left out."""
    blocks = shape.matrix_params
    backward = 2 * blocks if r.lora else 4 * blocks * (1 - r.freeze_fraction)
    return 2 * blocks + backward + (2 * blocks if r.grad_checkpointing else 0)


def estimate(cfg: TrainConfig, model_dir: Path | None = None) -> Estimate:
    """Rough run time and peak memory before launch, from the model's config and the data's tokens."""
    from core.data.prompts import training_conversations
    from core.data.sources import load_source
    from core.models.devices import pick_device
    from core.models.loading import load_tokenizer
    from core.models.memory import TrainSetup, check_training_fits
    from core.training.batching import encode_messages
    from core.training.setup import resolve_model_path, split_questions

    r = cfg.recipe
    model_dir = Path(model_dir) if model_dir else resolve_model_path(cfg.model)
    from core.models.memory import ModelShape
    from core.training.machine import step_seconds as measured_step_seconds

    shape = ModelShape.from_folder(model_dir)
    params = shape.parameters  # the family's shape: GQA, gated MLP, tied head (one formula, memory.py)
    train_q, _, _ = split_questions(load_source(cfg.data), cfg.val_fraction)
    tok = load_tokenizer(model_dir)
    convs = training_conversations(train_q, cfg.format, cfg.system_prompt)  # a teaching format adds open turns
    sample = convs[:: max(1, len(convs) // 200)]
    lengths = [len(e) for e in (encode_messages(tok, m, r.max_seq_len) for m in sample) if e]
    mean_len = sum(lengths) / max(1, len(lengths))
    tokens = int(mean_len * len(convs))
    device = pick_device(cfg.device).type
    measured = measured_step_seconds(cfg.model, r, cfg.format, device)
    step_seconds = measured or r.effective_batch * mean_len * flops_per_token(shape, r) / FLOPS.get(device, FLOPS["cpu"])
    steps = None if cfg.minutes else math.ceil(r.epochs * len(convs) / r.effective_batch)
    seconds = cfg.minutes * 60 if cfg.minutes else steps * step_seconds
    from core.training.recipes import model_kind

    warning = too_short(steps if steps else seconds / max(step_seconds, 1e-9), r.eval_every, r.warmup, step_seconds,
                        pretrained=bool(model_kind(cfg.model)[0]))
    width = min(r.max_seq_len, max(lengths or [64]))
    setup = TrainSetup(batch=r.batch_size, seq_len=width, dtype="float32", optimizer=r.optimizer,
                       grad_checkpointing=r.grad_checkpointing, lora=r.lora, lora_rank=r.lora_r)
    fits, memory_note, mem = check_training_fits(model_dir, setup, cfg.device)
    return Estimate(parameters=params, examples=len(convs), tokens_per_epoch=tokens, steps=steps,
                    seconds=seconds, memory_bytes=mem.total, device=device, fits=fits, memory_note=memory_note,
                    compiles=r.compile, warning=warning, step_seconds=step_seconds, measured=measured is not None)
