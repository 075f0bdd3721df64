"""A simulated class practising on the class link: N students (gradio_client threads) against the real
class-link process (classroom.py, started as the Tutor page starts it) join one practice session and
answer at human-like random intervals, half of the answers wrong; every wrong answer asks the tutor to
explain it (streamed). Reports:

- answers recorded in the session folder against answers given (all of them, no duplicate),
- time from a wrong answer to the first token of its explanation (median, p95; the queue wait included),
- the teacher view's refresh time (core.practice.report.class_view, what the Practice page's live
  fragment reads every 3 s), sampled every second during the run.

    python -m bench.class_practice                                  # 30 students, 10 questions, SmolLM2-135M
    nice -n 5 python -m bench.class_practice --students 10 --questions 3   # on a shared machine

The app home is bench/out/class_practice/home (the SmolLM2 preset is prepared there once).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "class_practice"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else float("nan")


def student(url: str, code: str, i: int, questions, think: tuple[float, float], seed: int,
            first_tokens: list[float], errors: list[str], given: list[tuple[int, int]],
            durations: list[float]) -> None:
    from gradio_client import Client

    from classroom_practice import WAITING

    rng = random.Random(seed * 1000 + i)
    try:
        c = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        token = c.predict(code, f"student {i}", api_name="/practice_join")["token"]
        for k, q in enumerate(questions):
            time.sleep(rng.uniform(*think))
            wrong = (i + k) % 2 == 0  # half of the answers wrong, spread over students and questions
            choice = (q.answer + 1) % len(q.choices) if wrong else q.answer
            began = time.perf_counter()
            result = c.predict(code, token, k, str(choice), api_name="/practice_answer")
            given.append((i, k))
            if result["correct"] == wrong:
                errors.append(f"student {i} question {k}: scored {result['correct']}, expected {not wrong}")
            if not wrong:
                continue
            job = c.submit(code, token, k, api_name="/practice_explain")
            while True:
                outs = [o for o in job.outputs() if isinstance(o, str) and not o.startswith(WAITING)]
                if outs:
                    first_tokens.append(time.perf_counter() - began)
                    break
                if job.done():
                    errors.append(f"student {i} question {k}: no explanation text")
                    break
                time.sleep(0.05)
            job.result()  # let it finish: the device stays busy as in a class
            durations.append(time.perf_counter() - began)
    except Exception as e:  # noqa: BLE001 - a student's failure is counted and reported, not fatal
        errors.append(f"student {i}: {type(e).__name__}: {e}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--questions", type=int, default=10)
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--think", type=float, nargs=2, default=(3.0, 15.0), help="seconds a student thinks (min max)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault("SQA_STUDIO_HOME", str(OUT / "home"))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import classroom_launcher
    from core import access
    from core.models.obtain import resolve_model
    from core.practice import report, sessions

    access.act_as_local()
    resolve_model(args.model)  # the preset is prepared once in the bench's home
    session = sessions.create("sample", args.questions, seed=args.seed)
    classroom_launcher.start(args.model, share=False, max_new_tokens=args.max_new_tokens, rate=30)
    try:
        link = classroom_launcher.wait_until_serving(300)
        first_tokens: list[float] = []
        errors: list[str] = []
        given: list[tuple[int, int]] = []
        refresh: list[float] = []
        durations: list[float] = []
        load = os.getloadavg()[0]
        threads = [threading.Thread(target=student, args=(link.local_url, session.code, i, session.questions,
                                                          tuple(args.think), args.seed, first_tokens, errors, given,
                                                          durations))
                   for i in range(args.students)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            t0 = time.perf_counter()
            report.class_view(session.code)
            refresh.append(time.perf_counter() - t0)
            time.sleep(1.0)
        wall = time.perf_counter() - began
        view = report.class_view(session.code)
        people = sessions.students(session.code)
        stored = [(int(s.nickname.split()[-1]), int(k)) for s in people for k in s.answers]
    finally:
        classroom_launcher.stop()
    expected = args.students * args.questions
    dupes = len(stored) - len(set(stored))
    print(f"class practice: {args.students} students x {args.questions} questions, {args.model}, "
          f"{args.max_new_tokens} new tokens max, think {args.think[0]:.0f}-{args.think[1]:.0f} s, "
          f"load average at the start {load:.1f} (2 cores), wall {wall:.0f} s")
    print("| measure | value |\n|---|---|")
    print(f"| answers recorded / given / expected | {len(stored)} / {len(given)} / {expected} |")
    print(f"| duplicate answers | {dupes} |")
    print(f"| answers in the teacher's view | {view.answers} |")
    print(f"| wrong answer -> first explanation token, median | {statistics.median(first_tokens):.2f} s |"
          if first_tokens else "| first token | none measured |")
    print(f"| wrong answer -> first explanation token, p95 (n={len(first_tokens)}) | {pct(first_tokens, 0.95):.2f} s |")
    if durations:
        print(f"| wrong answer -> explanation finished, median / p95 | {statistics.median(durations):.1f} s / "
              f"{pct(durations, 0.95):.1f} s |")
    print(f"| teacher view refresh, median / max (n={len(refresh)}) | {statistics.median(refresh) * 1000:.0f} ms / "
          f"{max(refresh) * 1000:.0f} ms |")
    for e in errors[:10]:
        print("error:", e)
    sessions.delete(session.code)
    return 0 if len(stored) == expected and not dupes and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
