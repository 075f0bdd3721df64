"""Load a model folder in transformers format (a converted nanochat, a tiny preset, a run's model).

Raw checkpoints and GGUF files are converted or imported first (core.models.catalogue); this module never downloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from core.errors import StudioError
from core.models.devices import pick_device, pick_dtype


@dataclass
class LoadedModel:
    model: "torch.nn.Module"
    tokenizer: object
    device: torch.device
    path: Path

    @property
    def context_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048))


SIZES = ("hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size",
         "intermediate_size", "max_position_embeddings")


def check_model_config(folder: Path) -> dict:
    """The folder's config.json, refused in one line when it is unreadable or nonsensical (sizes that are
    not positive whole numbers) before anything is built from it."""
    folder = Path(folder)
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StudioError(f"The model's config.json in {folder.name} cannot be read: {e}") from e
    if not isinstance(cfg, dict):
        raise StudioError(f"The model's config.json in {folder.name} is not a JSON object.")
    for key in SIZES:
        v = cfg.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            raise StudioError(f"The model's config.json in {folder.name} is nonsensical: {key} must be a positive "
                              f"whole number, not {v!r}.")
    model_type = cfg.get("model_type", "")
    if not isinstance(model_type, str):
        raise StudioError(f"The model's config.json in {folder.name} has no valid model_type.")
    from transformers import CONFIG_MAPPING

    if model_type and model_type not in CONFIG_MAPPING:
        raise StudioError(f"The model in {folder.name} is a {model_type!r} model, which this version of transformers "
                          "does not know; this app works with NanoChat models.")
    return cfg


def load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    folder = Path(folder)
    if not (folder / "tokenizer.json").exists() and not (folder / "tokenizer_config.json").exists():
        raise StudioError(f"{folder} has no tokenizer (tokenizer.json).")
    tok = AutoTokenizer.from_pretrained(folder)
    if not tok.chat_template:
        raise StudioError(f"The tokenizer in {folder} has no chat template; convert the model with this app.")
    return tok


def load_model(folder: Path, device: str | torch.device | None = None, dtype: torch.dtype | None = None,
               train: bool = False) -> LoadedModel:
    """Load model + tokenizer from a transformers-format folder onto a device (eval mode unless `train`)."""
    from transformers import AutoModelForCausalLM

    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise StudioError(f"{folder} is not a model folder (no config.json). "
                          "Raw nanochat checkpoints must be converted first: python -m core model convert SRC OUT")
    check_model_config(folder)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    dtype = dtype or pick_dtype(dev)
    tokenizer = load_tokenizer(folder)
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    except torch.OutOfMemoryError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, AttributeError) as e:
        raise StudioError(f"Could not load the model in {folder}: {e}") from e
    model.to(dev)
    model.train(train)
    return LoadedModel(model=model, tokenizer=tokenizer, device=dev, path=folder)
