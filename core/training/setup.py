"""What the training worker builds before and around its loop: the model (optionally LoRA-wrapped),
the tokenized train/eval data, the optimizers, the learning-rate schedule, checkpoints and the final
model folder. Pure functions over a `TrainConfig`; `core.training.worker` runs the loop.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from core.data.records import Question
from core.errors import StudioError
from core.files import atomic_dir, read_json, write_json_atomic
from core.jobs import runs
from core.models.devices import pick_device
from core.models.families import GENERIC, family_for_config, require_assistant_markers
from core.models.loading import LoadedModel, load_model
from core.models.manifest import Manifest, read_manifest, write_manifest
from core.training.batching import Example, encode_all
from core.training.muon import Muon
from core.training.recipes import Recipe, TrainConfig


def resolve_model_path(name: str) -> Path:
    """A model name -> a local transformers folder (core.models.catalogue when present; else a folder or run:<id>)."""
    try:
        from core.models.obtain import resolve_model
    except ModuleNotFoundError as e:
        if e.name not in ("core.models.catalogue", "core.models.locations"):
            raise
        resolve_model = None
    if resolve_model is not None:
        return Path(resolve_model(name))
    path = runs.run_model_dir(name) or Path(name).expanduser()
    if not (path / "config.json").exists():
        raise StudioError(f"Model {name!r} not found: give a model folder in transformers format or run:<id>.")
    return path


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's complete checkpoints, newest first (symlinks are never followed: none is listed)."""
    folder = runs.checkpoints_dir(run_dir)
    if folder.is_symlink() or not folder.is_dir():
        return []
    cks = [c for c in folder.glob("step_*") if c.name[5:].isdigit() and not c.is_symlink()
           and (c / "trainer_state.json").is_file()]
    return sorted(cks, key=lambda p: int(p.name[5:]), reverse=True)


def last_checkpoint(run_dir: Path) -> Path | None:
    cks = checkpoints(run_dir)
    return cks[0] if cks else None


def clean_partial_writes(run_dir: Path) -> list[str]:
    """Remove what an interrupted write left (atomic folders' `.NAME.*.partial` / `.old`, temp files) and a
    symlinked checkpoints folder (the link only, never its target); returns what went, for the log."""
    run_dir = Path(run_dir)
    gone = []
    ck = runs.checkpoints_dir(run_dir)
    if ck.is_symlink():
        ck.unlink()
        gone.append("checkpoints (a symbolic link)")
    for folder in (run_dir, ck):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name.startswith(".") and (p.name.endswith((".partial", ".tmp")) or p.name.endswith(".old")):
                if p.is_symlink() or p.is_file():
                    p.unlink()
                else:
                    shutil.rmtree(p, ignore_errors=True)
                gone.append(str(p.relative_to(run_dir)))
    return gone


def load_for_training(cfg: TrainConfig, world: int = 1, rank: int = 0,
                      checkpoint: Path | None = None) -> tuple[LoadedModel, torch.device]:
    """The model in fp32 on its device, train mode; from `checkpoint` when resuming."""
    import os
    r = cfg.recipe
    device = pick_device(cfg.device)
    if world > 1 and device.type == "cuda":
        device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}")
        torch.cuda.set_device(device)
    base = resolve_model_path(cfg.model)
    src = checkpoint if checkpoint is not None and not r.lora else base
    torch.manual_seed(r.seed)
    loaded = load_model(src, device=device, dtype=torch.float32, train=True)
    model = loaded.model
    if r.grad_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    if r.freeze_fraction:
        freeze_bottom(model, r.freeze_fraction)
    if r.lora:
        from peft import LoraConfig, PeftModel, get_peft_model
        if checkpoint is not None:
            model = PeftModel.from_pretrained(model, checkpoint, is_trainable=True)
        else:
            targets = list(family_for_config(model.config.to_dict()).lora_targets)
            model = get_peft_model(model, LoraConfig(r=r.lora_r, lora_alpha=r.lora_alpha, lora_dropout=r.lora_dropout,
                                                     target_modules=targets, task_type="CAUSAL_LM"))
        if r.grad_checkpointing:
            model.enable_input_require_grads()
        model.train()
    loaded.model = model
    return loaded, device


def freeze_bottom(model: torch.nn.Module, fraction: float) -> int:
    """Freeze the input embedding and the bottom `fraction` of the transformer blocks (the model's
    longest ModuleList); returns how many blocks are frozen. Backward then stops at the first trainable
    block: on a CPU, where every FLOP shows, a step costs about 2N + 4N x (trainable share) instead of
    6N per token. A head tied to the embedding is frozen with it."""
    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList)]
    if not lists:
        raise StudioError("freeze_fraction: this model has no list of transformer blocks to freeze")
    blocks = max(lists, key=len)
    n = int(len(blocks) * fraction)
    for module in [model.get_input_embeddings(), *blocks[:n]]:
        for p in module.parameters():
            p.requires_grad_(False)
    return n


def compile_blocks(module: torch.nn.Module, device: torch.device) -> tuple[torch.nn.Module, str]:
    """`module` (the model, or the loss around it) with the model's repeated blocks compiled (accelerate's
    regional compilation: the layers share one compiled graph instead of the whole model being traced),
    shapes dynamic because length-grouped batches differ in length. Parameters are shared with
    `module`, whose model stays the one to save. Returns (module to call, a line for the log).

    A small function is compiled first, forward and backward: where that fails (on CPU, Inductor needs a
    working C++ compiler; on a GPU, Triton), the run trains uncompiled and the log says why. After it,
    a graph that fails to compile runs uncompiled (dynamo's suppress_errors) instead of ending the run."""
    why = _compile_fails(device)
    if why:
        return module, f"not compiling, training uncompiled: torch.compile does not work here ({why})"
    import torch._dynamo
    from accelerate.utils import compile_regions

    torch._dynamo.config.suppress_errors = True
    compiled = compile_regions(module, dynamic=True)
    return compiled, "compiling the model's blocks (torch.compile): the first step is slower"


def _compile_fails(device: torch.device) -> str | None:
    """Why torch.compile cannot run a forward and backward pass on `device`, or None when it can."""
    def probe(x):
        return torch.tanh(x).pow(2).sum()

    try:
        x = torch.randn(8, device=device, requires_grad=True)
        torch.compile(probe)(x).backward()
    except Exception as e:  # any failure of the toolchain means: do not compile
        lines = [ln for ln in str(e).splitlines() if ln.strip() and "TORCHDYNAMO_VERBOSE" not in ln
                 and "TORCH_LOGS" not in ln]
        return f"{type(e).__name__}: {lines[-1][:200]}" if lines else type(e).__name__
    return None


@dataclass
class Data:
    train: list[Example]
    val: list[Example]
    val_questions: list[Question]  # the eval slice, for categorical accuracy
    pad_id: int
    notes: list[str] = field(default_factory=list)
    train_questions: list[Question] = field(default_factory=list)  # what `train` was encoded from


HOLDOUT_SEED = 0  # not the recipe's seed: runs on the same data that differ only in seed share one eval set


def split_questions(questions: list[Question], val_fraction: float,
                    seed: int = HOLDOUT_SEED) -> tuple[list[Question], list[Question], str]:
    """(train, val, how): the source's train/val splits when present, else a seeded held-out slice."""
    splits = {q.split for q in questions}
    train = [q for q in questions if q.split == "train"] if "train" in splits else list(questions)
    if "val" in splits:
        return train, [q for q in questions if q.split == "val"], "the source's train and val splits"
    pool = sorted(train, key=lambda q: q.pid)
    random.Random(seed).shuffle(pool)
    n_val = max(1, round(len(pool) * val_fraction)) if len(pool) >= 10 else 0
    how = f"{'the train split' if 'train' in splits else 'all rows'}, {n_val} held out (seed {seed})"
    return pool[n_val:], pool[:n_val], how


def load_data(cfg: TrainConfig, tokenizer) -> Data:
    from core.data.sources import load_source

    r = cfg.recipe
    require_assistant_markers(tokenizer, getattr(tokenizer, "name_or_path", "") or cfg.model)
    questions = load_source(cfg.data)
    train_q, val_q, how = split_questions(questions, cfg.val_fraction)
    train, dropped = encode_all(tokenizer, train_q, cfg.format, cfg.system_prompt, r.max_seq_len)
    eval_q = list(val_q)
    random.Random(r.seed + 1).shuffle(eval_q)
    eval_q = eval_q[: r.eval_examples]
    val, _ = encode_all(tokenizer, eval_q, cfg.format, cfg.system_prompt, r.max_seq_len)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    notes = [f"data {cfg.data}: {len(questions)} questions; training on {how}: {len(train)} train examples, "
             f"{len(eval_q)} eval questions"]
    if dropped:
        notes.append(f"{dropped} examples dropped: longer than max_seq_len={r.max_seq_len} before the answer")
    return Data(train=train, val=val, val_questions=eval_q, pad_id=int(pad), notes=notes, train_questions=train_q)


def build_optimizers(model: torch.nn.Module, r: Recipe) -> list[torch.optim.Optimizer]:
    """AdamW for everything ("adamw", and always with LoRA), or Muon for the hidden 2-D matrices plus
    AdamW for the embedding (embedding_lr) and the head and the rest (lr), as nanochat does."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if r.optimizer == "adamw" or r.lora:
        groups = [{"params": [p for _, p in named if p.ndim >= 2], "weight_decay": r.weight_decay, "lr": r.lr,
                   "name": "AdamW"},
                  {"params": [p for _, p in named if p.ndim < 2], "weight_decay": 0.0, "lr": r.lr, "name": "AdamW"}]
        opts = [torch.optim.AdamW([g for g in groups if g["params"]], lr=r.lr, betas=r.betas)]
    else:
        emb = [p for n, p in named if "embed_tokens" in n]
        matrices = [p for n, p in named if p.ndim == 2 and "embed_tokens" not in n and "lm_head" not in n]
        rest = [p for n, p in named if "embed_tokens" not in n and not (p.ndim == 2 and "lm_head" not in n)]
        adam = [g for g in ({"params": emb, "lr": r.embedding_lr, "name": "embedding (AdamW)"},
                            {"params": rest, "lr": r.lr, "name": "head and vectors (AdamW)"}) if g["params"]]
        opts = [torch.optim.AdamW(adam, lr=r.lr, betas=r.betas, weight_decay=0.0)]
        if matrices:
            opts.append(Muon(matrices, lr=r.matrix_lr, weight_decay=r.weight_decay, momentum=0.95))
            opts[-1].param_groups[0]["name"] = "matrices (Muon)"
    for opt in opts:
        for g in opt.param_groups:
            g["base_lr"] = g["lr"]
    return opts


def lr_factor(r: Recipe, step: int, progress: float) -> float:
    """Multiplier of every base lr: linear warmup (steps, or a fraction of the run), then decay over the
    run's progress (0..1, by steps or by the time budget) to `min_lr_ratio`."""
    if r.warmup >= 1:
        warm = min(1.0, (step + 1) / r.warmup)
    elif r.warmup > 0:
        warm = min(1.0, max(progress, 1e-3) / r.warmup)
    else:
        warm = 1.0
    m = r.min_lr_ratio
    if r.schedule == "cosine":
        decay = m + (1 - m) * 0.5 * (1 + math.cos(math.pi * progress))
    elif r.schedule == "linear":
        decay = m + (1 - m) * (1 - progress)
    else:
        decay = 1.0
    return warm * decay


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def save_checkpoint(run_dir: Path, model, tokenizer, opts, state: dict, keep: int) -> Path:
    """checkpoints/step_<n>/: model (or LoRA adapter) + tokenizer + optimizer state + trainer_state.json."""
    ck = runs.checkpoints_dir(run_dir) / f"step_{state['step']}"
    if ck.parent.is_symlink():  # never write through a link planted in the run folder
        ck.parent.unlink()
    with atomic_dir(ck, overwrite=True) as tmp:
        _unwrap(model).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        torch.save({"optimizers": [o.state_dict() for o in opts], "torch_rng": torch.get_rng_state()},
                   tmp / "optimizer.pt")
        write_json_atomic(tmp / "trainer_state.json", {**state, "saved": time.time()})
    for old in checkpoints(run_dir)[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return ck


def load_checkpoint(checkpoint: Path, opts) -> dict:
    """Restore optimizer state and return the trainer state saved with the checkpoint."""
    blob = torch.load(checkpoint / "optimizer.pt", map_location="cpu", weights_only=True)
    if len(blob["optimizers"]) != len(opts):
        raise StudioError(f"{checkpoint} was saved with a different optimizer setup; start a new run.")
    for opt, sd in zip(opts, blob["optimizers"]):
        base = [g["base_lr"] for g in opt.param_groups]
        opt.load_state_dict(sd)
        for g, b in zip(opt.param_groups, base):
            g["base_lr"] = b
    torch.set_rng_state(blob["torch_rng"])
    return read_json(checkpoint / "trainer_state.json")


def save_final_model(run_dir: Path, model, tokenizer, cfg: TrainConfig) -> Path:
    """model/: a plain transformers folder (LoRA merged) that core.models.loading.load_model opens."""
    m = _unwrap(model)
    if hasattr(m, "merge_and_unload"):
        m = m.merge_and_unload()
    out = runs.model_dir(run_dir)
    with atomic_dir(out, overwrite=True) as tmp:
        m.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        base = _base_manifest(cfg.model)
        write_manifest(tmp, Manifest(
            kind="run", source=cfg.model, base_model=cfg.model, format=cfg.format, recipe=cfg.recipe.name,
            family=(base.family if base and base.family else _family_name(m.config.to_dict())), pretrained=base.pretrained if base else False,
            parameters=sum(p.numel() for p in m.parameters()),
            extra={"run": Path(run_dir).name, "data": cfg.data, "lora": cfg.recipe.lora}))
    return out


def _family_name(config: dict) -> str | None:
    family = family_for_config(config)
    return None if family is GENERIC else family.name


def _base_manifest(name: str) -> Manifest | None:
    """The manifest of the model a run started from (already here: the run loaded it)."""
    from core.models.locations import local_model_folder

    return read_manifest(local_model_folder(name))
