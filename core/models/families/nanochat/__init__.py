"""The nanochat family: Karpathy's nanochat (transformers' `NanoChatForCausalLM`), raw or converted.

Its chat template (`template.py`) reproduces nanochat's rendering with assistant-mask markers; raw
checkpoints (`model_<step>.pt` + `meta_<step>.json` + `tokenizer.pkl`) are converted by `convert.py`,
their pickled tokenizer read by `safe_pickle.py`. The tiny offline preset (core.models.tiny) is a
nanochat too and builds its model through `new_model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.models.families import Family
from core.models.families.nanochat.template import ASSISTANT_END, BOS, CHAT_TEMPLATE, SPECIAL_TOKENS, USER_START


@dataclass(frozen=True)
class NanochatFamily(Family):
    bos: str = BOS
    special_tokens: tuple[str, ...] = tuple(SPECIAL_TOKENS)  # the tokenizer's, in nanochat's order

    def chat_template(self, tokenizer: Any) -> str | None:
        return CHAT_TEMPLATE

    def fix_tokenizer(self, tokenizer: Any, config: dict) -> list[str]:
        changed = super().fix_tokenizer(tokenizer, config)
        for attr, token in (("bos_token", BOS), ("eos_token", ASSISTANT_END), ("pad_token", ASSISTANT_END)):
            if getattr(tokenizer, attr) != token and tokenizer.convert_tokens_to_ids(token) is not None:
                setattr(tokenizer, attr, token)
                changed.append(f"{attr} {token}")
        return changed

    def fix_config(self, config: dict, tokenizer: Any) -> list[str]:
        """transformers' NanoChatConfig defaults (bos 0, eos 1, pad 1) are byte tokens in nanochat's
        vocabulary: a Hub folder that kept them would never stop generating. Use the tokenizer's."""
        want = {"bos_token_id": tokenizer.convert_tokens_to_ids(BOS),
                "eos_token_id": tokenizer.convert_tokens_to_ids(ASSISTANT_END), "pad_token_id": None}
        changed = [f"{k} {config.get(k)} -> {v}" for k, v in want.items() if config.get(k) != v]
        config.update(want)
        return changed

    def new_model(self, seed: int | None = None, **config: Any):
        """A random-init NanoChatForCausalLM (the tiny preset, benchmarks)."""
        import torch
        from transformers import NanoChatConfig, NanoChatForCausalLM

        if seed is not None:
            torch.manual_seed(seed)
        return NanoChatForCausalLM(NanoChatConfig(**config))

    def convert(self, *args: Any, **kwargs: Any):
        """A raw checkpoint -> a transformers folder (core.models.families.nanochat.convert.convert_checkpoint)."""
        from core.models.families.nanochat import convert

        return convert.convert_checkpoint(*args, **kwargs)

    @property
    def checkpoints(self):
        """The raw-checkpoint module (select_checkpoint, local_checkpoint, is_raw_nanochat, ...)."""
        from core.models.families.nanochat import convert

        return convert


FAMILY = NanochatFamily(
    name="nanochat", model_types=("nanochat",),
    sentence="a nanochat model (Karpathy's nanochat: rotary attention, QK norm, ReLU² MLP, untied embeddings)",
    lora_targets=("q_proj", "k_proj", "v_proj", "o_proj", "fc1", "fc2"),
    end_of_turn=ASSISTANT_END, user_input_tokens=tuple(SPECIAL_TOKENS),
    stop_tokens=(ASSISTANT_END, BOS, USER_START), gated_mlp=False, norm_weights=False,
)
