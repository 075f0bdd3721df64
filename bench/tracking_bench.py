"""What experiment tracking costs: training tokens/s with no tracker, with trackio and with TensorBoard.

The same run (the tiny `small` preset, recipe `tiny`, the embedded sample's train split, the same
seed) is trained by the real worker three ways in alternating rounds (the order rotates each round),
each for a fixed time; tokens/s is the median of the run's per-step figures from the second step on
(the first pays warm-up). Ratios are per round, then their median. Beside that, the direct cost: the
run's own metrics.jsonl replayed through `core.training.tracking.Tracker` (the call the worker makes
after each step), timed per record, as a share of the mean step time.

    python -m bench.tracking_bench --seconds 60 --rounds 3 --size xs

Everything goes under bench/out/tracking/ (its own app home, trackio database and run folders).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "tracking"
MODES = [(), ("trackio",), ("tensorboard",)]


def label(mode: tuple[str, ...]) -> str:
    return "+".join(mode) or "none"


def one_run(model_dir: Path, mode: tuple[str, ...], seconds: float, round_: int) -> dict:
    from core.jobs import runs
    from core.training.recipes import TrainConfig, get_recipe
    from core.training.worker import run_worker

    recipe = get_recipe("tiny", eval_every=10_000, eval_examples=0, save_every=10_000, seed=0)  # training only
    cfg = TrainConfig(model=str(model_dir), data="sample", recipe=recipe, format="paper", minutes=seconds / 60,
                      device="cpu", report_to=mode)
    run_dir = runs.create_run(OUT / "home" / "runs", cfg.to_dict(), name=f"r{round_}-{label(mode)}")
    rc = run_worker(run_dir)
    st = runs.read_status(run_dir)
    if rc or st.state != "done":
        print(runs.log_tail(run_dir))
        raise SystemExit(f"{run_dir.name}: {st.state} {st.error}")
    hist = [r for r in runs.read_metrics(run_dir) if "tokens_per_s" in r]
    tps = statistics.median(r["tokens_per_s"] for r in (hist[1:] or hist))
    step_s = ((hist[-1]["elapsed"] - hist[0]["elapsed"]) / (len(hist) - 1) if len(hist) > 1
              else hist[0]["elapsed"])
    print(f"round {round_} {label(mode):12} {len(hist)} steps, {tps:,.0f} tokens/s", flush=True)
    return {"mode": label(mode), "round": round_, "steps": len(hist), "tokens_per_s": tps, "step_s": step_s,
            "run_dir": str(run_dir), "records": hist}


def replay_cost(records: list[dict], name: str, scratch: Path, calls: int = 1000) -> float:
    """Seconds per Tracker.log call: a run's records replayed `calls` times (steps renumbered) into a fresh
    tracker, the closing flush included."""
    from core.training.tracking import Tracker

    t = Tracker(scratch / f"replay-{name}-{time.time_ns()}", [name], {"replay": True}, log=lambda _: None)
    t0 = time.perf_counter()
    for i in range(calls):
        t.log({**records[i % len(records)], "step": i + 1})
    t.close()
    return (time.perf_counter() - t0) / calls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=40.0, help="training time of each run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", default="small", help="tiny preset size (xs, small, medium)")
    ap.add_argument("--replay-only", action="store_true",
                    help="only time Tracker.log on the metrics of the last bench's first untracked run")
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["SQA_STUDIO_HOME"] = str(OUT / "home")
    import torch

    torch.set_num_threads(a.threads)
    if a.replay_only:
        from core.jobs import runs

        recs = [r for r in runs.read_metrics(OUT / "home" / "runs" / "r0-none") if "tokens_per_s" in r]
        for name in ("trackio", "tensorboard"):
            print(f"{name}: {1e3 * replay_cost(recs, name, OUT):.3f} ms per Tracker.log call (1,000 calls)")
        return 0
    from core.data.sources import load_source
    from core.models.tiny import create_tiny

    train_q = [q for q in load_source("sample") if q.split == "train"]
    model_dir = create_tiny(train_q, OUT / f"tiny-{a.size}", size=a.size, seed=0, source="sample", overwrite=True)
    results = []
    for r in range(a.rounds):
        order = MODES[r % 3:] + MODES[: r % 3]
        results += [one_run(model_dir, mode, a.seconds, r) for mode in order]

    by = {label(m): [x for x in results if x["mode"] == label(m)] for m in MODES}
    base = {x["round"]: x["tokens_per_s"] for x in by["none"]}
    step_s = statistics.median(x["step_s"] for x in by["none"])
    print(f"\n## tracking_bench: tiny '{a.size}', recipe tiny, sample, {a.seconds:.0f} s a run, {a.rounds} rounds, "
          f"{a.threads} CPU threads\n")
    print("| tracker | tokens/s (median of rounds) | ratio to none (median of rounds; per round) | "
          "Tracker.log per step (replay) | share of a step |")
    print("|---|---|---|---|---|")
    summary = {}
    for m in MODES:
        name, xs = label(m), by[label(m)]
        ratios = [x["tokens_per_s"] / base[x["round"]] for x in xs]
        per = replay_cost(by["none"][0]["records"], m[0], OUT) if m else 0.0
        summary[name] = {"tokens_per_s": statistics.median(x["tokens_per_s"] for x in xs),
                         "ratio": statistics.median(ratios), "rounds": ratios, "log_s": per, "share": per / step_s}
        s = summary[name]
        print(f"| {name} | {s['tokens_per_s']:,.0f} | {s['ratio']:.3f} ({', '.join(f'{q:.3f}' for q in ratios)}) | "
              f"{1e3 * per:.2f} ms | {100 * s['share']:.4f}% of {step_s:.2f} s |")
    for x in results:
        x.pop("records")
    (OUT / "results.json").write_text(json.dumps({"args": vars(a), "summary": summary, "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
