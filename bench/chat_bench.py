"""Tutor chat speed on CPU: time to first token (TTFT) and tokens/s of the tiny preset, one student and
a class of N at once, beside the plan's baseline, in one run.

- tutor: `core.serving.chat.stream_reply` (chat template, streamed, one generation at a time per device; a
  waiting student's TTFT includes the wait);
- plan: the plan's demo (raw text prompt, no chat template, `generate` to the end, then decode): the
  student sees nothing until the whole answer is done; N students at once run N generations at once
  (no queue), which on a GPU is what runs it out of memory.

    python -m bench.chat_bench                       # small tiny preset, 64 new tokens, 10 sessions
    python -m bench.chat_bench --size xs --sessions 30 --tokens 32

Prints a markdown table. The model goes under bench/out/chat/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "chat"
QUESTION = "Question: Which is heavier?\nContext: N/A\nOptions: (A) 3 kg (B) 5 kg"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def tutor_one(loaded, settings) -> tuple[float, int, float]:
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT
    from core.serving.chat import ReplyStats, build_messages, stream_reply

    stats, began = ReplyStats(), time.perf_counter()
    for _ in stream_reply(loaded, build_messages(DEFAULT_SYSTEM_PROMPT, [], QUESTION), settings, stats=stats):
        pass
    return stats.first_token or (time.perf_counter() - began), stats.new_tokens, time.perf_counter() - began


def plan_one(loaded, max_new: int) -> tuple[float, int, float]:
    import torch

    tok = loaded.tokenizer
    began = time.perf_counter()
    ids = tok(f"{DEFAULT_PROMPT}{QUESTION}\nAnswer:", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = loaded.model.generate(ids, max_new_tokens=max_new, do_sample=False,
                                    pad_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)
    tok.decode(out[0], skip_special_tokens=True)  # the plan decoded the prompt back with the answer
    took = time.perf_counter() - began
    return took, int(out.shape[1] - ids.shape[1]), took  # nothing is shown before the end


DEFAULT_PROMPT = "You are a science tutor.\n"


def in_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def run_sessions(fn, n: int) -> dict:
    results: list[tuple[float, int, float]] = []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def session() -> None:
        start.wait()
        r = fn()
        with lock:
            results.append(r)

    began = time.perf_counter()
    threads = [threading.Thread(target=session) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    ttft = [r[0] for r in results]
    tokens = sum(r[1] for r in results)
    return {"ttft_p50": pct(ttft, 0.5), "ttft_p95": pct(ttft, 0.95), "tokens": tokens, "wall": wall,
            "tok_s": tokens / wall}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="small", help="tiny preset size (xs, small, medium)")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--tokens", type=int, default=64, help="max new tokens per reply")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--repeat", type=int, default=3, help="single-session repetitions (median reported)")
    a = ap.parse_args(argv)
    os.environ["SQA_STUDIO_HOME"] = str(OUT / "home")
    # Before torch loads: every thread (not only the main one) gets this many OpenMP threads.
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import torch

    torch.set_num_threads(a.threads)
    from core.data.sources import load_source
    from core.models.tiny import create_tiny
    from core.serving.chat import ChatSettings, get_model

    model_dir = OUT / f"tiny-{a.size}"
    if not (model_dir / "config.json").exists():
        create_tiny(load_source("sample", "train"), model_dir, size=a.size, seed=0, source="sample:train",
                    overwrite=True)
    loaded = get_model(model_dir, device="cpu")
    # min_new_tokens: a random-init model may end at once; the same token count keeps rates comparable.
    settings = ChatSettings(temperature=0.0, max_new_tokens=a.tokens)
    loaded.model.generation_config.min_new_tokens = a.tokens
    # Every request runs in a worker thread, as in the servers (Streamlit sessions, Gradio workers); a
    # generate() on the main thread of a loaded 2-core machine was 10x slower here (OpenMP spinning).
    in_thread(lambda: tutor_one(loaded, settings)), in_thread(lambda: plan_one(loaded, a.tokens))  # warm-up
    single = {}
    for name, fn in (("tutor", lambda: tutor_one(loaded, settings)), ("plan", lambda: plan_one(loaded, a.tokens))):
        runs = [in_thread(fn) for _ in range(a.repeat)]
        single[name] = {"ttft": statistics.median(r[0] for r in runs),
                        "tok_s": statistics.median(r[1] / r[2] for r in runs)}
    many = {"tutor": run_sessions(lambda: tutor_one(loaded, settings), a.sessions),
            "plan": run_sessions(lambda: plan_one(loaded, a.tokens), a.sessions)}

    params = sum(p.numel() for p in loaded.model.parameters())
    print(f"\nTiny preset `{a.size}` ({params / 1e6:.1f}M parameters), CPU, {a.threads} torch threads, "
          f"{a.tokens} new tokens per reply, {a.sessions} concurrent sessions.\n")
    print("| measure | tutor (core.serving.chat) | plan baseline | tutor / plan |")
    print("|---|---|---|---|")
    t, p = single["tutor"], single["plan"]
    print(f"| 1 session: time to first text (s) | {t['ttft']:.3f} | {p['ttft']:.3f} | {t['ttft'] / p['ttft']:.2f} |")
    print(f"| 1 session: tokens/s | {t['tok_s']:.1f} | {p['tok_s']:.1f} | {t['tok_s'] / p['tok_s']:.2f} |")
    t, p = many["tutor"], many["plan"]
    for key, label in (("ttft_p50", "TTFT p50 (s)"), ("ttft_p95", "TTFT p95 (s)")):
        print(f"| {a.sessions} sessions: {label} | {t[key]:.3f} | {p[key]:.3f} | {t[key] / p[key]:.2f} |")
    print(f"| {a.sessions} sessions: aggregate tokens/s | {t['tok_s']:.1f} | {p['tok_s']:.1f} | "
          f"{t['tok_s'] / p['tok_s']:.2f} |")
    print(f"| {a.sessions} sessions: generations at once | 1 | {a.sessions} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
