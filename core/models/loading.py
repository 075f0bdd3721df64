"""Load a model folder in transformers format (a converted nanochat, a tiny preset, a run's model).

Raw checkpoints and GGUF files are converted or imported first (core.models.catalogue); this module never downloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from core.models.devices import pick_device, pick_dtype
from core.errors import StudioError


@dataclass
class LoadedModel:
    model: "torch.nn.Module"
    tokenizer: object
    device: torch.device
    path: Path

    @property
    def context_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048))


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
    dev = device if isinstance(device, torch.device) else pick_device(device)
    dtype = dtype or pick_dtype(dev)
    tokenizer = load_tokenizer(folder)
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    except (OSError, ValueError, RuntimeError) as e:
        raise StudioError(f"Could not load the model in {folder}: {e}") from e
    model.to(dev)
    model.train(train)
    return LoadedModel(model=model, tokenizer=tokenizer, device=dev, path=folder)
