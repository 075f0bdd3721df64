"""Scoring what the model writes: greedy decoding, batched with left padding (`generate_texts`), and the
answer letter read from the reply.

- `generative`: the answer extracted as the ScienceQA paper does (`The answer is ([A-Z]).`, exactly one
  match; then the parenthesised form; then a reply that is only a letter); strict accuracy counts a
  missing answer as wrong, the paper's accuracy replaces it by a random valid choice (seeded per question).
- `plan`: the original plan's metric, reproduced only to show why it misleads: plain-text prompt
  (core.evaluation.scoring.plan_prompt), `decode(outputs[0])` INCLUDING the prompt, correct if the gold
  letter is in the first 100 characters. Every result of it is marked invalid.

Registered as methods by core.evaluation.method_builtin; results are core.evaluation.scoring's.
"""

from __future__ import annotations

import random
import re

from core.data.records import LETTERS
from core.evaluation.scoring import Progress, plan_prompt, prompt_text, to_prediction

PAPER_PATTERN = re.compile(r"The answer is ([A-Z]).")  # ScienceQA models/run_gpt3.py, verbatim
PAREN_PATTERN = re.compile(r"The answer is \(([A-Z])\)")  # the parenthesised form (MM-CoT)
LETTER_ONLY = re.compile(r"^\s*\(?([A-Z])\)?\.?\s*$")  # a reply that is just the letter (nanochat format)


def extract_answer(text: str) -> str | None:
    """The answer letter of a generated reply, as the ScienceQA paper extracts it; None if there is none.

    The paper's rule first (exactly one `The answer is X.`); then the parenthesised `The answer is (X)`;
    then a reply that is only a letter (the nanochat format's answer).
    """
    for pattern in (PAPER_PATTERN, PAREN_PATTERN):
        found = pattern.findall(text)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None  # the paper counts an ambiguous reply as FAILED
    m = LETTER_ONLY.match(text)
    return m.group(1) if m else None


def parse_prediction(text: str, n_choices: int) -> int | None:
    """The index of the choice a reply gives, or None when it gives no valid letter for this question."""
    letter = extract_answer(text)
    return LETTERS.index(letter) if letter and letter in LETTERS[:n_choices] else None


def generate_texts(loaded, prompts: list[list[int]], max_new_tokens: int, batch_size: int,
                   progress: Progress, skip_prompt: bool = True) -> list[str]:
    """Greedy continuations of token-id prompts, batched with left padding."""
    import torch

    tok, model = loaded.tokenizer, loaded.model
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    texts: list[str] = [""] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        width = max(len(prompts[i]) for i in batch)
        ids = torch.tensor([[pad] * (width - len(prompts[i])) + prompts[i] for i in batch])
        mask = torch.tensor([[0] * (width - len(prompts[i])) + [1] * len(prompts[i]) for i in batch])
        out = model.generate(input_ids=ids.to(loaded.device), attention_mask=mask.to(loaded.device),
                             max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                             eos_token_id=tok.eos_token_id)
        for b, i in enumerate(batch):
            # The plan decodes the whole of outputs[0], prompt included (pads are special tokens, skipped).
            seq = out[b, width:] if skip_prompt else out[b]
            texts[i] = tok.decode(seq, skip_special_tokens=True)
        progress(min(start + batch_size, len(order)), len(order))
    return texts


def run_generative(loaded, questions, fmt, settings, progress):
    tok = loaded.tokenizer
    prompts = [tok.encode(prompt_text(tok, q, fmt, settings), add_special_tokens=False) for q in questions]
    prompts, truncated = _fit(prompts, loaded.context_length - settings.max_new_tokens)
    texts = generate_texts(loaded, prompts, settings.max_new_tokens, settings.batch_size, progress)
    preds = []
    for q, text in zip(questions, texts):
        pred = parse_prediction(text, len(q.choices))
        fallback = None
        if pred is None:  # the paper's rule: a random valid choice (seeded per question, order-independent)
            fallback = random.Random(f"{settings.seed}:{q.pid}").randrange(len(q.choices))
        preds.append(to_prediction(q, pred, output=text, fallback_pred=fallback))
    return preds, truncated


def run_plan(loaded, questions, fmt, settings, progress):
    tok = loaded.tokenizer
    prompts = [tok(plan_prompt(q))["input_ids"] for q in questions]
    prompts, truncated = _fit(prompts, loaded.context_length - settings.plan_max_new_tokens)
    # Batch 1 and the whole of outputs[0], as the plan did.
    texts = generate_texts(loaded, prompts, settings.plan_max_new_tokens, 1, progress, skip_prompt=False)
    preds = []
    for q, text in zip(questions, texts):
        correct = q.answer_letter in text[:100]
        preds.append(to_prediction(q, q.answer if correct else None, output=text))
    return preds, truncated


def _fit(prompts: list[list[int]], room: int) -> tuple[list[list[int]], int]:
    """Cut prompts longer than `room` tokens from the left (keeping the first token, usually BOS)."""
    room = max(room, 2)
    cut = [p if len(p) <= room else p[:1] + p[len(p) - room + 1:] for p in prompts]
    return cut, sum(len(p) > room for p in prompts)
