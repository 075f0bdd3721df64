"""The qwen2 family: Qwen2 / Qwen2.5 chat models (ChatML, like SmolLM2; biases on q, k and v)."""

from __future__ import annotations

from core.models.families.llama import ENDOFTEXT, IM_END, IM_START, ChatMLFamily


class Qwen2Family(ChatMLFamily):
    pass


FAMILY = Qwen2Family(
    name="qwen2", model_types=("qwen2",),
    sentence="a Qwen2 chat model (Qwen2.5-0.5B-Instruct, ...: grouped-query attention with q/k/v biases, SwiGLU MLP)",
    lora_targets=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    end_of_turn=IM_END, user_input_tokens=(IM_START, IM_END, ENDOFTEXT),
    stop_tokens=(IM_END, IM_START, ENDOFTEXT), gguf_architectures=("qwen2",), qkv_bias=True,
    tied_embeddings_default=False,
)
