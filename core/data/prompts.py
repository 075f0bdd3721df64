"""Prompt formats: how a ScienceQA question becomes a conversation.

The one source of truth for training, evaluation, the data preview and the chat. A format turns a
`Question` into chat messages (`[{"role": ..., "content": ...}]`); which tokens carry loss is then
decided by the model's chat template (assistant turns only), never here.

Formats:
- `paper`: the ScienceQA paper's QCM->A: "Question: ...\\nContext: ...\\nOptions: (A) ... (B) ..."
  answered by "The answer is X."
- `paper_ale`: QCM->ALE, the same answer followed by the lecture and the solution (the tutor's
  style: a letter, then why).
- `nanochat`: nanochat's own multiple-choice rendering: each choice followed by its letter, the
  answer is the letter alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.data.records import LETTERS, Question

DEFAULT_SYSTEM_PROMPT = "You are a friendly science tutor for school students."


@dataclass(frozen=True)
class PromptFormat:
    name: str
    label: str
    answer_prefix: str  # assistant text before the answer letter
    explains: bool  # whether the answer goes on with the lecture and solution


FORMATS: dict[str, PromptFormat] = {
    f.name: f
    for f in [
        PromptFormat("paper_ale", "ScienceQA paper, answer + lecture + explanation (QCM→ALE)", "The answer is ", True),
        PromptFormat("paper", "ScienceQA paper, answer only (QCM→A)", "The answer is ", False),
        PromptFormat("nanochat", "nanochat multiple choice (letter only)", "", False),
    ]
}
DEFAULT_FORMAT = "paper_ale"


def get_format(name: str) -> PromptFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown prompt format {name!r}; choose one of {', '.join(FORMATS)}") from None


def build_context(q: Question, use_caption: bool = True) -> str:
    """The question's context: its hint plus, for image questions, the image caption."""
    parts = [q.hint.strip()]
    if use_caption and q.has_image and q.caption.strip():
        parts.append(f"Image: {q.caption.strip()}")
    return "\n".join(p for p in parts if p)


def user_message(q: Question, fmt: str = DEFAULT_FORMAT, use_caption: bool = True) -> str:
    """The user's turn for a question in the given format."""
    f = get_format(fmt)
    letters = LETTERS[: len(q.choices)]
    context = build_context(q, use_caption)
    if f.name == "nanochat":
        text = f"Multiple Choice question: {q.question}\n"
        if context:
            text += f"Context: {context}\n"
        text += "".join(f"- {c}={l}\n" for l, c in zip(letters, q.choices))
        return text + "\nRespond only with the letter of the correct answer."
    options = " ".join(f"({l}) {c}" for l, c in zip(letters, q.choices))
    return f"Question: {q.question}\nContext: {context or 'N/A'}\nOptions: {options}"


def assistant_message(q: Question, fmt: str = DEFAULT_FORMAT) -> str:
    """The assistant's (target) turn: the answer letter, and for `paper_ale` the lecture and solution."""
    f = get_format(fmt)
    text = f"{f.answer_prefix}{q.answer_letter}"
    if f.name == "nanochat":
        return text
    text += "."
    if f.explains:
        because = " ".join(p.strip() for p in (q.lecture, q.solution) if p.strip())
        if because:
            text += f" BECAUSE: {because}"
    return text


def to_messages(
    q: Question,
    fmt: str = DEFAULT_FORMAT,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    with_answer: bool = True,
    use_caption: bool = True,
) -> list[dict[str, str]]:
    """The conversation a question becomes. Without the answer it ends on the user turn (for prompting)."""
    messages = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": user_message(q, fmt, use_caption)})
    if with_answer:
        messages.append({"role": "assistant", "content": assistant_message(q, fmt)})
    return messages
