"""Training recipes (named hyperparameter sets) and the validated config of one training run.

- `plan`: the project plan's recipe as written, HF-Trainer-like: AdamW lr 5e-5, 2 epochs, warmup 100
  steps then linear decay, weight decay 0.01, batch 2 x 8 accumulation, random (not length-grouped)
  batches, fp16 on GPU, gradient checkpointing on.
- `default`: what measured best here (bench/train_bench.py): length-grouped batches of 16 (padding
  only to each batch's longest) x 2 accumulation, Muon for the 2-D weight matrices and AdamW for
  embeddings and the head with nanochat's SFT learning rates, short warmup then cosine decay. 32
  examples per optimizer step is nanochat's SFT setting, and it pays: Muon's Newton-Schulz step costs
  the same whatever the batch (~20 GFLOP for the tiny model, ~12.6 TFLOP for d20), while ScienceQA's
  examples are short (~200 tokens), so one step per 16 of them spent ~18% of the time on the optimizer.
  The transformer blocks are compiled (`torch.compile`, regional, dynamic shapes), as nanochat compiles
  its model: the first step pays the compilation once, every later step runs fused kernels.
- `tiny`: from-scratch training of the tiny preset (random init): the same optimizer split with
  nanochat's pretraining learning rates (much higher), batches of 32: per example, the Muon step
  (Newton-Schulz on every matrix) costs half what it does with batches of 16, so 10 CPU minutes
  reach 6.3 epochs instead of 5.0 (bench/learn_bench.py).
- `cpu-pretrained`: fine-tuning a pretrained model on a CPU, chosen by what it learns (bench/recipe_screen.py,
  README): full fine-tuning with AdamW at 5e-5, nothing frozen, batches of 8 (more optimizer steps per CPU
  minute), betas 0.9/0.95, 5% warm-up then cosine. AdamW, not Muon: Newton-Schulz on SmolLM2's 210 matrices
  costs about half again a 32-example forward + backward. On 128 real training questions (64 steps of 8) it
  fitted 82.0% of them where the frozen variant below fitted 57.8% (McNemar p 4e-7), and on 400 held-out
  real questions it went 40.0% -> 46.8% (p 0.019).
- `cpu-frozen`: the earlier CPU recipe, chosen by tokens per second: the input embedding (and a tied head)
  and the bottom half of the blocks frozen (`freeze_fraction`), so backward stops halfway (~4N instead of
  6N FLOPs per token), AdamW at 3e-4. 317 real tokens/s on SmolLM2-135M on a quiet machine, +10.3 points on
  the sample in 15 minutes, but on real ScienceQA 45 minutes left 1,000 held-out questions where they were
  (41.6% -> 41.5%) and it answered "A" to 75% of its own training questions: it learns the letters first.

A `TrainConfig` is what `config.json` of a run holds (model, data, prompt format, recipe, budget);
it is validated on construction, so a bad config is refused before anything launches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from core.data.prompts import DEFAULT_FORMAT, DEFAULT_SYSTEM_PROMPT, FORMATS
from core.training.tracking import parse_report_to

OPTIMIZERS = ("adamw", "muon")
SCHEDULES = ("cosine", "linear", "constant")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


@dataclass(frozen=True)
class Recipe:
    name: str = "custom"
    optimizer: str = "muon"  # "muon": Muon for hidden 2-D matrices + AdamW for the rest; "adamw": AdamW for all
    lr: float = 8e-5  # AdamW: the head and every non-matrix parameter (all parameters with "adamw")
    embedding_lr: float = 4e-3  # AdamW on the input embedding (muon optimizer only)
    matrix_lr: float = 4e-4  # Muon on the hidden weight matrices (muon optimizer only)
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.8, 0.95)
    warmup: float = 0.03  # steps when >= 1, a fraction of the run when < 1
    schedule: str = "cosine"
    min_lr_ratio: float = 0.0  # the schedule ends at lr * min_lr_ratio
    batch_size: int = 16
    grad_accum: int = 1
    group_by_length: bool = True
    grad_checkpointing: bool = False
    compile: bool = False  # torch.compile the repeated blocks (core.training.setup.compile_blocks)
    precision: str = "auto"  # auto: bf16/fp16 autocast on GPU (core.models.devices.pick_dtype), fp32 on CPU
    epochs: float = 2.0
    max_seq_len: int = 1024
    grad_clip: float = 1.0
    eval_every: int = 50
    eval_examples: int = 200
    save_every: int = 100
    keep_checkpoints: int = 2
    freeze_fraction: float = 0.0  # freeze the input embedding and this bottom share of the blocks (0: train all)
    shuffle_options: bool = False  # a new seeded order of the options for every example in every epoch
    # The answer letter's own loss, added with this weight to the per-token loss: in the tutor format the
    # letter is one target token of ~40 (and open turns have none), so without it the letter gets ~2% of
    # the gradient and the model learns the explanations' wording before which answer is right.
    answer_weight: float = 0.0
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        for name in ("lr", "embedding_lr", "matrix_lr"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {v} (typical: 1e-5 to 1e-2)")
        if not 0 <= self.answer_weight <= 100:
            raise ValueError(f"answer_weight must be in [0, 100], got {self.answer_weight}")
        if not 0 <= self.weight_decay < 1:
            raise ValueError(f"weight_decay must be in [0, 1), got {self.weight_decay}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.warmup < 0:
            raise ValueError("warmup must be >= 0 (steps, or a fraction of the run when < 1)")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError("min_lr_ratio must be in [0, 1]")
        for name in ("group_by_length", "grad_checkpointing", "compile", "lora", "shuffle_options"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name in ("batch_size", "grad_accum", "eval_every", "save_every", "keep_checkpoints", "lora_r",
                     "lora_alpha"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {v!r}")
        if self.batch_size > 1024:
            raise ValueError(f"batch_size {self.batch_size} is too large; use grad_accum for bigger batches")
        if not 16 <= self.max_seq_len <= 131072:
            raise ValueError(f"max_seq_len must be between 16 and 131072 tokens, got {self.max_seq_len}")
        if not 0 < self.epochs <= 1000:
            raise ValueError(f"epochs must be in (0, 1000], got {self.epochs}")
        if self.grad_clip < 0:
            raise ValueError("grad_clip must be >= 0 (0 turns clipping off)")
        if not 0 <= self.eval_examples <= 100000:
            raise ValueError("eval_examples must be between 0 and 100000")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError("lora_dropout must be in [0, 1)")
        if not 0 <= self.freeze_fraction < 1:
            raise ValueError(f"freeze_fraction must be in [0, 1), got {self.freeze_fraction}")
        if self.freeze_fraction and self.lora:
            raise ValueError("freeze_fraction and lora do not combine: LoRA already freezes the model's weights")

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.grad_accum


RECIPES: dict[str, Recipe] = {
    "plan": Recipe(name="plan", optimizer="adamw", lr=5e-5, weight_decay=0.01, betas=(0.9, 0.999), warmup=100,
                   schedule="linear", batch_size=2, grad_accum=8, group_by_length=False, grad_checkpointing=True,
                   precision="fp16", epochs=2.0, max_seq_len=512, eval_every=200, save_every=500),
    "default": Recipe(name="default", grad_accum=2, compile=True),
    "tiny": Recipe(name="tiny", optimizer="muon", lr=4e-3, embedding_lr=0.2, matrix_lr=0.02, warmup=0.05,
                   schedule="cosine", min_lr_ratio=0.05, batch_size=32, epochs=30.0, eval_every=100,
                   eval_examples=300, save_every=200),
    "cpu-pretrained": Recipe(name="cpu-pretrained", optimizer="adamw", lr=5e-5, betas=(0.9, 0.95), warmup=0.05,
                             schedule="cosine", min_lr_ratio=0.1, batch_size=8, freeze_fraction=0.0, epochs=1.0,
                             max_seq_len=512, eval_every=100, eval_examples=100, save_every=100),
    "cpu-frozen": Recipe(name="cpu-frozen", optimizer="adamw", lr=3e-4, betas=(0.9, 0.95), warmup=0.05,
                         schedule="cosine", min_lr_ratio=0.1, batch_size=8, freeze_fraction=0.5, epochs=1.0,
                         max_seq_len=512, eval_every=100, eval_examples=100, save_every=100),
}
RECIPE_HELP = {
    "plan": "The plan's recipe as written (HF-Trainer-like AdamW 5e-5, batch 2 x 8, random batches).",
    "default": "Measured best: length-grouped batches of 16 x 2 accumulation, Muon + AdamW, cosine decay, compiled.",
    "tiny": "From-scratch recipe for the tiny preset: high learning rates, batches of 32.",
    "cpu-pretrained": "Pretrained model on a CPU: full fine-tuning, AdamW 5e-5, batches of 8 (chosen by what it learns).",
    "cpu-frozen": "Pretrained model on a slow CPU: AdamW 3e-4 on the top half of the blocks, the rest frozen (faster "
                  "steps, learns less).",
}
# A model of a few million parameters trained from scratch for minutes on a CPU learns to pick the
# answer, not to write lectures: spending its budget on "The answer is X." (QCM->A) took the sample's
# test split to +18.4 points over chance in 5 minutes, QCM->ALE to +4.9 (bench/learn_bench.py).
SUGGESTED_FORMAT = {"tiny": "paper", "cpu-pretrained": "paper", "cpu-frozen": "paper"}


def model_kind(model: str) -> tuple[bool | None, str | None]:
    """(pretrained, family) of a model from its manifest (core.models.manifest); (None, None) when it is not
    here or says nothing. The tiny preset is from scratch even before it is created."""
    from core.models.locations import local_model_folder
    from core.models.manifest import read_manifest

    if str(model).strip() == "tiny":
        return False, "nanochat"
    try:
        m = read_manifest(local_model_folder(model))
    except (OSError, ValueError):
        m = None
    if m is None:
        from core.models.presets import PRESETS

        if str(model).strip() in PRESETS:  # a pretrained preset not imported yet
            return True, PRESETS[str(model).strip()].family
    return (m.pretrained, m.family) if m else (None, None)


def suggested_recipe(model: str) -> str:
    """The recipe a model starts with, from what it is (its manifest), not its name: `tiny` for a model
    trained from scratch here, `cpu-pretrained` for a pretrained one without a GPU, `default` otherwise."""
    pretrained, _ = model_kind(model)
    if pretrained is False:
        return "tiny"
    if pretrained:
        import torch

        return "default" if torch.cuda.is_available() else "cpu-pretrained"
    return "default"


def suggested_format(recipe: str, model: str | None = None) -> str:
    """The prompt format a run starts with: `tutor` for a pretrained model (it can learn to explain and to
    answer open questions), else the recipe's (letters only for from-scratch training), else the app's."""
    if model is not None and model_kind(model)[0]:
        return "tutor"
    return SUGGESTED_FORMAT.get(recipe, DEFAULT_FORMAT)


def get_recipe(name: str, **overrides: Any) -> Recipe:
    """A named recipe with some fields replaced (None values are ignored)."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(overrides) - {f.name for f in fields(Recipe)}
    if unknown:
        raise ValueError(f"unknown recipe setting(s): {', '.join(sorted(unknown))}")
    if "betas" in overrides:
        overrides["betas"] = tuple(overrides["betas"])
    if overrides.get("lora") and "freeze_fraction" not in overrides:
        overrides["freeze_fraction"] = 0.0  # LoRA freezes every weight already: it replaces the recipe's freezing
    return replace(RECIPES[name], **overrides)


@dataclass(frozen=True)
class TrainConfig:
    model: str  # a name for core.models.obtain.resolve_model, or a local model folder
    data: str  # a source spec for core.data.sources.load_source (sample, a file, a folder, subset:NAME)
    recipe: Recipe = field(default_factory=lambda: RECIPES["default"])
    format: str = DEFAULT_FORMAT
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
    minutes: float | None = None  # a time budget; None: train for recipe.epochs
    val_fraction: float = 0.1  # held-out share when the source has no val split
    device: str = "auto"
    kind: str = "train"
    label: str = ""  # the run's name as the user gave it (the folder id stays the run's id)
    sweep: str | None = None  # the sweep this run is a member of (core.training.sweeps); None for a lone run
    report_to: tuple[str, ...] = ()  # trackers that mirror metrics.jsonl (core.training.tracking): trackio, tensorboard

    def __post_init__(self) -> None:
        if len(self.label) > 80 or "\n" in self.label:
            raise ValueError("a run's name is one line of at most 80 characters")
        if not str(self.model).strip():
            raise ValueError("model is empty: pick a model (e.g. 'tiny' or a model folder)")
        if not str(self.data).strip():
            raise ValueError("data is empty: pick a data source (e.g. 'sample' or a .jsonl file)")
        if self.format not in FORMATS:
            raise ValueError(f"unknown prompt format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.minutes is not None and not 0 < self.minutes <= 7 * 24 * 60:
            raise ValueError(f"minutes must be in (0, 10080], got {self.minutes}")
        if not 0 < self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not str(self.device).startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, not {self.device!r}")
        if not isinstance(self.recipe, Recipe):
            raise ValueError("recipe must be a Recipe")
        object.__setattr__(self, "report_to", parse_report_to(self.report_to))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Rebuild from config.json; unknown or invalid settings raise ValueError naming them."""
        if not isinstance(d, dict):
            raise ValueError("a training config must be a JSON object")
        d = {k: v for k, v in d.items() if k != "created"}
        recipe = d.pop("recipe", None)
        if not isinstance(recipe, dict):
            raise ValueError("config has no 'recipe' object")
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config setting(s): {', '.join(sorted(unknown))}")
        for k in ("model", "data"):
            if k not in d:
                raise ValueError(f"config is missing {k!r}")
        name = recipe.get("name", "custom")
        base = RECIPES.get(name, Recipe())
        rest = {k: v for k, v in recipe.items() if k != "name"}
        try:
            rec = replace(base, name=name, **{k: tuple(v) if k == "betas" else v for k, v in rest.items()})
        except TypeError as e:
            raise ValueError(f"invalid recipe: {e}") from None
        return cls(recipe=rec, **d)


def build_config(model: str, data: str, recipe: str = "default", fmt: str = DEFAULT_FORMAT,
                 minutes: float | None = None, label: str = "", report_to: str | tuple[str, ...] = (),
                 **overrides: Any) -> TrainConfig:
    """The config for a run: a named recipe plus overrides (recipe fields), validated."""
    return TrainConfig(model=model, data=data, recipe=get_recipe(recipe, **overrides), format=fmt,
                       minutes=minutes, label=label.strip(), report_to=report_to)


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'recipe': {'lr': 1}} -> {'recipe.lr': 1}: for config diffs."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def config_diff(configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Only the settings that differ between runs: {setting: {run: value}}."""
    flat = {name: flatten({k: v for k, v in c.items() if k not in ("created", "label")})
            for name, c in configs.items()}
    keys = sorted({k for f in flat.values() for k in f})
    diff = {}
    for k in keys:
        values = {name: f.get(k) for name, f in flat.items()}
        if len({repr(v) for v in values.values()}) > 1:
            diff[k] = values
    return diff
