"""The tutor's grounded reply: the lesson in the model's context, multiple choice picked by letter
probabilities and then explained, and "I'm not sure" instead of a low-confidence guess.

- `fit_lessons`: the best one or two retrieved lessons (core.data.lessons) in the system prompt, as many
  and as long as fit the context window beside the conversation (two, else one, else one shortened,
  else none), and which ones were used.
- `parse_multiple_choice`: a question typed with its options ("... (A) milk (B) a rock", or one option a
  line, "A. milk"), or the paper's "Question: ... Options: ..." rendering, as a `Question`.
- `choose`: the option's probabilities by categorical scoring (core.evaluation.scoring, as Compare
  scores), averaged over the cyclic orders of the options when the calibration measured that better.
- `Calibration` / `calibrate`: on held-out questions (the sample's val split), whether debiasing helps
  and the confidence below which the tutor abstains (the lowest at which the answers it keeps are right
  at least TARGET_PRECISION of the time); cached per model, format and grounding in the app home.
- `tutor_reply`: the whole turn, as the Tutor page, the class link and `python -m core chat` use it: a
  multiple-choice question gets "The answer is (B) a rock." and the model's own continuation of that
  sentence (sentences naming another option as the answer are dropped, so a reply never names two), or,
  unsure, the lesson; anything else is the model's reply with the lesson in its context.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace

from core.data.lessons import Lesson
from core.data.prompts import lesson_text, with_lesson
from core.data.records import LETTERS, Question
from core.errors import StudioError
from core.serving import chat
from core.serving.chat import (
    ChatSettings,
    ReplyStats,
    build_messages,
    device_queue,
    fit_messages,
)

K_LESSONS = 2
SHORT = (35, 30)  # a lesson's lecture and solution words when the full lesson does not fit
TARGET_PRECISION = 0.7  # an asserted multiple-choice answer must be right at least this often on held-out rows
CALIBRATION_N = 40  # held-out questions a calibration reads (about 2 minutes for SmolLM2-135M on a busy CPU)
MIN_KEPT = 6  # a threshold must keep at least this many calibration answers
SECOND_LESSON = 0.75  # a second lesson joins the first only when it scores at least this share of the first's
INLINE = re.compile(r"\(([A-J])\)\s*")
LINE = re.compile(r"^\s*\(?([A-J])[.):]\s+(.+?)\s*$", re.MULTILINE)
SENTENCE = re.compile(r"(?<=[.!?])\s+")


# ---- the lesson in the context ------------------------------------------------------------------

def close_lessons(lessons: list[Lesson]) -> list[Lesson]:
    """The best lesson, and the next ones only where they score nearly as well (a far second is noise)."""
    return [l for l in lessons if l.score >= SECOND_LESSON * lessons[0].score] if lessons else []


def lessons_block(lessons: list[Lesson], short: bool = False) -> str:
    words = SHORT if short else ()
    return "\n\n".join(lesson_text(lesson, *words) for lesson in lessons)


def fit_lessons(tokenizer, system: str | None, history: list[dict[str, str]], user_text: str,
                lessons: list[Lesson], budget: int) -> tuple[list[dict[str, str]], list[Lesson]]:
    """The messages with as much of the lessons as fits in `budget` tokens beside the new turn (older
    turns are dropped first, by core.serving.chat.fit_messages), and the lessons kept."""
    tries = [(lessons[:n], short) for n in (len(lessons), 1) if n for short in (False, True)]
    seen = set()
    for kept, short in tries:
        key = (len(kept), short)
        if key in seen:
            continue
        seen.add(key)
        messages = build_messages(with_lesson(system, lessons_block(kept, short)), history, user_text)
        try:
            fit_messages(tokenizer, messages, budget)
        except StudioError:
            continue
        return messages, kept
    return build_messages(system, history, user_text), []


# ---- multiple choice typed in the chat ------------------------------------------------------------

def parse_multiple_choice(text: str) -> Question | None:
    """A typed multiple-choice question (2 or more options lettered A, B, ... in order), else None."""
    body = text.strip()
    options: list[str] = []
    inline = list(INLINE.finditer(body))
    if len(inline) >= 2 and [m.group(1) for m in inline] == list(LETTERS[:len(inline)]):
        stem = body[:inline[0].start()]
        for m, nxt in zip(inline, inline[1:] + [None]):
            options.append(body[m.end():nxt.start() if nxt else len(body)].strip().rstrip(",;").strip())
    else:
        lines = list(LINE.finditer(body))
        if len(lines) < 2 or [m.group(1) for m in lines] != list(LETTERS[:len(lines)]):
            return None
        stem = body[:lines[0].start()]
        options = [m.group(2).strip() for m in lines]
    if not all(options):
        return None
    stem = re.sub(r"\bOptions:\s*$", "", stem.strip()).strip()
    question, hint = stem, ""
    m = re.match(r"^Question:\s*(.*?)\s*(?:\nContext:\s*(.*))?$", stem, re.DOTALL)
    if m:
        question, hint = m.group(1).strip(), (m.group(2) or "").strip()
        hint = "" if hint.upper() == "N/A" else hint
    if not question:
        return None
    return Question(pid="chat", question=question, choices=options, answer=0, hint=hint)


def _shifted(q: Question, s: int) -> Question:
    n = len(q.choices)
    return replace(q, pid=f"{q.pid}~{s}", choices=[q.choices[(i + s) % n] for i in range(n)], answer=0)


def shift_probabilities(loaded, q: Question, fmt: str, system: str | None, shifts: int) -> list[list[float]]:
    """Each option's probability (the same categorical scoring as Compare) under the first `shifts` cyclic
    orders of the options, mapped back to the typed order: one list per order, the typed order first."""
    from core.evaluation.scoring import EvalSettings, evaluate

    n = len(q.choices)
    rows = [_shifted(q, s) for s in range(shifts)]
    settings = EvalSettings(system_prompt=system, batch_size=max(1, shifts))
    queue = device_queue(loaded.device)
    ticket = queue.enter()
    try:
        preds = evaluate(loaded, rows, fmt, "categorical", settings=settings).predictions
    finally:
        queue.leave(ticket)
    out = []
    for s, p in enumerate(preds):
        probs = [0.0] * n
        for i, pr in enumerate(p.probs):  # shifted option i is typed option (i + s) % n
            probs[(i + s) % n] = pr
        out.append(probs)
    return out


def choose(loaded, q: Question, fmt: str, system: str | None, debias: bool) -> list[float]:
    """Each option's probability; with `debias` the mean over the cyclic orders of the options, so a
    model's favourite letter does not pick the answer."""
    per = shift_probabilities(loaded, q, fmt, system, len(q.choices) if debias else 1)
    return [sum(p[i] for p in per) / len(per) for i in range(len(q.choices))]


# ---- calibration on held-out questions ---------------------------------------------------------------

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
                   min_kept: int = MIN_KEPT) -> tuple[float, float, float]:
    """The lowest confidence at which the answers kept are right at least `target` of the time, with the
    precision and coverage there; (1.01, 0, 0) when none is (the tutor then never asserts a guess)."""
    pairs = sorted(zip(confidence, right), reverse=True)
    best = (1.01, 0.0, 0.0)
    hits = 0
    for i, (c, ok) in enumerate(pairs, 1):
        hits += ok
        last_of_value = i == len(pairs) or pairs[i][0] < c
        if last_of_value and i >= min_kept and hits / i >= target:
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
    return hashlib.sha256(f"{folder.resolve()}|{stamp}|{fmt}|{grounded}|{TARGET_PRECISION}|{CALIBRATION_N}"
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


# ---- the reply ---------------------------------------------------------------------------------------

@dataclass
class TutorReply:
    """One turn of the tutor. `lessons`, `choice` and `abstained` are known before the text streams."""
    lessons: list[Lesson]
    deltas: Iterator[str]
    mc: Question | None = None
    probs: list[float] | None = None
    choice: int | None = None
    abstained: bool = False
    confidence: float | None = None
    stats: ReplyStats = field(default_factory=ReplyStats)

    def lesson_note(self) -> str:
        """The line under the reply ("From the lesson: States of matter"), '' without a lesson."""
        return "From the lesson: " + "; ".join(dict.fromkeys(l.title for l in self.lessons)) if self.lessons else ""


def names_other(sentence: str, chosen: int, choices: list[str]) -> bool:
    """Whether a sentence gives an option other than `chosen` as the answer (its letter, or 'the answer is'
    / 'so, it's' followed by its text)."""
    others = [i for i in range(len(choices)) if i != chosen]
    if any(re.search(rf"\({LETTERS[i]}\)", sentence) for i in others):
        return True
    m = re.search(r"\b(?:answer is|so,? it'?s|so,? it is|correct answer:?)\s*\(?((?-i:[A-J]))?\)?\s*(.*)", sentence, re.IGNORECASE)
    if not m:
        return False
    if m.group(1) and len(m.group(1)) == 1 and m.group(1) in LETTERS[:len(choices)]:
        after = m.group(2)
        if not after or not after[:1].isalpha() or m.group(0).split()[-1].startswith("("):
            return LETTERS.index(m.group(1)) != chosen
    rest = m.group(0).lower()
    return any(choices[i].strip().lower() and choices[i].strip().lower() in rest and
               choices[chosen].strip().lower() not in rest for i in others)


def only_chosen(deltas: Iterator[str], chosen: int, choices: list[str]) -> Iterator[str]:
    """Pass the text on sentence by sentence, dropping any sentence that names another option as the
    answer (so a reply never gives two answers)."""
    buffer = ""
    for d in deltas:
        buffer += d
        parts = SENTENCE.split(buffer)
        for s in parts[:-1]:
            if not names_other(s, chosen, choices):
                yield s + " "
        buffer = parts[-1]
    if buffer.strip() and not names_other(buffer, chosen, choices):
        yield buffer


def unsure_text(lessons: list[Lesson]) -> str:
    if not lessons:
        return ("I'm not sure about this one, so I won't guess. Try ruling out the options you know are wrong, "
                "or ask your teacher.")
    lesson = lessons[0]
    return ("I'm not sure about this one, so I won't guess. Here is the lesson that teaches it:\n\n"
            + lesson_text(lesson).replace("Lesson: ", "**", 1).replace("\n", "**\n\n", 1))


def tutor_reply(loaded, system: str | None, history: list[dict[str, str]], text: str,
                settings: ChatSettings | None = None, *, fmt: str, lessons: list[Lesson] | None = None,
                calib: Calibration | None = None, on_wait=None, stop=None,
                progress: Callable[[str], None] | None = None) -> TutorReply:
    """The tutor's turn for `text` (already cleaned), grounded in `lessons` (retrieved by the caller; []
    or None = grounding off). `calib` defaults to this model's calibration (measured once)."""
    from core.data.prompts import get_format, user_message

    settings = settings or ChatSettings()
    lessons = close_lessons(list(lessons or []))
    budget = loaded.context_length - settings.max_new_tokens
    mc = parse_multiple_choice(text)
    if mc is None:
        messages, kept = fit_lessons(loaded.tokenizer, system, history, text, lessons, budget)
        reply = TutorReply(kept, iter(()))
        reply.deltas = chat.stream_reply(loaded, messages, settings, on_wait=on_wait, stop=stop, stats=reply.stats)
        return reply
    calib = calib or calibration(loaded, fmt, bool(lessons), progress)
    _, kept = fit_lessons(loaded.tokenizer, system, history, user_message(mc, fmt), lessons, budget)
    scoring_system = with_lesson(system, lessons_block(kept)) if kept else system
    probs = choose(loaded, mc, fmt, scoring_system, calib.debias)
    best = max(range(len(probs)), key=probs.__getitem__)
    reply = TutorReply(kept, iter(()), mc=mc, probs=probs, confidence=probs[best])
    if probs[best] < calib.threshold:
        reply.abstained = True
        reply.deltas = iter([unsure_text(kept or lessons[:1])])
        return reply
    reply.choice = best
    lead = f"The answer is ({LETTERS[best]}) {mc.choices[best].rstrip('.')}."
    # The model goes on from its own answer, asked as it was trained (the format's rendering of the question).
    messages = build_messages(scoring_system, history, user_message(mc, fmt))
    rest = chat.stream_reply(loaded, messages, settings, on_wait=on_wait, stop=stop, stats=reply.stats,
                        prefix=f"{get_format(fmt).answer_prefix}{LETTERS[best]}.")
    reply.deltas = _joined(lead, only_chosen(rest, best, mc.choices))
    return reply


def answer(loaded, system: str | None, history: list[dict[str, str]], text: str,
           settings: ChatSettings | None = None, *, fmt: str, grounded: bool = True, source: str | None = None,
           actor=None, **kwargs) -> TutorReply:
    """`tutor_reply` with the best lessons of `source` (default: the app's) retrieved for `text` when
    `grounded` (the index is built and cached on first use)."""
    from core.data.lessons import lesson_index

    found = lesson_index(source, actor=actor).retrieve(text, K_LESSONS) if grounded else []
    return tutor_reply(loaded, system, history, text, settings, fmt=fmt, lessons=found, **kwargs)


def _joined(lead: str, rest: Iterator[str]) -> Iterator[str]:
    yield lead
    first = True
    for d in rest:
        if first:
            d = " " + d.lstrip()
            first = False
        yield d
