"""How sure the tutor must be to state an answer: on held-out questions (the sample's val split), whether
averaging over option orders (debiasing) helps and the confidence below which the tutor abstains (the
lowest at which the answers it keeps are right at least TARGET_PRECISION of the time).

- `calibrate`: measured for a model, format and grounding (lessons retrieved from the sample, never the
  row itself); `pick_threshold` is the rule.
- `calibration`: the measurement from memory, the app home (`cache/calibration/`), or measured once and
  saved; `warm` measures it in a background thread (where a tutor is opened or a class link starts),
  stopped at interpreter exit after its current question.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

from core.data.lessons import Lesson
from core.data.prompts import with_lesson
from core.data.records import LETTERS, Question
from core.errors import StudioError
from core.evaluation.grounded_choice import K_LESSONS, close_lessons, fit_lessons, lessons_block, shift_probabilities

TARGET_PRECISION = 0.7  # an asserted multiple-choice answer must be right at least this often on held-out rows
CALIBRATION_N = 40  # held-out questions a calibration reads (about 2 minutes for SmolLM2-135M on a busy CPU)
MIN_KEPT = 6  # a threshold must keep at least this many calibration answers
# ... and the 95% Wilson lower bound of their precision must reach this: on 40 questions the lowest threshold
# with 70% kept right is mostly luck (8 of 11 is 73%, lower bound 43%); the tutors picked that way stated
# 7 and 8 wrong answers out of 40 sample test questions (SmolLM2-135M base and a 15-minute fine-tune, both
# at chance on their calibration), 10 of 17 stated answers wrong on real rows
MIN_LOWER = 0.5


@dataclass
class Calibration:
    threshold: float  # answers below this confidence abstain (> 1: always)
    debias: bool
    accuracy_plain: float
    accuracy_debiased: float
    precision: float  # accuracy of the answers kept at the threshold
    coverage: float  # share of the questions answered at the threshold
    n: int
    grounded: bool = True


def pick_threshold(confidence: list[float], right: list[bool], target: float = TARGET_PRECISION,
                   min_kept: int = MIN_KEPT, min_lower: float = MIN_LOWER) -> tuple[float, float, float]:
    """The lowest confidence at which the answers kept are right at least `target` of the time and the 95%
    Wilson lower bound of that share is at least `min_lower` (so that luck on a few questions does not
    count), with the precision and coverage there; (1.01, 0, 0) when none is (the tutor then never asserts
    a guess: it says it is not sure and shows the lesson)."""
    from core.evaluation.reports import wilson_interval

    pairs = sorted(zip(confidence, right), reverse=True)
    best = (1.01, 0.0, 0.0)
    hits = 0
    for i, (c, ok) in enumerate(pairs, 1):
        hits += ok
        last_of_value = i == len(pairs) or pairs[i][0] < c
        if last_of_value and i >= min_kept and hits / i >= target and wilson_interval(hits, i)[0] >= min_lower:
            best = (c, hits / i, i / len(pairs))
    return best


def held_out(n: int = CALIBRATION_N, seed: int = 0) -> list[Question]:
    """The calibration questions: text-only rows of the sample's val split, a seeded sample."""
    import random

    from core.data.sources import load_source

    rows = [q for q in load_source("sample", "val") if not q.has_image]
    random.Random(seed).shuffle(rows)
    return rows[:n]


def calibrate(loaded, fmt: str, grounded: bool, questions: list[Question] | None = None,
              progress: Callable[[str], None] | None = None) -> Calibration:
    """Measure plain and order-debiased accuracy and the abstention threshold on held-out questions, with
    lessons retrieved from the sample (never the row itself) when `grounded`."""
    from core.data.lessons import lesson_index

    questions = questions if questions is not None else held_out()
    say = progress or (lambda m: None)
    index = lesson_index("sample") if grounded else None
    budget = loaded.context_length - 8
    conf = {False: [], True: []}
    right = {False: [], True: []}
    for i, q in enumerate(questions):
        if _exiting.is_set():
            raise StudioError("The process is ending: calibration stopped.")
        lessons = close_lessons(index.retrieve(typed(q), K_LESSONS, exclude={q.pid})) if index else []
        system = _scoring_system(loaded, q, fmt, lessons, budget)
        per = shift_probabilities(loaded, q, fmt, system, len(q.choices))
        mean = [sum(p[j] for p in per) / len(per) for j in range(len(q.choices))]
        for debias, p in ((False, per[0]), (True, mean)):
            best = max(range(len(p)), key=p.__getitem__)
            conf[debias].append(p[best])
            right[debias].append(best == q.answer)
        if (i + 1) % 10 == 0:
            say(f"Calibrating the tutor's confidence: {i + 1}/{len(questions)} held-out questions")
    acc = {d: sum(right[d]) / max(1, len(questions)) for d in (False, True)}
    debias = acc[True] > acc[False]
    threshold, precision, coverage = pick_threshold(conf[debias], right[debias])
    return Calibration(threshold, debias, acc[False], acc[True], precision, coverage, len(questions), grounded)


def typed(q: Question) -> str:
    """A question as a student types it in the chat: the question, then its options."""
    return f"{q.question} " + " ".join(f"({l}) {c}" for l, c in zip(LETTERS, q.choices))


def _scoring_system(loaded, q: Question, fmt: str, lessons: list[Lesson], budget: int) -> str | None:
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT, user_message

    _, kept = fit_lessons(loaded.tokenizer, DEFAULT_SYSTEM_PROMPT, [], user_message(q, fmt), lessons, budget)
    return with_lesson(DEFAULT_SYSTEM_PROMPT, lessons_block(kept)) if kept else DEFAULT_SYSTEM_PROMPT


_calibrations: dict[str, Calibration] = {}
_calibrating: dict[str, threading.Lock] = {}
_calibrating_lock = threading.Lock()


def calibration(loaded, fmt: str, grounded: bool, progress: Callable[[str], None] | None = None) -> Calibration:
    """`calibrate`'s result for this model, format and grounding: from memory, the app home, or measured
    once (2-4 minutes for SmolLM2-135M on a busy 2-core CPU) and saved; callers asking while it is being
    measured wait for that measurement."""
    key = _key(loaded, fmt, grounded)
    if key in _calibrations:
        return _calibrations[key]
    with _calibrating_lock:
        lock = _calibrating.setdefault(key, threading.Lock())
    with lock:
        if key not in _calibrations:
            _calibrations[key] = _calibration(loaded, fmt, grounded, key, progress)
    return _calibrations[key]


def _key(loaded, fmt: str, grounded: bool) -> str:
    from pathlib import Path

    folder = Path(loaded.path)
    stamp = max((p.stat().st_mtime for p in folder.glob("*") if p.is_file()), default=0.0) if folder.is_dir() else 0
    return hashlib.sha256(f"{folder.resolve()}|{stamp}|{fmt}|{grounded}|{TARGET_PRECISION}|{CALIBRATION_N}|{MIN_LOWER}"
                          .encode()).hexdigest()[:20]


def warm(loaded, fmt: str, grounded: bool) -> threading.Thread | None:
    """Start measuring this model's calibration in the background (where a tutor is opened or a class link
    starts), so the first multiple-choice question does not wait for all of it; None when it is measured
    or being measured already."""
    key = _key(loaded, fmt, grounded)
    with _calibrating_lock:
        if key in _calibrations or key in _calibrating:
            return None
        _calibrating[key] = threading.Lock()
    thread = threading.Thread(target=_warm, args=(loaded, fmt, grounded), daemon=True, name="tutor-calibration")
    _warming.append(thread)
    thread.start()
    return thread


def _warm(loaded, fmt: str, grounded: bool) -> None:
    with contextlib.suppress(StudioError):  # the process is ending; a later question measures it again
        calibration(loaded, fmt, grounded)


_exiting = threading.Event()
_warming: list[threading.Thread] = []


@atexit.register
def _stop_warming() -> None:
    """At exit, a background calibration stops after its current question (torch must not be inside a
    forward pass when the interpreter tears its threads down)."""
    _exiting.set()
    for thread in _warming:
        thread.join(timeout=60)


def _calibration(loaded, fmt: str, grounded: bool, key: str, progress) -> Calibration:
    from core.files import write_json_atomic
    from core.home import area

    path = area("cache") / "calibration" / f"{key}.json"
    found = None
    try:
        found = Calibration(**json.loads(path.read_text(encoding="utf-8")))
        float(found.threshold), bool(found.debias)
    except (OSError, ValueError, TypeError):
        found = None  # missing or damaged: measured again
    if found is None:
        found = calibrate(loaded, fmt, grounded, progress=progress)
        write_json_atomic(path, asdict(found))
    return found
