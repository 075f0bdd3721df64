"""What a question becomes for the model: the conversations training builds from it, their tokens, and
which of those carry the training loss.

Used by the Data page. The conversation comes from core.data.prompts (the one prompt-format module); the
loss mask comes from the model's own chat template (`{% generation %}` marks the assistant tokens),
so what is shown here is exactly what training sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.data.prompts import training_conversations
from core.data.records import Question


@dataclass
class TokenView:
    pieces: list[tuple[str, bool]]  # (decoded token text, carries loss)

    @property
    def total(self) -> int:
        return len(self.pieces)

    @property
    def loss_tokens(self) -> int:
        return sum(loss for _, loss in self.pieces)


def tokenize_conversation(tokenizer, messages: list[dict[str, str]]) -> TokenView:
    """Tokenize a conversation with the model's chat template and its assistant-token (loss) mask."""
    enc = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids = list(enc["input_ids"])
    mask = list(enc.get("assistant_masks") or [0] * len(ids))
    return TokenView([(tokenizer.decode([i]), bool(m)) for i, m in zip(ids, mask)])


def row_conversations(q: Question, fmt: str) -> list[tuple[str, list[dict[str, str]]]]:
    """(name, messages) of every conversation training builds from this one row in format `fmt`: the
    multiple-choice one first, then a teaching format's open questions ("Open 1", "Open 2", ...)."""
    convs = training_conversations([q], fmt)  # exactly what training builds from this row
    return [("Multiple choice" if i == 0 else f"Open {i}", messages) for i, messages in enumerate(convs)]
