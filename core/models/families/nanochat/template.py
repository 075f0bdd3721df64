"""nanochat's conversation rendering, as a transformers chat template.

nanochat renders a conversation as
    <|bos|><|user_start|>…<|user_end|><|assistant_start|>…<|assistant_end|>…
with a system message merged into the first user turn ("system\\n\\nuser"), and trains on the
assistant's content and its <|assistant_end|> (not on <|assistant_start|>). The `{% generation %}`
block marks exactly those tokens, so `apply_chat_template(..., return_assistant_tokens_mask=True)`
gives nanochat's loss mask. Every model of this app (converted or tiny) carries this template.
"""

BOS = "<|bos|>"
USER_START, USER_END = "<|user_start|>", "<|user_end|>"
ASSISTANT_START, ASSISTANT_END = "<|assistant_start|>", "<|assistant_end|>"
# nanochat's full special-token list, in its order (tool-use tokens are kept so ids line up).
SPECIAL_TOKENS = [
    BOS, USER_START, USER_END, ASSISTANT_START, ASSISTANT_END,
    "<|python_start|>", "<|python_end|>", "<|output_start|>", "<|output_end|>",
]

CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- set system = messages[0]['content'] -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}{%- set system = none -%}{%- set turns = messages -%}{%- endif -%}"
    "{%- for m in turns -%}"
    "{%- if m['role'] == 'user' -%}"
    "{%- if loop.first and system is not none -%}"
    "<|user_start|>{{ system ~ '\n\n' ~ m['content'] }}<|user_end|>"
    "{%- else -%}<|user_start|>{{ m['content'] }}<|user_end|>{%- endif -%}"
    "{%- elif m['role'] == 'assistant' -%}"
    "<|assistant_start|>{% generation %}{{ m['content'] }}<|assistant_end|>{% endgeneration %}"
    "{%- else -%}{{ raise_exception('nanochat conversations have only system, user and assistant turns') }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|assistant_start|>{%- endif -%}"
)
