"""Categorical scoring (the default method): the prompt ends where the answer starts (chat template with
the generation prompt + the format's answer prefix); one batched forward pass reads the next-token
log-probabilities of the valid letters only and takes the argmax, as nanochat's chat_eval scores multiple
choice. Deterministic; each choice's probability (softmax over the valid letters) is kept.

A letter the tokenizer splits into several tokens (" C" -> " ", "C") is scored by its whole token
sequence, still in one pass: the row carries the shared path " ", and every letter reads its tokens'
log-probs (`letter_rows`). Rows are batched by length under a token budget (`_token_batches`).
Registered as a method by core.evaluation.method_builtin; results are core.evaluation.scoring's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.data.prompts import get_format
from core.data.records import LETTERS
from core.errors import StudioError
from core.evaluation.scoring import prompt_text, to_prediction


@dataclass
class _Row:
    ids: list[int]  # prompt tokens + the shared path of multi-token letters
    reads: list[list[tuple[int, int]]]  # per letter: (position whose logits predict it, token id)


def letter_rows(tokenizer, prompts: list[str], n_choices: list[int], prefix: str) -> list[_Row]:
    """Token rows for categorical scoring: encode prompt+prefix+letter for every valid letter and split
    at the common prefix, so a letter merged with the space (" A") is handled like a bare one."""
    texts = [p + prefix + letter for p, n in zip(prompts, n_choices) for letter in LETTERS[:n]]
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    rows, i = [], 0
    for n in n_choices:
        rows.append(_letter_row(encoded[i:i + n], prefix))
        i += n
    return rows


def _letter_row(encs: list[list[int]], prefix: str) -> _Row:
    common = 0
    while all(len(e) > common for e in encs) and len({e[common] for e in encs}) == 1:
        common += 1
    tails = [e[common:] for e in encs]
    if common == 0 or any(not t for t in tails) or len({tuple(t) for t in tails}) < len(tails):
        raise StudioError(f"This tokenizer cannot tell the answer letters apart after {prefix!r}: "
                          f"{LETTERS[:len(encs)]} encode to {tails}. Use the generative method instead.")
    path = max((t[:-1] for t in tails), key=len)  # the longest shared context any letter needs
    if not all(path[:len(t) - 1] == t[:-1] for t in tails):
        # Letters need different contexts: fall back to their first token if that tells them apart.
        if len({t[0] for t in tails}) < len(tails):
            raise StudioError("This tokenizer splits the answer letters into several tokens that start alike "
                              f"({tails}); categorical scoring needs them distinct. Use the generative method.")
        tails, path = [t[:1] for t in tails], []
    reads = [[(common - 1 + j, tok) for j, tok in enumerate(t)] for t in tails]
    return _Row(ids=encs[0][:common] + path, reads=reads)


def run_categorical(loaded, questions, fmt, settings, progress):
    import torch

    tok, model = loaded.tokenizer, loaded.model
    prefix = get_format(fmt).answer_prefix
    rows: list[_Row] = []
    for i in range(0, len(questions), 256):  # tokenize in chunks (the fast tokenizer batches in Rust)
        chunk = questions[i:i + 256]
        rows += letter_rows(tok, [prompt_text(tok, q, fmt, settings) for q in chunk],
                            [len(q.choices) for q in chunk], prefix)
    ctx, truncated = loaded.context_length, 0
    for row in rows:
        cut = len(row.ids) - ctx
        if cut > 0:  # keep BOS, drop the oldest tokens after it
            truncated += 1
            row.ids = row.ids[:1] + row.ids[1 + cut:]
            row.reads = [[(pos - cut, t) for pos, t in r] for r in row.reads]
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    probs: dict[int, list[float]] = {}
    done = 0
    for batch in _token_batches([len(r.ids) for r in rows], settings.batch_size, settings.max_batch_tokens):
        width = max(len(rows[i].ids) for i in batch)
        # Right padding: causal attention never looks ahead, so pads cannot change the kept positions.
        ids = torch.tensor([rows[i].ids + [pad] * (width - len(rows[i].ids)) for i in batch])
        positions = [sorted({p for r in rows[i].reads for p, _ in r}) for i in batch]
        keep = max(len(p) for p in positions)
        keep_t = torch.tensor([p + [p[-1]] * (keep - len(p)) for p in positions])  # (B, K)
        out = model(input_ids=ids.to(loaded.device), logits_to_keep=keep_t.to(loaded.device), use_cache=False)
        logprobs = torch.log_softmax(out.logits.float(), dim=-1).cpu()  # (B, K, V)
        for b, i in enumerate(batch):
            slot = {p: k for k, p in enumerate(positions[b])}
            scores = [sum(logprobs[b, slot[p], t].item() for p, t in r) for r in rows[i].reads]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            probs[i] = [w / sum(weights) for w in weights]
        done += len(batch)
        progress(done, len(rows))
    preds = []
    for i, q in enumerate(questions):
        p = probs[i]
        preds.append(to_prediction(q, max(range(len(p)), key=p.__getitem__), probs=p))
    return preds, truncated


def _token_batches(lengths: list[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """Indices grouped by length (shortest first) so that rows x longest length <= max_tokens."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    for i in order:
        # lengths ascend, so the newcomer is the batch's longest row
        if batches and len(batches[-1]) < max_rows and (len(batches[-1]) + 1) * lengths[i] <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches
