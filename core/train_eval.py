"""In-training evaluation on the run's validation slice: loss on the assistant tokens, and
categorical multiple-choice accuracy (argmax over the valid answer letters' logits at the position
where the answer letter starts; see `core.batching.choice_prompt`). Batched, padding only to each
batch's longest sequence.
"""

from __future__ import annotations

import torch

from core.batching import ChoicePrompt, collate, length_grouped_batches


@torch.no_grad()
def eval_loss(model, examples, pad_id: int, device: torch.device, amp_dtype, batch_size: int) -> float | None:
    total, n = 0.0, 0
    lengths = [len(e) for e in examples]
    for b in length_grouped_batches(lengths, batch_size, seed=0):
        batch = {k: v.to(device) for k, v in collate([examples[i] for i in b], pad_id).items()}
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(input_ids=batch["input_ids"]).logits  # (B, T, V)
        total += torch.nn.functional.cross_entropy(
            logits[:, :-1].flatten(0, 1).float(), batch["labels"][:, 1:].flatten(), ignore_index=-100,
            reduction="sum").item()
        n += int((batch["labels"][:, 1:] != -100).sum())
    return total / n if n else None


@torch.no_grad()
def choice_predictions(model, prompts: list[ChoicePrompt], pad_id: int, device: torch.device, amp_dtype,
                       batch_size: int) -> list[list[float]]:
    """Per prompt, the probabilities of its choices (softmax over the choice letters' logits)."""
    out: list[list[float]] = [[] for _ in prompts]
    lengths = [len(p.prefix) for p in prompts]
    for b in length_grouped_batches(lengths, batch_size, seed=0):
        width = max(lengths[i] for i in b)
        ids = torch.full((len(b), width), pad_id, dtype=torch.long)  # (B, T), right-padded
        for row, i in enumerate(b):
            ids[row, : lengths[i]] = torch.tensor(prompts[i].prefix)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(input_ids=ids.to(device)).logits  # (B, T, V)
        for row, i in enumerate(b):
            letter_logits = logits[row, lengths[i] - 1, prompts[i].letter_ids].float()
            out[i] = torch.softmax(letter_logits, -1).tolist()
    return out


def accuracy(probs: list[list[float]], prompts: list[ChoicePrompt]) -> float | None:
    if not prompts:
        return None
    right = sum(max(range(len(p)), key=p.__getitem__) == pr.answer for p, pr in zip(probs, prompts))
    return right / len(prompts)


def evaluate_slice(model, data, device: torch.device, amp_dtype, batch_size: int) -> dict:
    res = {}
    loss = eval_loss(model, data.val, data.pad_id, device, amp_dtype, batch_size)
    if loss is not None:
        res["eval_loss"] = loss
    acc = accuracy(choice_predictions(model, data.val_prompts, data.pad_id, device, amp_dtype, batch_size),
                   data.val_prompts)
    if acc is not None:
        res["eval_accuracy"] = acc
    return res
