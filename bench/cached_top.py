"""Can more epochs on a CPU teach held-out questions? Fine-tune only the top K blocks of a pretrained model on
hidden states cached once: one forward pass of the bottom blocks per question, then every epoch runs only
the top K blocks, forward and backward, on the answer letter's loss (a softmax over the question's valid
letters at the position where categorical scoring reads them). With K = 6 of SmolLM2's 30 blocks an epoch
costs about a fifth of a full fine-tune's, so 40 CPU minutes give ~10 epochs over 3,241 questions where
the worker gives ~2.

The epoch is chosen by accuracy on questions kept out of training (--val, from the training part); the
chosen weights go back into the whole model, which is then scored by the app's own categorical scorer
(core.evaluation.scoring) on the held-out questions beside the base model: 95% CI, paired difference,
McNemar, the top letter's share. A check first: the cached path reproduces the whole model's letter
log-probabilities.

    OMP_NUM_THREADS=1 python -m bench.cached_top --data ../shared/scienceqa/test_qcm.jsonl --held-out 1000 \\
        --top 6 --lr 1e-4 --minutes 40 --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "cached-top"


class _Captured(Exception):
    pass


def letter_reads(tok, questions, fmt: str):
    """(ids, read position, letter token ids) per question: categorical scoring's rows, single-token letters."""
    from core.data.prompts import get_format
    from core.evaluation.categorical import letter_rows
    from core.evaluation.scoring import EvalSettings, prompt_text

    prefix, settings, out = get_format(fmt).answer_prefix, EvalSettings(), []
    for i in range(0, len(questions), 256):
        chunk = questions[i:i + 256]
        rows = letter_rows(tok, [prompt_text(tok, q, fmt, settings) for q in chunk],
                           [len(q.choices) for q in chunk], prefix)
        for row in rows:
            if any(len(r) != 1 for r in row.reads) or len({r[0][0] for r in row.reads}) != 1:
                raise SystemExit("this bench needs letters that are one token each")
            out.append((row.ids, row.reads[0][0][0], [r[0][1] for r in row.reads]))
    return out


def cache_states(model, layer: int, reads, batch: int = 16) -> list:
    """The input of block `layer` for every row (bf16, on CPU): one forward pass that stops there."""
    import torch

    block, box = model.model.layers[layer], {}

    def grab(_module, args, kwargs):
        box["h"] = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        raise _Captured

    handle = block.register_forward_pre_hook(grab, with_kwargs=True)
    states: list = [None] * len(reads)
    order = sorted(range(len(reads)), key=lambda i: len(reads[i][0]))
    try:
        with torch.inference_mode():
            for s in range(0, len(order), batch):
                idx = order[s:s + batch]
                width = max(len(reads[i][0]) for i in idx)
                ids = torch.tensor([reads[i][0] + [0] * (width - len(reads[i][0])) for i in idx])
                try:
                    model(input_ids=ids, use_cache=False)
                except _Captured:
                    pass
                for b, i in enumerate(idx):
                    states[i] = box["h"][b, :len(reads[i][0])].to(torch.bfloat16).clone()
    finally:
        handle.remove()
    return states


def top_logits(model, top, states, reads, idx):
    """Letter logits (B, 5; -inf beyond a question's letters) through the top blocks only."""
    import torch

    width = max(states[i].shape[0] for i in idx)
    h = torch.zeros(len(idx), width, states[idx[0]].shape[1])
    for b, i in enumerate(idx):
        h[b, :states[i].shape[0]] = states[i].float()  # right padding: causal attention never looks ahead
    inner, full = model.model, model.model.layers
    inner.layers = top
    try:
        hidden = inner(inputs_embeds=h, use_cache=False).last_hidden_state
    finally:
        inner.layers = full
    at = hidden[torch.arange(len(idx)), torch.tensor([reads[i][1] for i in idx])]
    letters = torch.full((len(idx), 5), 0, dtype=torch.long)
    valid = torch.zeros(len(idx), 5, dtype=torch.bool)
    for b, i in enumerate(idx):
        letters[b, :len(reads[i][2])] = torch.tensor(reads[i][2])
        valid[b, :len(reads[i][2])] = True
    w = model.lm_head.weight[letters]  # (B, 5, d): the head's rows of the letters only
    logits = torch.einsum("bd,bkd->bk", at, w)
    return logits.masked_fill(~valid, float("-inf"))


def accuracy(model, top, states, reads, questions, idx_all, batch=32) -> tuple[float, float]:
    import torch

    right, preds = 0, Counter()
    with torch.no_grad():
        order = sorted(idx_all, key=lambda i: states[i].shape[0])
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            pred = top_logits(model, top, states, reads, idx).argmax(-1)
            for b, i in enumerate(idx):
                right += int(pred[b]) == questions[i].answer
                preds[int(pred[b])] += 1
    return right / len(idx_all), max(preds.values()) / len(idx_all)


def batches(idx, states, size: int, rng: random.Random) -> list[list[int]]:
    """Length-grouped batches in a random order (little padding, every epoch a new grouping)."""
    idx = idx[:]
    rng.shuffle(idx)
    chunks = [sorted(idx[i:i + size * 8], key=lambda j: states[j].shape[0]) for i in range(0, len(idx), size * 8)]
    out = [c[i:i + size] for c in chunks for i in range(0, len(c), size)]
    rng.shuffle(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--data", default="../shared/scienceqa/test_qcm.jsonl")
    ap.add_argument("--held-out", type=int, default=1000)
    ap.add_argument("--val", type=int, default=300, help="training-part questions kept out to choose the epoch")
    ap.add_argument("--format", default="paper")
    ap.add_argument("--top", type=int, default=6, help="blocks trained (the top K)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=40.0, help="training budget after caching")
    ap.add_argument("--balance", action="store_true", help="weight examples so every gold letter counts alike")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-n", type=int, default=None, help="train on the first N (a quick check)")
    ap.add_argument("--test-n", type=int, default=None, help="score the first N held-out questions (a quick check)")
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    from bench.cpu_recipe_bench import base_result, chance, compare
    from bench.learn_bench import held_out_split
    from bench.recipe_screen import top_letter_share
    from core.data.sources import load_source
    from core.evaluation.scoring import evaluate
    from core.models.loading import load_model
    from core.training.setup import resolve_model_path

    questions = load_source(a.data)
    train_q, test_q, _, how = held_out_split(questions, a.held_out)
    rng = random.Random(a.seed)
    train_q = train_q[:]
    rng.shuffle(train_q)
    val_q, fit_q = train_q[:a.val], train_q[a.val:][:a.train_n]
    test_q = test_q[:a.test_n]
    model_dir = resolve_model_path(a.model)
    loaded = load_model(model_dir, device="cpu", dtype=torch.float32)
    model, tok = loaded.model, loaded.tokenizer
    n_layers = len(model.model.layers)
    layer = n_layers - a.top
    print(f"{len(fit_q)} train / {len(val_q)} val / {len(test_q)} held out ({how}); format {a.format}; "
          f"top {a.top} of {n_layers} blocks, lr {a.lr}, batch {a.batch}, balance {a.balance}, "
          f"{a.threads} thread(s)", flush=True)

    qs = fit_q + val_q + test_q
    reads = letter_reads(tok, qs, a.format)
    started = time.time()
    states = cache_states(model, layer, reads)
    cache_s = time.time() - started
    fit_i = list(range(len(fit_q)))
    val_i = list(range(len(fit_q), len(fit_q) + len(val_q)))
    test_i = list(range(len(fit_q) + len(val_q), len(qs)))
    top = torch.nn.ModuleList(model.model.layers[layer:])
    # the check: the cached path gives the whole model's letter log-probabilities
    with torch.no_grad():
        probe = test_i[:4]
        mine = torch.log_softmax(top_logits(model, top, states, reads, probe), -1)
        whole = evaluate(loaded, [qs[i] for i in probe], a.format)
        ref = torch.tensor([p.probs + [0.0] * (5 - len(p.probs)) for p in whole.predictions]).log()
        gap = (mine.exp() - ref.exp()).abs().max().item()
    print(f"cached {len(qs)} questions in {cache_s / 60:.1f} min ({sum(s.numel() for s in states) * 2 / 2**20:.0f} MiB); "
          f"cached path vs whole model: max probability gap {gap:.4f}", flush=True)
    if gap > 0.02:
        raise SystemExit("the cached path does not reproduce the model: stopping")

    for p in model.parameters():
        p.requires_grad_(False)
    params = [p for p in top.parameters()] + list(model.model.norm.parameters())
    for p in params:
        p.requires_grad_(True)
    weights = torch.ones(len(qs))
    if a.balance:
        cls = Counter((len(qs[i].choices), qs[i].answer) for i in fit_i)
        per_n = Counter(len(qs[i].choices) for i in fit_i)
        for i in fit_i:
            n = len(qs[i].choices)
            weights[i] = per_n[n] / n / cls[(n, qs[i].answer)]
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.95), weight_decay=0.0)
    per_epoch = math.ceil(len(fit_i) / a.batch)
    base_val, base_top = accuracy(model, top, states, reads, qs, val_i)
    base_test, _ = accuracy(model, top, states, reads, qs, test_i)
    print(f"epoch 0: val {base_val:.1%} (top letter {base_top:.0%}), held out {base_test:.1%}", flush=True)
    best = (base_val, 0, {k: v.clone() for k, v in top.state_dict().items()})
    started, step, total = time.time(), 0, per_epoch * a.epochs
    for epoch in range(1, a.epochs + 1):
        model.train()
        losses = []
        for idx in batches(fit_i, states, a.batch, rng):
            lr = a.lr * min(1.0, (step + 1) / max(1, int(0.05 * total)))
            lr *= 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total)))
            for g in opt.param_groups:
                g["lr"] = lr
            logits = top_logits(model, top, states, reads, idx)
            gold = torch.tensor([qs[i].answer for i in idx])
            loss = (torch.nn.functional.cross_entropy(logits, gold, reduction="none") * weights[idx]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            losses.append(loss.item())
            step += 1
        model.eval()
        v, v_top = accuracy(model, top, states, reads, qs, val_i)
        t, t_top = accuracy(model, top, states, reads, qs, test_i)
        mins = (time.time() - started) / 60
        print(f"epoch {epoch}: loss {sum(losses) / len(losses):.3f}, val {v:.1%} (top letter {v_top:.0%}), "
              f"held out {t:.1%} (top letter {t_top:.0%}), {mins:.1f} min", flush=True)
        if v > best[0]:
            best = (v, epoch, {k: val.clone() for k, val in top.state_dict().items()})
        if mins * (epoch + 1) / epoch > a.minutes:
            break
    top.load_state_dict(best[2])
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    tuned = evaluate(loaded, test_q, a.format, batch_size=16)
    base = base_result(model_dir, test_q, a.format, Path(str(model_dir)).name)
    c = compare(base, tuned)
    result = {"args": vars(a), "chosen_epoch": best[1], "val": best[0], "cache_minutes": cache_s / 60,
              "train_minutes": (time.time() - started) / 60, "chance": chance(test_q),
              "base": base.accuracy, "base_top_letter": top_letter_share(base),
              "tuned_top_letter": top_letter_share(tuned), **c}
    always = Counter(q.answer for q in test_q).most_common(1)[0]
    result["always_most_common"] = always[1] / len(test_q)
    print(f"chosen epoch {best[1]} (val {best[0]:.1%}); held out: base {base.accuracy:.1%} -> tuned {tuned.accuracy:.1%} "
          f"[{c['ci'][0]:.1%}, {c['ci'][1]:.1%}], {c['diff']:+.1%} [{c['diff_ci'][0]:+.1%}, {c['diff_ci'][1]:+.1%}], "
          f"{c['only_base']} / {c['only_tuned']} flipped, McNemar p {c['p']:.2g}; chance {result['chance']:.1%}, "
          f"always {'ABCDE'[always[0]]} {result['always_most_common']:.1%}; top letter {result['base_top_letter']:.0%} "
          f"-> {result['tuned_top_letter']:.0%}", flush=True)
    (OUT / f"top{a.top}-lr{a.lr}-b{a.batch}{'-bal' if a.balance else ''}.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
