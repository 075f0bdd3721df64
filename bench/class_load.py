"""A class at once on the real class link: N simulated students each send one open science question within
one second to `classroom.py` (a real Gradio server process, driven through gradio_client, streaming), once
with replies generated one at a time (`--batch 1`, the class link's old queue: the baseline) and once with
continuous batching (core.serving.batching), in the same run, the same greedy settings and questions.

Per N and mode: time to first token (median, p95: the first streamed text a student sees, waiting in line
included), time to the whole reply (median, p95), aggregate generated tokens/s (all students' reply tokens
over the time from the first question to the last reply), the server's peak memory (VmHWM), and whether
the batched replies are token-identical to the one-at-a-time ones (greedy).

    python -m bench.class_load                         # N = 1, 10, 30, offline SmolLM2-135M
    python -m bench.class_load --students 30 --tokens 48
    python -m bench.class_load --endpoint http://127.0.0.1:8080/v1 --endpoint-model smollm2   # a server too

Prints a markdown table and, per N, `speed-up at N students: 4.2x` (batched aggregate tokens/s over one
at a time, same run). The machine's load (uptime) is printed first: say it beside any figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "assets" / "open_questions" / "open_questions.jsonl"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def start_server(model: str, batch: int, tokens: int, folder: Path, endpoint: tuple[str, str] | None = None):
    """classroom.py in its own process (greedy, no rate limit to speak of); returns (process, url)."""
    state = folder / f"server-{batch}-{int(time.time() * 1000)}.json"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    env.pop("SQA_TUTOR_ENDPOINT", None)
    if endpoint:
        env.update(SQA_TUTOR_ENDPOINT=endpoint[0], SQA_TUTOR_ENDPOINT_MODEL=endpoint[1])
    proc = subprocess.Popen([sys.executable, str(ROOT / "classroom.py"), "--model", model, "--batch", str(batch),
                             "--temperature", "0", "--max-new-tokens", str(tokens), "--rate", "1000",
                             "--state", str(state)], env=env, stdout=subprocess.DEVNULL,
                            stderr=open(folder / "server.log", "ab"))
    deadline = time.monotonic() + 300
    while not state.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the class link did not start; see {folder / 'server.log'}")
        time.sleep(0.5)
    return proc, json.loads(state.read_text())["local_url"]


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_class(url: str, questions: list[str], count) -> dict:
    """All students ask at once (each from its own client); returns the timings and replies."""
    from gradio_client import Client

    clients = [Client(url, verbose=False, analytics_enabled=False, download_files=False) for _ in questions]
    go = threading.Barrier(len(questions) + 1)
    results: list[dict] = [{} for _ in questions]

    def student(i: int) -> None:
        go.wait()
        began = time.perf_counter()
        first, text = None, ""
        job = clients[i].submit(message=questions[i], api_name="/chat")
        for out in job:  # the streamed text so far
            if out and first is None:
                first = time.perf_counter() - began
            text = out or text
        final = job.result()
        text = final if isinstance(final, str) else text
        results[i] = dict(ttft=first if first is not None else time.perf_counter() - began,
                          total=time.perf_counter() - began, text=text, start=began, end=time.perf_counter())

    threads = [threading.Thread(target=student, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    go.wait()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    span = max(r["end"] for r in results) - min(r["start"] for r in results)
    tokens = sum(count(r["text"]) for r in results)
    return dict(ttft=[r["ttft"] for r in results], total=[r["total"] for r in results], tokens=tokens,
                rate=tokens / span, texts=[r["text"] for r in results])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, nargs="+", default=[1, 10, 30])
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--tokens", type=int, default=48, help="max new tokens per reply")
    p.add_argument("--batch", type=int, default=32, help="the batched server's maximum batch")
    p.add_argument("--endpoint", default=None, help="also run the class link against this OpenAI-compatible server")
    p.add_argument("--endpoint-model", default="default")
    p.add_argument("--endpoint-only", action="store_true", help="only the endpoint rows (no speed-up line)")
    args = p.parse_args(argv)

    from core.models.loading import load_tokenizer
    from core.models.obtain import resolve_model

    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} (1, 5, 15 min) on "
          f"{os.cpu_count()} cores", flush=True)
    folder = resolve_model(args.model)  # imported once into the app home before any timing
    tok = load_tokenizer(folder)
    count = lambda text: len(tok.encode(text, add_special_tokens=False))  # noqa: E731
    pool = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    modes = [] if args.endpoint_only else [("one at a time", 1, None), ("batched", args.batch, None)]
    if args.endpoint:
        modes.append(("endpoint", args.batch, (args.endpoint, args.endpoint_model)))
    rows, texts, rates = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, batch, endpoint in modes:
            proc, url = start_server(args.model, batch, args.tokens, Path(tmp), endpoint)
            try:
                run_class(url, pool[:1], count)  # warm-up: the first reply pays one-off costs
                for n in args.students:
                    r = run_class(url, [pool[i % len(pool)] for i in range(n)], count)
                    texts[(name, n)], rates[(name, n)] = r["texts"], r["rate"]
                    rows.append((n, name, statistics.median(r["ttft"]), pct(r["ttft"], 0.95),
                                 statistics.median(r["total"]), pct(r["total"], 0.95), r["rate"], r["tokens"],
                                 peak_memory_mb(proc.pid)))
                    print(f"  {name}, {n} students: {r['rate']:.1f} tokens/s", flush=True)
            finally:
                proc.terminate()
                proc.wait(30)
    print("\n| students | generation | TTFT median s | TTFT p95 s | reply median s | reply p95 s | tokens/s | "
          "tokens | peak MB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n, name, t50, t95, r50, r95, rate, tokens, mem in rows:
        print(f"| {n} | {name} | {t50:.2f} | {t95:.2f} | {r50:.2f} | {r95:.2f} | {rate:.1f} | {tokens} | {mem:.0f} |")
    print()
    for n in args.students if modes and modes[0][2] is None else []:
        same = sum(a == b for a, b in zip(texts[("one at a time", n)], texts[("batched", n)]))
        print(f"speed-up at {n} students: {rates[('batched', n)] / rates[('one at a time', n)]:.1f}x "
              f"(batched over one at a time, same run); greedy replies identical: {same}/{n}")
    print(f"load at the end: {os.getloadavg()[0]:.1f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
