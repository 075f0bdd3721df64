"""In-training evaluation on the run's validation slice: loss on the assistant tokens (batched, padding
only to each batch's longest sequence), and categorical multiple-choice accuracy through the app's one
evaluator (`core.evaluation.scoring.evaluate`: argmax over the valid answer letters where the answer starts).
"""

from __future__ import annotations

import torch

from core.training.batching import TargetLoss, collate, length_grouped_batches, target_loss_sum


@torch.no_grad()
def eval_loss(model, examples, pad_id: int, device: torch.device, amp_dtype, batch_size: int) -> float | None:
    total, n = 0.0, 0
    loss_fn = TargetLoss(model)
    lengths = [len(e) for e in examples]
    for b in length_grouped_batches(lengths, batch_size, seed=0):
        batch = {k: v.to(device) for k, v in collate([examples[i] for i in b], pad_id).items()}
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss_sum, count = target_loss_sum(loss_fn, batch)
        total += loss_sum.item()
        n += count
    return total / n if n else None


def evaluate_slice(model, tokenizer, data, cfg, device: torch.device, amp_dtype) -> dict:
    """{'eval_loss': ..., 'eval_accuracy': ...} on the run's eval slice (model in eval mode)."""
    from core.evaluation.scoring import EvalSettings, evaluate
    from core.models.loading import LoadedModel

    bs = cfg.recipe.batch_size
    res = {}
    loss = eval_loss(model, data.val, data.pad_id, device, amp_dtype, bs)
    if loss is not None:
        res["eval_loss"] = loss
    if data.val_questions:
        loaded = LoadedModel(model=model, tokenizer=tokenizer, device=device, path=cfg.model)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            result = evaluate(loaded, data.val_questions, cfg.format, "categorical",
                              settings=EvalSettings(batch_size=max(bs, 16), system_prompt=cfg.system_prompt))
        res["eval_accuracy"] = result.accuracy
    return res
