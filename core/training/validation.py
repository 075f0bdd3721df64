"""In-training evaluation on the run's validation slice: loss on the assistant tokens (batched, padding
only to each batch's longest sequence) and on the answer letters alone, and categorical multiple-choice
accuracy through the app's one evaluator (`core.evaluation.scoring.evaluate`: argmax over the valid answer
letters where the answer starts) with the most common predicted letter's share (core.training.letters).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch

from core.training.batching import IGNORE, TargetLoss, collate, length_grouped_batches
from core.training.letters import top_letter

DELAY_ENV = "SQA_TEST_EVAL_DELAY"  # test/demo knob: seconds slept before each in-training evaluation batch


def batch_delay() -> float:
    """The slowing asked for by SQA_TEST_EVAL_DELAY in seconds per batch (0: none; bad values read as 0)."""
    try:
        value = float(os.environ.get(DELAY_ENV, "0") or 0)
    except ValueError:
        return 0.0
    return value if 0 < value < 3600 else 0.0


def slowed(interrupt: Callable[[], None] | None, delay: float) -> Callable[[], None] | None:
    """`interrupt` preceded by `delay` seconds of sleep, checked every 0.1 s (a stop still ends it at once)."""
    if delay <= 0:
        return interrupt

    def wait_then_check() -> None:
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            if interrupt:
                interrupt()
            time.sleep(min(0.1, left))
        if interrupt:
            interrupt()

    return wait_then_check


@torch.no_grad()
def eval_losses(model, examples, pad_id: int, device: torch.device, amp_dtype, batch_size: int,
                interrupt: Callable[[], None] | None = None) -> tuple[float | None, float | None]:
    """(mean loss per target token, mean loss on the answer letters) over `examples`; `interrupt` is
    called before every batch (it raises to abandon the evaluation)."""
    total, n, letters, n_letters = 0.0, 0, 0.0, 0
    loss_fn = TargetLoss(model)
    lengths = [len(e) for e in examples]
    for b in length_grouped_batches(lengths, batch_size, seed=0):
        if interrupt:
            interrupt()
        batch = {k: v.to(device) for k, v in collate([examples[i] for i in b], pad_id).items()}
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss_sum, letter_sum, count = loss_fn(batch["input_ids"], batch["labels"], batch["answer_mask"])
        total += loss_sum.item()
        n += int((batch["labels"][:, 1:] != IGNORE).sum())
        letters += float(letter_sum)
        n_letters += count
    return (total / n if n else None), (letters / n_letters if n_letters else None)


def eval_loss(model, examples, pad_id: int, device: torch.device, amp_dtype, batch_size: int) -> float | None:
    return eval_losses(model, examples, pad_id, device, amp_dtype, batch_size)[0]


def evaluate_slice(model, tokenizer, data, cfg, device: torch.device, amp_dtype, limit: int | None = None,
                   interrupt: Callable[[], None] | None = None) -> dict:
    """{'eval_loss': ..., 'eval_accuracy': ...} on the run's eval slice (model in eval mode): its first
    `limit` questions (and the same share of its loss examples) when given. `interrupt` is called between
    batches and may raise to abandon the evaluation (a stop request)."""
    from core.evaluation.scoring import EvalSettings, evaluate
    from core.models.loading import LoadedModel

    bs = cfg.recipe.batch_size
    interrupt = slowed(interrupt, batch_delay())
    res = {}
    questions, examples = data.val_questions, data.val
    if limit is not None and limit < len(questions):
        examples = examples[: max(1, round(len(examples) * limit / max(1, len(questions))))]
        questions = questions[:limit]
    loss, answer_loss = eval_losses(model, examples, data.pad_id, device, amp_dtype, bs, interrupt)
    if loss is not None:
        res["eval_loss"] = loss
    if answer_loss is not None:
        res["eval_answer_loss"] = answer_loss
    if questions:
        loaded = LoadedModel(model=model, tokenizer=tokenizer, device=device, path=cfg.model)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            result = evaluate(loaded, questions, cfg.format, "categorical",
                              settings=EvalSettings(batch_size=max(bs, 16), system_prompt=cfg.system_prompt),
                              progress=(lambda *_: interrupt()) if interrupt else None)
        res["eval_accuracy"] = result.accuracy
        top = top_letter((p.pred for p in result.predictions), (p.gold for p in result.predictions))
        if top:
            res["eval_top_letter"], res["eval_top_letter_share"], res["eval_top_letter_gold_share"] = top
    return res
