"""How long does the Train page take to rerun with many runs listed?

Writes run folders the way the worker does (config, status, 300 metric lines with an evaluation every
25 steps) into a temporary app home, then times the Train page's script (server side, Streamlit's
AppTest): the first run, then reruns with nothing changed (what every click costs), with 1 run listed
beside 20 (the target: a rerun with 20 runs under 0.5 s).

    python -m bench.train_page_bench [--runs 20] [--reruns 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "views" / "3_Train.py"


def write_runs(n: int, steps: int = 300) -> None:
    from core.home import area
    from core.jobs import runs
    from core.training.recipes import build_config

    for i in range(n):
        d = runs.create_run(area("runs"), build_config("tiny", "sample", recipe="tiny", label=f"run {i}").to_dict(),
                            name=f"run-{i:02d}")
        lines = []
        for s in range(1, steps + 1):
            rec = {"step": s, "loss": 5.0 / s ** 0.5, "lr": 1e-3, "grad_norm": 1.0, "tokens_per_s": 900.0,
                   "peak_memory": 2**28, "elapsed": float(s), "eta": float(steps - s), "progress": s / steps}
            if s % 25 == 0:
                rec.update(eval_loss=4.0 / s ** 0.4, eval_accuracy=0.4 + s / 1000)
            lines.append(rec)
        for rec in lines:
            runs.append_metrics(d, rec)
        runs.write_status(d, state="done", step=steps, total=steps, started=1e9, ended=1e9 + steps,
                          elapsed=float(steps), progress=1.0, best_eval_loss=0.5, best_eval_accuracy=0.7)


def page_times(home: Path, n: int, reruns: int) -> tuple[float, float]:
    os.environ["SQA_STUDIO_HOME"] = str(home)
    from streamlit.testing.v1 import AppTest

    write_runs(n)
    at = AppTest.from_file(str(PAGE), default_timeout=300)
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == n
    times = []
    for _ in range(reruns):
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        assert not at.exception, at.exception
    return first, statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--reruns", type=int, default=7)
    a = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"| Train page (AppTest, server side) | first run | rerun (median of {a.reruns}) |")
    print("|---|---|---|")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        page_times(Path(tmp) / "warm-up", 1, 1)  # imports (torch, plotly, pandas) are not the page's cost
        for n in (1, a.runs):
            first, rerun = page_times(Path(tmp) / f"home-{n}", n, a.reruns)
            results[n] = rerun
            print(f"| {n} run{'s' * (n != 1)} listed | {first:.2f} s | {rerun:.3f} s |")
    print(f"\n{a.runs} runs vs 1: {results[a.runs] / results[1]:.2f}x the rerun time; target under 0.5 s: "
          f"{'met' if results[a.runs] < 0.5 else 'missed'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
