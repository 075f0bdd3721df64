"""Live metrics: how fast a line appended by a worker reaches a reader polling like the Train page
(every 2 s), and whether a read costs in proportion to the NEW lines only (not the file's size),
against the baseline of re-reading the whole file each time.

    python -m bench.metrics_bench

The writer is a real separate process appending with core.jobs.runs.append_metrics.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITER = """
import sys, time, random
from core.jobs import runs
run_dir, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    time.sleep(random.Random(i).uniform(0.2, 1.5))
    runs.append_metrics(run_dir, {"step": i + 1, "loss": 1.0, "written": time.time()})
"""


def latency(poll: float = 2.0, lines: int = 12) -> list[float]:
    from core.jobs import runs

    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-c", WRITER, tmp, str(lines)], cwd=Path(__file__).resolve().parent.parent)
        reader, out = runs.MetricsReader(Path(tmp)), []
        while len(out) < lines:
            time.sleep(poll)
            now = time.time()
            out += [now - r["written"] for r in reader.read_new()]
        proc.wait()
    return out


def read_cost(sizes: tuple[int, ...] = (1_000, 100_000), new: int = 10, repeats: int = 20) -> list[dict]:
    from core.jobs import runs

    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            line = json.dumps({"step": 0, "loss": 1.234567, "lr": 1e-4, "grad_norm": 0.5, "tokens_per_s": 1234.5}) + "\n"
            (d / runs.METRICS).write_text(line * size)
            reader = runs.MetricsReader(d)
            reader.read_new()
            inc, full = [], []
            for _ in range(repeats):
                for _ in range(new):
                    runs.append_metrics(d, {"step": 1, "loss": 1.0})
                t = time.perf_counter()
                reader.read_new()
                inc.append(time.perf_counter() - t)
                t = time.perf_counter()
                runs.read_metrics(d)  # baseline: parse the whole file again
                full.append(time.perf_counter() - t)
            rows.append({"lines": size, "incremental_ms": 1000 * statistics.median(inc),
                         "full_ms": 1000 * statistics.median(full)})
    return rows


def main() -> int:
    lat = latency()
    cost = read_cost()
    print("\n## metrics_bench: worker line -> reader (polling every 2 s, as the Train page)\n")
    print(f"latency over {len(lat)} lines: median {statistics.median(lat):.2f} s, max {max(lat):.2f} s "
          f"(target: max <= 3 s)\n")
    print("| file size (lines) | read 10 new lines, incremental (ms) | re-read whole file (ms) | ratio |")
    print("|---|---|---|---|")
    for r in cost:
        print(f"| {r['lines']:,} | {r['incremental_ms']:.3f} | {r['full_ms']:.2f} | {r['full_ms'] / r['incremental_ms']:.0f}x |")
    growth = cost[-1]["incremental_ms"] / cost[0]["incremental_ms"]
    print(f"\nincremental read cost, {cost[-1]['lines']:,} vs {cost[0]['lines']:,} lines: {growth:.2f}x "
          "(proportional to new lines: ~1x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
