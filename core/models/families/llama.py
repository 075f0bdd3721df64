"""The llama family: llama-architecture chat models (SmolLM2, TinyLlama, and fine-tunes of them).

SmolLM2's tokenizer speaks ChatML (`<|im_start|>role\\n...<|im_end|>\\n`); the template below is the
same rendering with the assistant's content and its `<|im_end|>` inside `{% generation %}`, so training
learns exactly the reply and where it ends. SmolLM2's own template adds its default system line when
a conversation has none; this one does too, so chat prompts match what the model was tuned on.
A llama tokenizer without ChatML tokens keeps its own template (it chats; training needs markers).
"""

from __future__ import annotations

from typing import Any

from core.models.families import Family

IM_START, IM_END, ENDOFTEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"
SMOLLM_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chatml_template(default_system: str | None) -> str:
    """ChatML with assistant-mask markers; `default_system` is used when the conversation has no system turn."""
    first = ("{%- if loop.first and message['role'] != 'system' -%}"
             "{{- '<|im_start|>system\\n" + default_system + "<|im_end|>\\n' -}}{%- endif -%}") if default_system else ""
    return (
        "{%- for message in messages -%}" + first +
        "{%- if message['role'] == 'assistant' -%}"
        "{{- '<|im_start|>assistant\\n' -}}{% generation %}{{- message['content'] + '<|im_end|>' -}}{% endgeneration %}"
        "{{- '\\n' -}}"
        "{%- else -%}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
        "{%- endif -%}{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
    )


def speaks_chatml(tokenizer: Any) -> bool:
    vocab = tokenizer.get_vocab()
    return IM_START in vocab and IM_END in vocab


class ChatMLFamily(Family):
    """A family whose tokenizers (usually) speak ChatML."""

    default_system: str | None = None

    def chat_template(self, tokenizer: Any) -> str | None:
        if not speaks_chatml(tokenizer):
            return None
        own = tokenizer.chat_template or ""
        system = SMOLLM_SYSTEM if SMOLLM_SYSTEM in own else None  # keep a default system line only where it was
        return chatml_template(system)

    def fix_tokenizer(self, tokenizer: Any, config: dict) -> list[str]:
        changed = super().fix_tokenizer(tokenizer, config)
        if speaks_chatml(tokenizer) and tokenizer.eos_token != IM_END:
            tokenizer.eos_token = IM_END  # a reply ends at <|im_end|>, not at the document end
            changed.append(f"eos token {IM_END}")
        if speaks_chatml(tokenizer) and tokenizer.pad_token is None:
            tokenizer.pad_token = IM_END
        return changed


class LlamaFamily(ChatMLFamily):
    pass


FAMILY = LlamaFamily(
    name="llama", model_types=("llama",),
    sentence="a llama-architecture chat model (SmolLM2, TinyLlama, ...: grouped-query attention, SwiGLU MLP)",
    lora_targets=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    end_of_turn=IM_END, user_input_tokens=(IM_START, IM_END, ENDOFTEXT, "<s>", "</s>", "[INST]", "[/INST]"),
    stop_tokens=(IM_END, IM_START, ENDOFTEXT), gguf_architectures=("llama",), tied_embeddings_default=False,
)
