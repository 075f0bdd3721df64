"""How fast is categorical evaluation, beside the plan's method, on the same model and questions?

The tiny preset (size "small", ~5M parameters, tokenizer trained on the embedded sample's train split)
scores the first N questions of the official test split (../shared/scienceqa/test_qcm.jsonl) with:
- categorical: one batched forward pass per batch, letter log-probabilities at the answer position;
- the plan's method: generate up to 200 tokens per question at batch 1, decode outputs[0].
Then (unless --skip-full) categorical on all 4,241 official test questions. CPU threads are pinned
(2 by default) so figures are comparable across machines of this kind.

    python -m bench.eval_bench                       # 100 questions each, then the full test split
    python -m bench.eval_bench --plan-questions 20   # time the plan on the first 20 of the 100 only
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "scienceqa"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.eval_bench")
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--plan-questions", type=int, default=None, help="default: the same questions")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--format", default="paper")
    ap.add_argument("--skip-full", action="store_true", help="skip the 4,241-question run")
    args = ap.parse_args(argv)

    import torch

    from core.data.sources import load_source
    from core.evaluation.scoring import EvalSettings, evaluate, plan_prompt_only_accuracy, prompt_text
    from core.models.loading import load_model
    from core.models.tiny import create_tiny

    torch.set_num_threads(args.threads)
    test = load_source(str(SHARED / "test_qcm.jsonl"))
    questions = test[: args.questions]
    with tempfile.TemporaryDirectory() as tmp:
        folder = create_tiny(load_source("sample", "train"), Path(tmp) / "tiny", size="small", seed=0)
        loaded = load_model(folder, device="cpu")
        params = sum(p.numel() for p in loaded.model.parameters())
        settings = EvalSettings(batch_size=args.batch_size)
        lengths = [len(loaded.tokenizer.encode(prompt_text(loaded.tokenizer, q, args.format, settings)))
                   for q in questions]
        evaluate(loaded, questions[:4], args.format, settings=settings)  # warm-up (first-call overheads)

        def timed_categorical():
            t = time.perf_counter()
            result = evaluate(loaded, questions, args.format, settings=settings)
            return result, time.perf_counter() - t

        # Categorical before and after the plan's run, keeping the faster: on a shared machine the load
        # changes over minutes, and the plan's run is too slow to repeat.
        cat, cat_s = timed_categorical()
        plan_qs = questions[: args.plan_questions or len(questions)]
        t = time.perf_counter()
        plan = evaluate(loaded, plan_qs, args.format, "plan", settings=settings)
        plan_s = time.perf_counter() - t
        cat_s = min(cat_s, timed_categorical()[1])
        full = None
        if not args.skip_full:
            t = time.perf_counter()
            full = evaluate(loaded, test, args.format, settings=settings)
            full_s = time.perf_counter() - t

    cat_qps, plan_qps = len(questions) / cat_s, len(plan_qs) / plan_s
    chance = sum(1 / len(q.choices) for q in questions) / len(questions)
    print(f"tiny 'small' ({params / 1e6:.1f}M parameters), {args.threads} CPU threads, format {args.format}, "
          f"prompts {sum(lengths) / len(lengths):.0f} tokens on average (max {max(lengths)})\n")
    print("| method | questions | seconds | questions/s | accuracy | valid |")
    print("|---|---|---|---|---|---|")
    print(f"| plan (generate 200 tokens, batch 1, decode outputs[0]) | {len(plan_qs)} | {plan_s:.1f} | "
          f"{plan_qps:.2f} | {100 * plan.accuracy:.1f}% | no |")
    print(f"| categorical (batch {args.batch_size}) | {len(questions)} | {cat_s:.2f} | {cat_qps:.1f} | "
          f"{100 * cat.accuracy:.1f}% | yes |")
    if full is not None:
        print(f"| categorical, full official test split | {len(test):,} | {full_s:.1f} | {len(test) / full_s:.1f} | "
              f"{100 * full.accuracy:.1f}% | yes |")
    print(f"\nspeed-up, categorical vs the plan's method: **{cat_qps / plan_qps:.0f}x** questions per second "
          f"(target >= 50x). Chance on these questions: {100 * chance:.1f}%; the plan's metric gives a "
          f"random-init model {100 * plan.accuracy:.1f}%; with no model at all (the prompt text alone) it gives "
          f"{100 * plan_prompt_only_accuracy(questions):.1f}% on these {len(questions)} and "
          f"{100 * plan_prompt_only_accuracy(test):.1f}% on all {len(test):,} test questions (chance "
          f"{100 * sum(1 / len(q.choices) for q in test) / len(test):.1f}%).")
    print(json.dumps({"cat_qps": cat_qps, "plan_qps": plan_qps, "ratio": cat_qps / plan_qps,
                      "full_seconds": full_s if full is not None else None}))


if __name__ == "__main__":
    main()
