"""How much memory a training or inference configuration needs, before anything is launched.

An estimate from the model's shape (config.json), not a measurement: weights, gradients, optimizer
state (AdamW keeps two moments per trained parameter; Muon one momentum buffer for the hidden
matrices, with AdamW for embeddings and head, as nanochat does), activations for batch x sequence
length (with or without gradient checkpointing), the vocabulary-sized logits (large: 65,536 x
tokens), LoRA adapters, and a fixed allowance for the CUDA context. The Train page calls
`check_training_fits` before launch.

    python -m core model estimate --model tiny --batch 8 --seq-len 512 --grad-ckpt
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.files import read_json
from core.models.families import family_for_config

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
OPTIMIZERS = ("adamw", "muon", "sgd")
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "fc1", "fc2")  # nanochat's linears (ReLU² MLP)
LINEARS = (*LORA_TARGETS, "gate_proj", "up_proj", "down_proj")  # and a gated (SwiGLU) MLP's
CUDA_CONTEXT = 600 * 2**20  # CUDA context + cuBLAS workspace, roughly
GiB = 2**30


@dataclass(frozen=True)
class ModelShape:
    """A decoder-only transformer's shape; the one formula for parameter counts and memory estimates.

    The defaults are nanochat's (ReLU² MLP fc1/fc2, untied embedding and head, norms without weights);
    a family's `shape_fields(config)` (core.models.families) sets the rest (SwiGLU, tied, norm weights, biases).
    """
    n_layer: int
    hidden: int
    n_head: int
    n_kv_head: int
    vocab: int
    intermediate: int
    head_dim: int | None = None  # hidden // n_head unless the config says otherwise
    gated: bool = False  # gate_proj/up_proj/down_proj instead of fc1/fc2
    tied: bool = False  # lm_head shares the input embedding
    norm_weights: bool = False  # two RMSNorm weights per layer + a final one
    qkv_bias: bool = False

    @classmethod
    def from_config(cls, c: dict) -> "ModelShape":
        return cls(**family_for_config(c).shape_fields(c))

    @classmethod
    def from_folder(cls, folder: Path) -> "ModelShape":
        return cls.from_config(read_json(Path(folder) / "config.json"))

    @property
    def q_dim(self) -> int:
        return (self.head_dim or self.hidden // self.n_head) * self.n_head

    @property
    def kv_dim(self) -> int:
        return (self.head_dim or self.hidden // self.n_head) * self.n_kv_head

    @property
    def layer_matrices(self) -> dict[str, tuple[int, int]]:
        """(out, in) of each linear in one decoder layer."""
        h, q, kv, i = self.hidden, self.q_dim, self.kv_dim, self.intermediate
        mlp = {"gate_proj": (i, h), "up_proj": (i, h), "down_proj": (h, i)} if self.gated else \
            {"fc1": (i, h), "fc2": (h, i)}
        return {"q_proj": (q, h), "k_proj": (kv, h), "v_proj": (kv, h), "o_proj": (h, q), **mlp}

    @property
    def embedding_params(self) -> int:
        return (1 if self.tied else 2) * self.vocab * self.hidden  # input embedding (+ lm_head when untied)

    @property
    def matrix_params(self) -> int:
        return self.n_layer * sum(o * i for o, i in self.layer_matrices.values())

    @property
    def vector_params(self) -> int:
        """Norm weights and attention biases (none in nanochat)."""
        norms = (2 * self.n_layer + 1) * self.hidden if self.norm_weights else 0
        return norms + (self.n_layer * (self.q_dim + 2 * self.kv_dim) if self.qkv_bias else 0)

    @property
    def parameters(self) -> int:
        return self.embedding_params + self.matrix_params + self.vector_params


@dataclass(frozen=True)
class TrainSetup:
    batch: int = 8
    seq_len: int = 512
    dtype: str = "bfloat16"  # of the weights being trained (and of activations)
    optimizer: str = "adamw"
    grad_checkpointing: bool = False
    lora: bool = False
    lora_rank: int = 16
    lora_targets: tuple[str, ...] | None = None  # None: every linear of the model's layers

    def __post_init__(self) -> None:
        if self.batch < 1 or self.seq_len < 1:
            raise ValueError("batch and seq_len must be at least 1")
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if self.lora and self.lora_rank < 1:
            raise ValueError("lora_rank must be at least 1")
        unknown = set(self.lora_targets or ()) - set(LINEARS)
        if unknown:
            raise ValueError(f"unknown LoRA targets {sorted(unknown)}; use {', '.join(LINEARS)}")


@dataclass
class MemoryEstimate:
    parts: dict[str, int] = field(default_factory=dict)  # bytes per component
    trainable: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def table(self) -> list[dict]:
        return [{"component": k, "GiB": round(v / GiB, 3)} for k, v in self.parts.items()] + [
            {"component": "total", "GiB": round(self.total / GiB, 3)}]


def lora_parameters(shape: ModelShape, rank: int, targets: tuple[str, ...] | None = None) -> int:
    """A (r x in) and B (out x r) per targeted linear per layer (targets the shape lacks count nothing)."""
    mats = shape.layer_matrices
    return shape.n_layer * sum(rank * (mats[t][0] + mats[t][1]) for t in targets or mats if t in mats)


def _activation_elements_per_token_layer(shape: ModelShape) -> int:
    """Tensors one decoder layer keeps for backward, per token (SDPA/flash attention: no T x T scores).

    norm in/out (2h), q/k/v before and after rotary + QK norm (2(h + 2kv)), attention output (h),
    residual + second norm (2h), ReLU output and its square (2i). Checked against autograd's saved
    tensors in tests/test_memory.py.
    """
    h, kv, i = shape.hidden, shape.kv_dim, shape.intermediate
    return 2 * h + 2 * (h + 2 * kv) + h + 2 * h + (4 if shape.gated else 2) * i  # SwiGLU: gate, up, act, product


def estimate_training(shape: ModelShape, setup: TrainSetup, cuda: bool = True) -> MemoryEstimate:
    b = DTYPE_BYTES[setup.dtype]
    tokens = setup.batch * setup.seq_len
    est = MemoryEstimate()
    est.parts["weights"] = shape.parameters * b
    if setup.lora:
        trainable = lora_parameters(shape, setup.lora_rank, setup.lora_targets)
        matrix_trainable, other_trainable = trainable, 0
        est.parts["weights"] += trainable * 4  # adapters are kept in fp32
        grad_bytes = trainable * 4
        targets = [t for t in setup.lora_targets or shape.layer_matrices if t in shape.layer_matrices]
        est.notes.append(f"LoRA rank {setup.lora_rank} on {', '.join(targets)}: base weights frozen")
    else:
        trainable = shape.parameters
        matrix_trainable, other_trainable = shape.matrix_params, shape.embedding_params + shape.vector_params
        grad_bytes = trainable * b
    state_b = 4 if setup.lora else b  # optimizer moments match the trained parameters' dtype
    est.trainable = trainable
    est.parts["gradients"] = grad_bytes
    if setup.optimizer == "adamw":
        est.parts["optimizer"] = 2 * trainable * state_b
    elif setup.optimizer == "muon":
        # Muon: one momentum buffer for the hidden matrices (+ Newton-Schulz temporaries for the largest);
        # AdamW for embeddings and lm_head, as nanochat splits them.
        biggest = max(o * i for o, i in shape.layer_matrices.values())
        est.parts["optimizer"] = matrix_trainable * state_b + 2 * other_trainable * state_b + 3 * biggest * 4
    else:
        est.parts["optimizer"] = trainable * state_b  # SGD with momentum
    per_layer = _activation_elements_per_token_layer(shape)
    if setup.grad_checkpointing:
        # each layer's input is kept; one layer's activations are rebuilt at a time during backward
        act = tokens * (shape.n_layer * shape.hidden + per_layer) * b
    else:
        act = tokens * shape.n_layer * per_layer * b
    if setup.lora:
        act += tokens * shape.n_layer * len(targets) * setup.lora_rank * 4
    est.parts["activations"] = act
    # saved: the soft-cap's tanh output (dtype) and the loss's fp32 log-softmax; + their fp32 gradient
    est.parts["logits"] = tokens * shape.vocab * (b + 4 + 4)
    if cuda:
        est.parts["cuda context"] = CUDA_CONTEXT
    est.parts["fragmentation (10%)"] = int(0.10 * sum(est.parts.values()))
    return est


def estimate_inference(shape: ModelShape, batch: int = 1, seq_len: int = 1024, dtype: str = "bfloat16",
                       full_logits: bool = False, cuda: bool = True) -> MemoryEstimate:
    """Generation (logits for the last position) or scoring (`full_logits`: every position, fp32)."""
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)}")
    b = DTYPE_BYTES[dtype]
    tokens = batch * seq_len
    est = MemoryEstimate()
    est.parts["weights"] = shape.parameters * b
    est.parts["kv cache"] = 2 * shape.n_layer * tokens * shape.kv_dim * b
    est.parts["activations"] = tokens * (2 * shape.hidden + shape.intermediate) * b  # one layer at a time
    est.parts["logits"] = (tokens if full_logits else batch) * shape.vocab * (b + 4)
    if cuda:
        est.parts["cuda context"] = CUDA_CONTEXT
    return est


def available_memory(device: str = "auto") -> tuple[str, int | None]:
    """(device description, free bytes) for the device training would use; None when unknown."""
    import torch

    from core.models.devices import pick_device

    dev = pick_device(device)
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        return f"{torch.cuda.get_device_name(dev)} (GPU)", int(free)
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return f"{dev.type.upper()} (system memory)", int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return dev.type.upper(), None


def check_training_fits(model_folder: Path, setup: TrainSetup, device: str = "auto") -> tuple[bool, str, MemoryEstimate]:
    """For the Train page: (fits, one-line message, estimate) for this model, setup and device."""
    from core.models.devices import pick_device

    dev = pick_device(device)
    est = estimate_training(ModelShape.from_folder(model_folder), setup, cuda=dev.type == "cuda")
    name, free = available_memory(device)
    need = est.total / GiB
    if free is None:
        return True, f"Needs about {need:.2f} GiB on {name} (free memory unknown).", est
    ok = est.total <= free
    msg = f"Needs about {need:.2f} GiB; {name} has {free / GiB:.2f} GiB free."
    if not ok:
        hints = [h for h, on in (("gradient checkpointing", not setup.grad_checkpointing), ("LoRA", not setup.lora),
                                 ("a smaller batch or sequence length", True)) if on]
        msg += " It will probably not fit: try " + ", ".join(hints) + "."
    return ok, msg, est
