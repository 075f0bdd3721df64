"""`python -m core eval`: score a model on a data source, write the results JSON, print a summary.

    python -m core eval --model tiny --data sample --split test --method categorical --out results.json
    python -m core eval --model run:20260101-120000 --data ../shared/scienceqa/test_qcm.jsonl --format paper
    python -m core eval --model tiny --data sample --split test --method plan     # the invalid metric, labelled

Results are cached per (model, data, format, method): a second identical call returns at once.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    from core.data.prompts import DEFAULT_FORMAT, FORMATS
    from core.evaluation.methods import all_methods

    p = subparsers.add_parser("eval", help="evaluate a model on ScienceQA questions")
    p.add_argument("--model", required=True, help="tiny | a Hub repo id | a model folder | run:<id>")
    p.add_argument("--data", required=True, help="sample | hub | a folder | a .jsonl/.json/.csv file | subset:NAME")
    p.add_argument("--split", default=None, help="train | val | test (default: every row)")
    p.add_argument("--method", default="categorical", choices=[m.name for m in all_methods()],
                   help="; ".join(f"{m.name}: {m.label.lower()}" for m in all_methods())
                   + " (default: categorical)")
    p.add_argument("--format", dest="fmt", default=None, choices=list(FORMATS),
                   help=f"prompt format (default: the one the model was trained with, else {DEFAULT_FORMAT})")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=48, help="generative: token cap per answer")
    p.add_argument("--seed", type=int, default=0, help="generative: seed of the paper's random fallback")
    p.add_argument("--device", default=None, help="cuda | mps | cpu (default: best available)")
    p.add_argument("--no-cache", action="store_true", help="evaluate even if a cached result exists")
    p.add_argument("--out", default=None, help="write the results JSON here (summary + every prediction)")
    p.add_argument("--csv", default=None, help="also write one CSV row per question here")
    p.add_argument("--markdown", default=None, help="also write a model-card section here")
    p.add_argument("--against", default=None, metavar="BASE",
                   help="also evaluate BASE on the same questions and print Compare's paired verdict (McNemar)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.evaluation.capability import default_format
    from core.evaluation.comparison import pair_format
    from core.evaluation.jobs import EvalRequest, load_results, run_eval
    from core.evaluation.reports import to_csv, to_json, to_markdown
    from core.files import check_output, write_text_atomic

    fmt = args.fmt or (pair_format(args.against, args.model) if args.against else default_format(args.model))
    req = EvalRequest(model=args.model, data=args.data, split=args.split, method=args.method, fmt=fmt,
                      limit=args.limit, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
                      seed=args.seed, device=args.device)
    for out in (args.out, args.csv, args.markdown):  # before the evaluation, not after minutes of it
        if out:
            check_output(Path(out))
    run_dir, cached = run_eval(req, use_cache=not args.no_cache)
    result, summary = load_results(run_dir)
    if args.out:
        write_text_atomic(Path(args.out), to_json(result, req.split) + "\n")
    if args.csv:
        write_text_atomic(Path(args.csv), to_csv(result))
    if args.markdown:
        write_text_atomic(Path(args.markdown), to_markdown(summary))
    print(format_summary(summary, cached, run_dir))
    if args.against:
        print(against(req, result, args.against, use_cache=not args.no_cache))
    return 0


def against(req, tuned, base: str, use_cache: bool = True) -> str:
    """Compare's verdict from the command line: BASE on the same questions, method and format, then the
    paired difference, McNemar's test and the page's headline sentence."""
    from dataclasses import replace

    from core.evaluation.jobs import load_results, run_eval
    from core.evaluation.reports import compare, headline
    from core.models.catalogue import display_name

    run_dir, cached = run_eval(replace(req, model=base), use_cache=use_cache)
    base_result, base_summary = load_results(run_dir)
    cmp = compare(base_result, tuned)
    lo, hi = cmp["difference_ci"]
    t = cmp["table"]
    return "\n".join([
        f"base {display_name(base)}:",
        format_summary(base_summary, cached, run_dir),
        f"paired, {cmp['n']} questions: {100 * cmp['difference']:+.1f} points (95% CI {100 * lo:+.1f} to {100 * hi:+.1f}); "
        f"fixed {t['tuned_only']}, broke {t['base_only']}; McNemar p = {cmp['mcnemar_p']:.2g} ({cmp['mcnemar_test']})",
        headline(cmp, base=display_name(base), tuned=display_name(req.model)),
    ])


def format_summary(summary: dict, cached: bool, run_dir) -> str:
    from core.data.records import LEADERBOARD_COLUMNS

    lo, hi = summary["ci"]
    lines = []
    if not summary["valid"]:
        lines.append(f"WARNING: {summary['warning']}")
    if summary.get("prompt_only_accuracy") is not None:
        lines.append(f"WARNING: the prompt text alone, with no model, scores "
                     f"{100 * summary['prompt_only_accuracy']:.2f}% under this metric.")
    lines.append(f"{summary['method']} accuracy: {100 * summary['accuracy']:.2f}% "
                 f"(95% CI {100 * lo:.2f}-{100 * hi:.2f}, n={summary['n']}); "
                 f"chance on these questions {100 * summary['chance']:.2f}%"
                 + (f", always ({summary['always_letter']}) {100 * summary['always_letter_accuracy']:.2f}%"
                    if summary.get("always_letter_accuracy") is not None else ""))
    if summary.get("format_failures") is not None:
        lines.append(f"no valid answer: {summary['format_failures']} of {summary['n']}; paper's accuracy with a "
                     f"random fallback: {100 * summary['fallback_accuracy']:.2f}%")
    if summary.get("degenerate"):
        lines.append(f"WARNING: {summary['degenerate']}")
    cols = summary["columns"]
    lines.append("  ".join(f"{c} {100 * cols[c]['accuracy']:.1f}" if cols[c]["accuracy"] is not None else f"{c} -"
                           for c in LEADERBOARD_COLUMNS))
    if summary.get("reference"):
        lines.append("published (official test): " + ", ".join(
            f"{r['name']} {100 * r['accuracy']:.2f}" for r in summary["reference"]))
    lines.append(f"{'cached result' if cached else 'evaluated in'} {summary['seconds']:.1f} s: {run_dir}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit("run as: python -m core eval ...")
