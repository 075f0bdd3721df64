"""Two parts of a training step, each beside its baseline in alternating rounds, on 2 CPU threads:

- the loss head: `core.training.batching.TargetLoss`'s way (nanochat's head, softcap and cross-entropy on chunks
  of the target positions) against all target positions at once, as the model's own forward does it:
  forward + backward of the head alone, on the hidden states of real batches of 16 (sample, paper_ale);
- Muon's Newton-Schulz step: same-shape matrices as one batch (`core.training.muon.Muon`) against one matrix
  at a time (`orthogonalize` per matrix), for the weight matrices of the tiny `small` preset.

Both call the functions training uses (`core.training.batching.head_loss`, `core.training.muon.orthogonalize_all`).

    python -m bench.step_bench
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "step-bench"


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def head_cases(model, batches):
    """(chunked, whole): forward + backward of the head and loss on fixed hidden states."""
    import torch

    from core.training import batching

    assert batching.TargetLoss(model).direct, "the benchmark model must take TargetLoss's chunked path"
    head = model.get_output_embeddings()
    cap = model.config.final_logit_softcapping
    inputs = []
    for b in batches:
        tgt = b["labels"][:, 1:]
        keep = torch.nn.functional.pad(tgt != batching.IGNORE, (0, 1))
        with torch.no_grad():
            hidden = model.get_decoder()(input_ids=b["input_ids"]).last_hidden_state[keep]
        inputs.append((hidden.requires_grad_(), tgt[tgt != batching.IGNORE]))

    def run(rows: int):
        def go():
            for hidden, targets in inputs:
                batching.head_loss(hidden, targets, head, cap, rows).backward()
        return go

    rows = max(256, batching.HEAD_CHUNK_LOGITS // head.out_features)
    return run(rows), run(10**9), rows, statistics.mean(len(t) for _, t in inputs)


def muon_cases(model):
    from core.training.muon import orthogonalize, orthogonalize_all

    mats = [p.detach().clone() for n, p in model.named_parameters()
            if p.ndim == 2 and "embed_tokens" not in n and "lm_head" not in n]
    return lambda: orthogonalize_all(mats), lambda: [orthogonalize(m) for m in mats], len(mats)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batches", type=int, default=6, help="batches of 16 for the head")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    from transformers import AutoModelForCausalLM

    from core.data.prompts import DEFAULT_SYSTEM_PROMPT
    from core.data.sources import load_source
    from core.models.loading import load_tokenizer
    from core.models.tiny import create_tiny
    from core.training.batching import collate, encode_all, length_grouped_batches
    from core.training.setup import split_questions

    train_q, _, _ = split_questions(load_source("sample"), 0.1, 0)
    model_dir = create_tiny(train_q, OUT / "model-small", size="small", seed=0, overwrite=True)
    tok = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    examples, _ = encode_all(tok, train_q, "paper_ale", DEFAULT_SYSTEM_PROMPT, 512)
    order = length_grouped_batches([len(e) for e in examples], 16, seed=0)[: a.batches]
    batches = [collate([examples[i] for i in b], tok.pad_token_id) for b in order]
    chunked, whole, rows, targets = head_cases(model, batches)
    batched, one_by_one, n_mats = muon_cases(model)
    cases = {"head": (chunked, whole), "muon": (batched, one_by_one)}
    times: dict[str, list[list[float]]] = {k: [[], []] for k in cases}
    for r in range(a.rounds):
        for name, (new, old) in cases.items():
            reps = 1 if name == "head" else 5
            times[name][0].append(timed(new, reps) / (a.batches if name == "head" else 1))
            times[name][1].append(timed(old, reps) / (a.batches if name == "head" else 1))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[0][-1] * 1e3:.0f} vs {v[1][-1] * 1e3:.0f} ms"
                                            for k, v in times.items()), flush=True)
    med = statistics.median
    print(f"\n## step_bench: tiny 'small', {a.threads} CPU threads, median of {a.rounds} alternating rounds\n")
    print("| part | this app | baseline | speed-up |")
    print("|---|---|---|---|")
    (head_new, head_old), (muon_new, muon_old) = ([med(t) * 1e3 for t in times[k]] for k in ("head", "muon"))
    print(f"| loss head, forward + backward per batch of 16 (~{targets:,.0f} target tokens) | "
          f"{head_new:.0f} ms (chunks of {rows} positions) | {head_old:.0f} ms (all at once) | "
          f"{head_old / head_new:.2f}x |")
    print(f"| Muon Newton-Schulz, {n_mats} matrices | {muon_new:.0f} ms (same shapes batched) | "
          f"{muon_old:.0f} ms (one at a time) | {muon_old / muon_new:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
