"""The pieces of a grounded answer: the lessons that fit in the model's context, and a multiple-choice
option picked by letter probabilities with them (core.evaluation.grounding puts them together).

- `close_lessons` / `lessons_block` / `fit_lessons`: the best one or two retrieved lessons
  (core.data.lessons) in the system prompt, as many and as long as fit the context window beside the
  conversation (two, else one, else one shortened, else none), and which ones were used.
- `shift_probabilities` / `choose`: each option's probability by categorical scoring
  (core.evaluation.scoring, as Compare scores), averaged over the cyclic orders of the options where the
  calibration (core.evaluation.tutor_calibration) measured that better.
"""

from __future__ import annotations

from dataclasses import replace

from core.data.lessons import Lesson
from core.data.prompts import lesson_text, with_lesson
from core.data.records import Question
from core.errors import StudioError
from core.serving.chat import build_messages, fit_messages
from core.serving.turns import device_queue

K_LESSONS = 2
SHORT = (35, 30)  # a lesson's lecture and solution words when the full lesson does not fit
SECOND_LESSON = 0.75  # a second lesson joins the first only when it scores at least this share of the first's


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
