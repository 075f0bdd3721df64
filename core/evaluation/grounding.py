"""The tutor's grounded reply: the lesson in the model's context, multiple choice picked by letter
probabilities and then explained, and "I'm not sure" instead of a low-confidence guess.

Its parts, each in its own module:
- core.evaluation.grounded_choice: `fit_lessons` (the best one or two retrieved lessons in the system
  prompt, as fit the window) and `choose` (the option's probabilities by categorical scoring, debiased
  over option orders where the calibration measured that better);
- core.evaluation.answer_text: `parse_multiple_choice` (a typed question with its options) and
  `only_chosen` / `names_other` (a sentence that gives or praises another option is dropped);
- core.evaluation.tutor_calibration: `calibration` (the debiasing choice and the abstention threshold,
  measured once on held-out questions and cached in the app home) and `warm`.
- `tutor_reply`: the whole turn, as the Tutor page, the class link and `python -m core chat` use it: a
  multiple-choice question gets "The answer is (B) a rock." and the model's own continuation of that
  sentence (sentences naming another option as the answer are dropped, so a reply never names two), or,
  unsure, the lesson; anything else is the model's reply with the lesson in its context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from core.data.lessons import Lesson
from core.data.prompts import lesson_text, with_lesson
from core.data.records import LETTERS, Question
from core.evaluation.answer_text import only_chosen, parse_multiple_choice
from core.evaluation.grounded_choice import K_LESSONS, choose, close_lessons, fit_lessons, lessons_block
from core.evaluation.tutor_calibration import Calibration, calibration
from core.serving import chat
from core.serving.chat import ChatSettings, ReplyStats, build_messages

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
