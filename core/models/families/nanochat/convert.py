"""Convert a raw nanochat checkpoint into a transformers `NanoChatForCausalLM` folder.

A raw checkpoint is nanochat's own output: `model_<step>.pt` (a state dict), `meta_<step>.json`
(`model_config`: sequence_len, vocab_size, n_layer, n_head, n_kv_head, n_embd) and `tokenizer.pkl`
(a pickled `tiktoken.Encoding`), possibly under `chatsft_checkpoints/d20/` and `tokenizer/`.
The output folder holds config.json + safetensors + a fast tokenizer carrying nanochat's chat
template (core/models/families/nanochat/template.py) + `studio.json` (what was converted, from where).

Safety: weights load with `torch.load(weights_only=True)`, the tokenizer through
core/models/families/nanochat/safe_pickle.py; checkpoints of newer nanochat (per-layer scalars, value embeddings) that
transformers does not implement are refused; the output is built with `atomic_dir`, so a crash
never leaves half a folder.

    python -m core model convert ./my_nanochat_run OUT_DIR
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.errors import StudioError
from core.files import atomic_dir, read_json
from core.models.families.nanochat.template import ASSISTANT_END, BOS, CHAT_TEMPLATE, SPECIAL_TOKENS
from core.models.manifest import Manifest, write_manifest

# nanochat's checkpoint folders per training stage, in the order we prefer them for fine-tuning.
STAGE_DIRS = {"sft": "chatsft_checkpoints", "rl": "chatrl_checkpoints", "mid": "mid_checkpoints",
              "base": "base_checkpoints"}
# Parameters of nanochat versions newer than the late-2025 architecture transformers implements.
NEWER_ARCH_MARKERS = ("resid_lambdas", "x0_lambdas", "value_embeds", "ve_gate", "smear", "backout")
SOFTCAP = 15.0
# model_<step>.pt, as nanochat writes it; or model.pt (+ meta.json), as some Hub repos upload it
_MODEL_RE = re.compile(r"^model(?:_(\d+))?\.pt$")
# short folder names some repos use instead of nanochat's own (sft/, base/, ...)
STAGE_ALIASES = {"sft": "sft", "chatsft": "sft", "rl": "rl", "chatrl": "rl", "mid": "mid", "base": "base"}
UNNUMBERED = -1  # the step of a model.pt without a number (numbered checkpoints win over it)


@dataclass(frozen=True)
class RawCheckpoint:
    """The files of one checkpoint, as paths relative to a root (a local folder or a Hub repo)."""
    model: str
    meta: str
    tokenizer: str
    step: int  # UNNUMBERED for model.pt
    stage: str | None
    stage_from_layout: bool = True  # False: the layout names no stage; `stage` is the one asked for

    @property
    def files(self) -> list[str]:
        return [self.model, self.meta, self.tokenizer]


def _stage_of(path: PurePosixPath) -> str | None:
    for stage, dirname in STAGE_DIRS.items():
        if dirname in path.parts:
            return stage
    for part in reversed(path.parts):
        if part.lower() in STAGE_ALIASES:
            return STAGE_ALIASES[part.lower()]
    return None


def _step_of(path: PurePosixPath) -> int:
    number = _MODEL_RE.match(path.name).group(1)
    return int(number) if number is not None else UNNUMBERED


def select_checkpoint(paths: list[str], stage: str | None = None, step: int | None = None,
                      prefer: str | None = None) -> RawCheckpoint:
    """Pick model/meta/tokenizer files among `paths` (repo-relative, '/'-separated).

    Stage: the one asked for (required where the layout names stages; taken on trust where it names
    none, as in a repo with its files at the root), else `prefer` if present, else the only one present,
    else sft > rl > mid > base. Step: the one asked for, else the latest in that folder (a numbered
    model_<step>.pt before a plain model.pt).
    """
    for s in (stage, prefer):
        if s is not None and s not in STAGE_DIRS:
            raise ValueError(f"unknown stage '{s}'; use one of {', '.join(STAGE_DIRS)}")
    all_paths = [PurePosixPath(p) for p in paths]
    models = [p for p in all_paths if _MODEL_RE.match(p.name)]
    if not models:
        raise StudioError("No nanochat checkpoint found (no model_<step>.pt or model.pt file). Expected "
                          "nanochat's model_<step>.pt + meta_<step>.json + tokenizer.pkl.")
    dirs: dict[PurePosixPath, list[PurePosixPath]] = {}
    for p in models:
        dirs.setdefault(p.parent, []).append(p)
    trusted = False
    if stage is not None:
        chosen = [d for d in dirs if _stage_of(d) == stage]
        if not chosen and len(dirs) == 1 and _stage_of(next(iter(dirs))) is None:
            chosen, trusted = list(dirs), True  # one checkpoint, no stage in its path: take the asked stage on trust
        if not chosen:
            have = sorted({_stage_of(d) or (str(d) if str(d) != "." else "the root folder") for d in dirs})
            raise StudioError(f"No '{stage}' checkpoint here; found: {', '.join(have)}.")
    else:
        chosen = [d for d in dirs if prefer and _stage_of(d) == prefer] or list(dirs)
        if prefer and len(dirs) == 1 and _stage_of(chosen[0]) is None:
            stage, trusted = prefer, True  # the catalogue knows which stage this repo's only checkpoint is
    if len(chosen) > 1:
        order = list(STAGE_DIRS)
        chosen.sort(key=lambda d: (order.index(_stage_of(d)) if _stage_of(d) else len(order), str(d)))
    folder = chosen[0]
    by_step = {_step_of(p): p for p in dirs[folder]}
    if step is None:
        step = max(by_step)
    if step not in by_step:
        steps = [str(s) if s != UNNUMBERED else "model.pt" for s in sorted(by_step)]
        raise StudioError(f"No step {step} in {folder}; available steps: {', '.join(steps)}.")
    model = by_step[step]
    meta = model.with_name("meta" + model.name.removeprefix("model").removesuffix(".pt") + ".json")
    if meta not in all_paths:
        raise StudioError(f"{model} has no {meta.name} beside it (nanochat writes the model config there).")
    return RawCheckpoint(model=str(model), meta=str(meta), tokenizer=str(_find_tokenizer(all_paths, folder)),
                         step=step, stage=stage if trusted else _stage_of(folder), stage_from_layout=not trusted)


def _find_tokenizer(paths: list[PurePosixPath], folder: PurePosixPath) -> PurePosixPath:
    pickles = [p for p in paths if p.name == "tokenizer.pkl"]
    if not pickles:
        raise StudioError("No tokenizer.pkl found: a nanochat checkpoint needs the tokenizer it was trained with.")
    # the nearest one: beside the weights, then in an ancestor folder or its tokenizer/ subfolder
    for anc in [folder, *folder.parents]:
        for cand in (anc / "tokenizer.pkl", anc / "tokenizer" / "tokenizer.pkl"):
            if cand in pickles:
                return cand
    if len(pickles) == 1:
        return pickles[0]
    raise StudioError(f"Several tokenizer.pkl files and none beside {folder}: {', '.join(map(str, pickles))}.")


def local_checkpoint(folder: Path, stage: str | None = None, step: int | None = None) -> RawCheckpoint:
    folder = Path(folder)
    if not folder.is_dir():
        raise StudioError(f"{folder} is not a folder.")
    paths = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()]
    return select_checkpoint(paths, stage, step)


def is_raw_nanochat(folder: Path) -> bool:
    folder = Path(folder)
    return folder.is_dir() and not (folder / "config.json").exists() and any(
        _MODEL_RE.match(p.name) for p in folder.rglob("model*.pt"))


# ---- weights -------------------------------------------------------------------------------------

def load_state_dict(path: Path) -> dict:
    """torch.load with weights_only=True; a truncated or foreign file is a StudioError."""
    import pickle
    import warnings
    import zipfile

    import torch

    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the refusal below says it all
            warnings.simplefilter("ignore")
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise StudioError(f"Refused to load {path}: it holds more than tensors ({_unpickler_reason(e)}).") from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise StudioError(f"{path} is truncated or corrupt and cannot be read ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}). Download or copy it again.") from e
    if isinstance(sd, dict) and "model" in sd and isinstance(sd["model"], dict):
        sd = sd["model"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise StudioError(f"{path} is not a state dict of tensors.")
    # torch.compile prefixes every key with `_orig_mod.`
    return {k.removeprefix("_orig_mod."): v for k, v in sd.items()}


def _unpickler_reason(e: Exception) -> str:
    """The one informative clause of torch's weights-only refusal (its message is a paragraph of advice)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))
    reason = text.split("WeightsUnpickler error:", 1)[1] if "WeightsUnpickler error:" in text else text
    reason = " ".join(reason.split()).split(" Check the documentation", 1)[0]
    return reason.split(". ", 1)[0].rstrip(".")[:200]


def read_model_config(meta_path: Path) -> dict:
    """The six sizes of nanochat's model_config, each a positive whole number (else one line naming the
    file and the field: a zero or negative size would only fail later, deep inside the conversion)."""
    meta = read_json(meta_path)
    cfg = meta.get("model_config", meta) if isinstance(meta, dict) else None
    need = ("sequence_len", "vocab_size", "n_layer", "n_head", "n_kv_head", "n_embd")
    if not isinstance(cfg, dict) or any(k not in cfg for k in need):
        raise StudioError(f"{meta_path} has no complete model_config (needs {', '.join(need)}).")
    for k in need:
        v = cfg[k]
        whole = isinstance(v, int) or (isinstance(v, float) and v.is_integer())
        if isinstance(v, bool) or not whole or v < 1:
            raise StudioError(f"{meta_path}: model_config.{k} must be a positive whole number, not {json.dumps(v)[:40]}.")
    window = str(cfg.get("window_pattern", "L")).upper()
    if set(window) - {"L"}:
        # newer nanochat alternates sliding-window ("S") and full ("L") attention layers
        raise StudioError(f"{meta_path} describes a newer nanochat architecture (sliding-window attention, "
                          f"window_pattern={cfg['window_pattern']}) that transformers' NanoChat does not implement.")
    sizes = {k: int(cfg[k]) for k in need}
    for big, small in (("n_embd", "n_head"), ("n_head", "n_kv_head")):
        if sizes[big] % sizes[small]:
            raise StudioError(f"{meta_path}: model_config.{big} ({sizes[big]}) is not a multiple of "
                              f"model_config.{small} ({sizes[small]}).")
    if sizes["n_embd"] // sizes["n_head"] % 2:
        raise StudioError(f"{meta_path}: model_config.n_embd / n_head ({sizes['n_embd'] // sizes['n_head']}) must be "
                          "even (rotary embeddings rotate pairs of channels).")
    return sizes


def rename_state_dict(sd: dict, n_layer: int, vocab_size: int) -> dict:
    """nanochat key names -> NanoChatForCausalLM key names (refusing anything it would not load)."""
    newer = sorted({k for k in sd if any(m in k for m in NEWER_ARCH_MARKERS)})
    if newer:
        raise StudioError(f"This checkpoint is a newer nanochat architecture that transformers cannot load "
                          f"(it has {', '.join(newer[:4])}{' ...' if len(newer) > 4 else ''}). Only the "
                          "late-2025 nanochat (rotary, QK norm, ReLU², untied embeddings) can be converted.")
    mapping = {"transformer.wte.weight": "model.embed_tokens.weight", "lm_head.weight": "lm_head.weight"}
    parts = {"attn.c_q": "self_attn.q_proj", "attn.c_k": "self_attn.k_proj", "attn.c_v": "self_attn.v_proj",
             "attn.c_proj": "self_attn.o_proj", "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}
    for i in range(n_layer):
        for old, new in parts.items():
            mapping[f"transformer.h.{i}.{old}.weight"] = f"model.layers.{i}.{new}.weight"
    unknown = sorted(set(sd) - set(mapping))
    missing = sorted(set(mapping) - set(sd))
    if unknown or missing:
        detail = (f"unexpected {', '.join(unknown[:4])}" if unknown else "") + \
                 ("; " if unknown and missing else "") + (f"missing {', '.join(missing[:4])}" if missing else "")
        raise StudioError(f"The weights do not match the nanochat architecture in meta json ({detail}).")
    out = {mapping[k]: v for k, v in sd.items()}
    for key in ("model.embed_tokens.weight", "lm_head.weight"):
        rows = out[key].shape[0]
        if rows < vocab_size:
            raise StudioError(f"{key} has {rows} rows but the vocabulary has {vocab_size} tokens.")
        out[key] = out[key][:vocab_size]  # newer nanochat pads the vocab to a multiple of 64
    return out


def build_config(cfg: dict, bos_id: int, eos_id: int, dtype: str):
    import torch
    from transformers import NanoChatConfig

    if cfg["n_embd"] % cfg["n_head"] or cfg["n_head"] % cfg["n_kv_head"]:
        raise StudioError(f"Inconsistent model_config: n_embd={cfg['n_embd']}, n_head={cfg['n_head']}, "
                          f"n_kv_head={cfg['n_kv_head']}.")
    return NanoChatConfig(
        vocab_size=cfg["vocab_size"], hidden_size=cfg["n_embd"], intermediate_size=4 * cfg["n_embd"],
        num_hidden_layers=cfg["n_layer"], num_attention_heads=cfg["n_head"],
        num_key_value_heads=cfg["n_kv_head"], max_position_embeddings=cfg["sequence_len"],
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        # nanochat's norm is F.rms_norm with eps=None: the dtype's machine epsilon (fp32 on CPU)
        rms_norm_eps=float(torch.finfo(torch.float32).eps),
        final_logit_softcapping=SOFTCAP, tie_word_embeddings=False, attention_bias=False,
        bos_token_id=bos_id, eos_token_id=eos_id,
        pad_token_id=None,  # a pad id would make that embedding row a frozen padding_idx
        dtype=dtype,
    )


# ---- tokenizer -----------------------------------------------------------------------------------

def convert_tokenizer(encoding):
    """A `tiktoken.Encoding` -> PreTrainedTokenizerFast with nanochat's special tokens and chat template."""
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    ranks = encoding._mergeable_ranks
    special = dict(sorted(encoding._special_tokens.items(), key=lambda kv: kv[1]))
    missing = [t for t in SPECIAL_TOKENS if t not in special]
    if missing:
        raise StudioError(f"The tokenizer lacks nanochat's special tokens {', '.join(missing)}; "
                          "this is not a nanochat chat tokenizer.")
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise StudioError("The tokenizer's mergeable ranks are not the ids 0..n-1; it cannot be converted.")

    class _RanksConverter(TikTokenConverter):
        # transformers' converter reads ranks from a .tiktoken file; ours are already in memory
        def load_tiktoken_bpe(self, _url):  # noqa: ANN001, ANN202
            return ranks

    backend = _RanksConverter(vocab_file="<memory>", pattern=encoding._pat_str,
                              extra_special_tokens=list(special)).converted()
    wrong = {t: (backend.token_to_id(t), i) for t, i in special.items() if backend.token_to_id(t) != i}
    if wrong:
        raise StudioError(f"Special token ids do not follow the mergeable ranks contiguously: {wrong}.")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=BOS, eos_token=ASSISTANT_END, pad_token=ASSISTANT_END,
        additional_special_tokens=[t for t in special if t != BOS], clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


# ---- the whole conversion ------------------------------------------------------------------------

CONVERT_STAGES = ("reading the weights", "building the model", "saving the transformers folder")


def convert_checkpoint(root: Path, out: Path, ckpt: RawCheckpoint | None = None, stage: str | None = None,
                       step: int | None = None, source: str = "", overwrite: bool = False,
                       dtype: str | None = None, on_stage: Callable[[str], None] | None = None) -> Path:
    """Convert the checkpoint under `root` (chosen by `select_checkpoint`) into a transformers folder `out`.

    dtype: 'float32' or 'bfloat16'; default keeps bfloat16 if the checkpoint has any bf16 tensor.
    on_stage(name) as each of CONVERT_STAGES starts (the command line's progress bar).
    """
    stage_ = on_stage or (lambda _name: None)
    import torch
    from transformers import NanoChatForCausalLM

    from core import access
    from core.models.families.nanochat.safe_pickle import load_tiktoken_encoding

    access.require(None, "Converting a model")

    root, out = Path(root), Path(out)
    started = time.time()
    ckpt = ckpt or local_checkpoint(root, stage, step)
    cfg = read_model_config(root / ckpt.meta)
    encoding = load_tiktoken_encoding(root / ckpt.tokenizer)
    if encoding.n_vocab != cfg["vocab_size"]:
        raise StudioError(f"Vocabulary mismatch: the tokenizer has {encoding.n_vocab} tokens but the model was "
                          f"built for {cfg['vocab_size']} ({ckpt.meta}). The tokenizer.pkl belongs to another model.")
    tokenizer = convert_tokenizer(encoding)
    stage_(CONVERT_STAGES[0])
    sd = rename_state_dict(load_state_dict(root / ckpt.model), cfg["n_layer"], cfg["vocab_size"])
    if dtype is None:
        dtype = "bfloat16" if any(v.dtype == torch.bfloat16 for v in sd.values()) else "float32"
    if dtype not in ("float32", "bfloat16"):
        raise ValueError("dtype must be 'float32' or 'bfloat16'")
    sd = {k: v.to(getattr(torch, dtype)) for k, v in sd.items()}
    stage_(CONVERT_STAGES[1])
    config = build_config(cfg, tokenizer.bos_token_id, tokenizer.eos_token_id, dtype)
    with torch.device("meta"):
        model = NanoChatForCausalLM(config)
    try:
        model.load_state_dict(sd, strict=True, assign=True)
    except RuntimeError as e:  # shape mismatches: weights and meta json disagree
        raise StudioError(f"The weights in {ckpt.model} do not fit the config in {ckpt.meta}: "
                          f"{str(e).splitlines()[-1].strip()}") from e
    n_params = sum(p.numel() for p in model.parameters())
    stage_(CONVERT_STAGES[2])
    with atomic_dir(out, overwrite=overwrite) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp, Manifest(
            kind="converted", source=source or str(root), family="nanochat", pretrained=True, parameters=n_params,
            extra={"stage": ckpt.stage, "stage_from_layout": ckpt.stage_from_layout,
                   "step": ckpt.step if ckpt.step != UNNUMBERED else None, "files": ckpt.files, "dtype": dtype, "model_config": cfg,
                   "seconds": round(time.time() - started, 2)}))
    return out
