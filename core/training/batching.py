"""From questions to padded training batches: tokenization with the assistant-only loss mask,
length-grouped batching (padding only to each batch's longest example) and collation.

Labels come from the model's chat template: `apply_chat_template(..., return_assistant_tokens_mask=True)`
marks the assistant's content and its end token; everything else (system, user, the assistant-start
token, padding) is -100. Inputs and labels are the same sequence; the model shifts them itself.

A multiple-choice example also knows where its answer letter sits (`Example.answer_at`), so training
logs the loss on that one token (`answer_loss`) beside the loss averaged over every target token: the
five tokens around the letter ("The answer is", ".", the end of turn) are learned in a few steps and
hide a letter loss still at chance. `shuffled_options` gives every example a new seeded order of its
options in every epoch (the right answer moves with its text), so a letter cannot be learned as a prior.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace

import torch

from core.data.prompts import DEFAULT_SYSTEM_PROMPT, get_format, to_messages, training_conversations
from core.data.records import Question

IGNORE = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    answer_at: int | None = None  # index of the answer letter's token (multiple-choice turns only)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_target(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE)


def encode_messages(tokenizer, messages: list[dict[str, str]], max_seq_len: int | None = None,
                    answer_prefix: str | None = None) -> Example | None:
    """One conversation as a training example: loss on the assistant's tokens only (None when truncation
    leaves no target token). With `answer_prefix` (the format's text before the letter), a reply that
    starts with it and a letter is a multiple-choice answer: `answer_at` marks the letter's token."""
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids = list(out["input_ids"])
    mask = list(out["assistant_masks"])
    if max_seq_len:
        ids, mask = ids[:max_seq_len], mask[:max_seq_len]
    labels = [t if m else IGNORE for t, m in zip(ids, mask)]
    if not any(m for m in mask):
        return None
    at = None
    if answer_prefix is not None:
        m = re.match(re.escape(answer_prefix) + r"([A-J])(?![A-Za-z])", messages[-1]["content"])
        at = letter_position(tokenizer, ids, labels, answer_prefix + m.group(1)) if m else None
    return Example(ids, labels, at)


def letter_position(tokenizer, ids: list[int], labels: list[int], text: str, limit: int = 32) -> int | None:
    """The index of the token that completes `text` (e.g. "The answer is B") at the start of the first
    assistant turn: the answer letter's token (None when the tokens never spell it)."""
    start = next(i for i, t in enumerate(labels) if t != IGNORE)
    want = text.strip()
    for k in range(start, min(len(ids), start + limit)):
        got = tokenizer.decode(ids[start:k + 1]).strip()
        if len(got) >= len(want):
            return k if got.startswith(want) else None
    return None


def encode(tokenizer, q: Question, fmt: str, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
           max_seq_len: int | None = None) -> Example | None:
    """One question's multiple-choice conversation as a training example."""
    return encode_messages(tokenizer, to_messages(q, fmt, system_prompt), max_seq_len, get_format(fmt).answer_prefix)


def shuffled_options(questions: list[Question], seed: int, epoch: int) -> list[Question]:
    """Each question with its options in a new order, seeded by (seed, epoch, position, pid): the same
    for a resumed run, different in every epoch. The answer index follows its choice, so the right
    answer stays right. Training only: evaluation keeps the official order."""
    out = []
    for i, q in enumerate(questions):
        order = list(range(len(q.choices)))
        random.Random(f"options:{seed}:{epoch}:{i}:{q.pid}").shuffle(order)
        out.append(replace(q, choices=[q.choices[j] for j in order], answer=order.index(q.answer)))
    return out


def encode_all(tokenizer, questions: list[Question], fmt: str, system_prompt: str | None,
               max_seq_len: int) -> tuple[list[Example], int]:
    """Encode every conversation the questions become in this format (a teaching format adds open turns,
    core.data.prompts.training_conversations); returns (examples, number dropped because nothing was
    left to learn)."""
    examples, dropped = [], 0
    prefix = get_format(fmt).answer_prefix
    for messages in training_conversations(questions, fmt, system_prompt):
        ex = encode_messages(tokenizer, messages, max_seq_len, prefix)
        if ex is None:
            dropped += 1
        else:
            examples.append(ex)
    return examples, dropped


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int, window: int = 64) -> list[list[int]]:
    """Shuffle, then sort by length inside windows of `window` batches and cut into batches; batch order
    is shuffled again. Similar lengths share a batch (little padding) while epochs stay random."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    span = batch_size * window
    batches = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def random_batches(n: int, batch_size: int, seed: int) -> list[list[int]]:
    """Plain shuffled batches (what HF Trainer does without group_by_length)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def make_batches(lengths: list[int], batch_size: int, seed: int, group_by_length: bool) -> list[list[int]]:
    if group_by_length:
        return length_grouped_batches(lengths, batch_size, seed)
    return random_batches(len(lengths), batch_size, seed)


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example of this batch. Padding sits after every real token, so with a
    causal model it cannot influence them; its labels are -100. `answer_mask` marks the positions whose
    logits predict an answer letter."""
    width = max(len(e) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)  # (B, T)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)  # (B, T)
    answer = torch.zeros((len(examples), width), dtype=torch.bool)  # (B, T)
    for i, e in enumerate(examples):
        ids[i, : len(e)] = torch.tensor(e.input_ids)
        labels[i, : len(e)] = torch.tensor(e.labels)
        if e.answer_at:
            answer[i, e.answer_at - 1] = True
    return {"input_ids": ids, "labels": labels, "answer_mask": answer}


# Models whose forward after the decoder is only `lm_head`, then nanochat's tanh softcap when the config
# sets one (tests check the result against the model's own forward); the rest go through their forward.
DIRECT_HEAD_MODELS = ("nanochat",)
HEAD_CHUNK_LOGITS = 2**21  # logits per chunk of the head (8 MiB in fp32: fits a CPU's cache)


class TargetLoss(torch.nn.Module):
    """Summed cross-entropy over a collated batch's target tokens: what training minimises. A module, so
    that DistributedDataParallel and torch.compile wrap the whole computation.

    Only the positions that carry loss go through the vocabulary-sized head: most of a prompt carries
    none. For nanochat the head runs on chunks of those positions: each chunk's logits, softcap, softmax
    and their gradients stay in cache instead of streaming a (targets x vocab) tensor through memory
    several times over: 1.22x faster for the head on 2 CPU cores (bench/step_bench.py)."""

    def __init__(self, model: torch.nn.Module, train_letters: bool = False):
        super().__init__()
        self.model = model
        self.direct = getattr(model.config, "model_type", None) in DIRECT_HEAD_MODELS
        self.train_letters = train_letters  # the letters' loss keeps its graph (a recipe's `answer_weight`)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor, answer_mask: torch.Tensor | None = None):
        """The summed loss; with `answer_mask` (collate's), also the summed loss of the answer letters
        alone and how many there are: detached (a figure) unless `train_letters` (trained on as well)."""
        tgt = labels[:, 1:]  # (B, T-1): the token each position predicts
        keep = torch.nn.functional.pad(tgt != IGNORE, (0, 1))  # (B, T): positions that carry loss
        targets = tgt[tgt != IGNORE]  # (N,)
        sel = answer_mask[keep] if answer_mask is not None else None  # (N,): rows that predict a letter
        if not self.direct:
            logits = self.model(input_ids=input_ids, logits_to_keep=keep).logits  # (N, V)
            per_token = torch.nn.functional.cross_entropy(logits.float(), targets, reduction="none")
            if sel is None:
                return per_token.sum()
            letters = (per_token if self.train_letters else per_token.detach())[sel].sum()
            return per_token.sum(), letters, int(sel.sum())
        hidden = self.model.get_decoder()(input_ids=input_ids).last_hidden_state[keep]  # (N, D)
        head = self.model.get_output_embeddings()
        softcap = getattr(self.model.config, "final_logit_softcapping", None)
        loss = head_loss(hidden, targets, head, softcap, rows=max(256, HEAD_CHUNK_LOGITS // head.out_features))
        if sel is None:
            return loss
        if self.train_letters:
            return loss, head_loss(hidden[sel], targets[sel], head, softcap, rows=256), int(sel.sum())
        with torch.no_grad():
            letters = head_loss(hidden.detach()[sel], targets[sel], head, softcap, rows=256)
        return loss, letters, int(sel.sum())


def head_loss(hidden: torch.Tensor, targets: torch.Tensor, head: torch.nn.Module, softcap: float | None,
              rows: int) -> torch.Tensor:
    """Summed cross-entropy of `head(hidden)` (nanochat's tanh softcap applied) against `targets`,
    `rows` positions at a time."""
    total = hidden.new_zeros((), dtype=torch.float32)
    for h, t in zip(hidden.split(rows), targets.split(rows)):
        logits = head(h).float()  # (rows, V)
        if softcap:
            logits = softcap * torch.tanh(logits / softcap)
        total = total + torch.nn.functional.cross_entropy(logits, t, reduction="sum")
    return total


def target_loss_sum(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy over a collated batch's target tokens, and how many there are."""
    loss_fn = model if isinstance(model, TargetLoss) else TargetLoss(model)
    return loss_fn(batch["input_ids"], batch["labels"]), int((batch["labels"][:, 1:] != IGNORE).sum())


def padding_fraction(batches: list[list[int]], lengths: list[int]) -> float:
    real = sum(lengths[i] for b in batches for i in b)
    total = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1 - real / total if total else 0.0
