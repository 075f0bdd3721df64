"""Model families: everything that differs between kinds of chat model, behind one interface.

A family owns its chat template (with `{% generation %}` markers, so `assistant_masks` marks exactly
the tokens a reply is trained on) and end-of-turn token, the special tokens a user must not be able to
type into a turn, its LoRA target modules, its shape's fields (`shape_fields`, from which
`core.models.memory.ModelShape.from_config` builds the one formula for parameter counts and memory
estimates: memory depends on families, never the reverse), how it is imported (GGUF architectures, conversion) and
the sentence the Models page and model cards use.

`family_for_config` picks the family from a model's `config.json` (`model_type`), in one place. Every
module of this package that defines `FAMILY` is registered: adding a family is one new file. A model
whose type no family claims gets `GENERIC`: it loads for evaluation and chat with its own chat
template; training it needs a template that marks the assistant's tokens (`require_assistant_markers`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from core.errors import StudioError

_GENERATION = re.compile(r"{%-?\s*generation\s*-?%}")


@dataclass(frozen=True)
class Family:
    name: str
    model_types: tuple[str, ...]  # config.json model_type values this family claims
    sentence: str  # one line for the Models page and the model card
    lora_targets: tuple[str, ...]  # module names LoRA wraps
    end_of_turn: str | None = None  # the token that ends an assistant turn
    user_input_tokens: tuple[str, ...] = ()  # special-token strings defused in anything a user types
    stop_tokens: tuple[str, ...] = ()  # tokens that end a reply (end of turn, or the start of a new one)
    gguf_architectures: tuple[str, ...] = ()  # GGUF `general.architecture` values it imports
    gated_mlp: bool = True  # gate/up/down (SwiGLU) instead of fc1/fc2
    tied_embeddings_default: bool = False
    norm_weights: bool = True  # RMSNorm with a weight per channel (nanochat: none)
    qkv_bias: bool = False

    def chat_template(self, tokenizer: Any) -> str | None:
        """The template to give this family's tokenizer (with assistant markers), or None to keep its own."""
        return None

    def shape_fields(self, config: dict) -> dict[str, Any]:
        """The model's shape from its config.json: the fields of `core.models.memory.ModelShape`."""
        h = config["hidden_size"]
        tied = config.get("tie_word_embeddings", self.tied_embeddings_default)
        return dict(n_layer=config["num_hidden_layers"], hidden=h, n_head=config["num_attention_heads"],
                    n_kv_head=config.get("num_key_value_heads") or config["num_attention_heads"],
                    vocab=config["vocab_size"], intermediate=config.get("intermediate_size") or 4 * h,
                    head_dim=config.get("head_dim"), gated=self.gated_mlp, tied=bool(tied),
                    norm_weights=self.norm_weights, qkv_bias=self.qkv_bias)

    def fix_tokenizer(self, tokenizer: Any, config: dict) -> list[str]:
        """Set what the family needs on a tokenizer being adopted (template, pad); returns what changed."""
        changed = []
        template = self.chat_template(tokenizer)
        if template and tokenizer.chat_template != template:
            tokenizer.chat_template = template
            changed.append("chat template with assistant markers")
        if tokenizer.pad_token is None and self.end_of_turn:
            tokenizer.pad_token = self.end_of_turn
            changed.append(f"pad token {self.end_of_turn}")
        return changed

    def fix_config(self, config: dict, tokenizer: Any) -> list[str]:
        """Repair an adopted config.json in place; returns what changed (nothing by default)."""
        return []


GENERIC = Family(name="unknown", model_types=(), lora_targets=("q_proj", "k_proj", "v_proj", "o_proj"),
                 sentence="a model of a family this app does not know: it chats and is evaluated with its own "
                          "chat template; training needs a template that marks the assistant's tokens")


@cache
def _registry() -> dict[str, Family]:
    found: dict[str, Family] = {}
    for info in pkgutil.iter_modules(__path__):
        family = getattr(importlib.import_module(f"{__name__}.{info.name}"), "FAMILY", None)
        if isinstance(family, Family):
            found[family.name] = family
    return found


def all_families() -> list[Family]:
    return list(_registry().values())


def named(name: str | None) -> Family:
    """The family called `name`; GENERIC for None or a name no family has."""
    return _registry().get(name or "", GENERIC)


def family_for_config(config: dict) -> Family:
    """The one place a model's family is decided: its config.json `model_type`."""
    model_type = config.get("model_type") if isinstance(config, dict) else None
    return next((f for f in all_families() if model_type in f.model_types), GENERIC)


def family_of(folder: Path) -> Family:
    """The family of a transformers model folder (GENERIC when its config is missing or unreadable)."""
    from core.files import read_json

    try:
        return family_for_config(read_json(Path(folder) / "config.json"))
    except StudioError:
        return GENERIC


def family_for_gguf(architecture: str) -> Family | None:
    return next((f for f in all_families() if architecture in f.gguf_architectures), None)


def user_input_tokens() -> tuple[str, ...]:
    """Every family's special-token strings: the chat defuses them in anything a user types."""
    return tuple(dict.fromkeys(t for f in all_families() for t in f.user_input_tokens))


def stop_tokens() -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for f in all_families() for t in f.stop_tokens))


def has_assistant_markers(template: str | None) -> bool:
    return bool(template and _GENERATION.search(template))


def require_assistant_markers(tokenizer: Any, folder: Path | str) -> None:
    """Training needs a chat template that marks the assistant's tokens; say so plainly when it does not."""
    if not has_assistant_markers(getattr(tokenizer, "chat_template", None)):
        raise StudioError(
            f"The model in {folder} cannot be fine-tuned here: its chat template does not mark which tokens "
            "are the assistant's reply ({% generation %} ... {% endgeneration %}), so there is nothing to "
            f"train on. Its family ({family_of(Path(folder)).name}) has no template of its own in this app; "
            "it can still be evaluated and chatted with.")
