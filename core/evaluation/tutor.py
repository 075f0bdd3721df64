"""One turn of the Tutor page (views/5_Tutor.py draws it, tutor_ui.py holds its widgets): what the page's
fields mean (sampling settings, the system prompt with the student's grade), which answerer replies (a
school's OpenAI-compatible server when one is set, else this machine's model answering from the lessons:
core.evaluation.grounding), and what each turn leaves in the conversation (a finished reply with its lesson
and timing notes, or the part of a reply the student stopped).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from core.data.prompts import with_grade
from core.evaluation import grounding
from core.serving import chat, endpoint

SAMPLING_KEYS = ("temperature", "top_p", "penalty", "max_new")  # the page's fields reset when the model changes
EMPTY_REPLY = "(no answer: the model ended its turn at once)"


@dataclass(frozen=True)
class Setup:
    """The page's fields, checked: `base_system` is the teacher's own prompt ("" for the model's default),
    `system_prompt` adds the grade."""

    settings: chat.ChatSettings
    base_system: str
    system_prompt: str


def setup(system: str, grade: int, temperature: float, top_p: float, max_new: int, penalty: float) -> Setup:
    """Raises StudioError / ValueError in one line (a setting out of range, a system prompt too long)."""
    settings = chat.ChatSettings(temperature=float(temperature), top_p=float(top_p), max_new_tokens=int(max_new),
                                 repetition_penalty=float(penalty))
    base = chat.clean_input(system, chat.MAX_SYSTEM_CHARS, "The system prompt") if system.strip() else ""
    return Setup(settings, base, with_grade(base, grade) or "")


def start_turn(loaded, ep: endpoint.Endpoint | None, system_prompt: str, history: list[dict[str, str]],
               question: str, settings: chat.ChatSettings, *, fmt: str, grounded: bool, actor,
               on_wait: Callable[[int], None] | None = None, stop: threading.Event | None = None,
               progress: Callable[[str], None] | None = None):
    """The reply to `question`: from the school's server when one is set (this model answers when it is
    down), else from this model grounded in the lessons. Returns a turn with `.deltas`, `.stats` and
    `.lesson_note()`."""
    if ep is not None:
        return endpoint.endpoint_turn(loaded, ep, system_prompt, history, question, settings,
                                      on_wait=on_wait, stop=stop)
    return grounding.answer(loaded, system_prompt, history, question, settings, fmt=fmt, grounded=grounded,
                            actor=actor, on_wait=on_wait, stop=stop, progress=progress)


def reply_entry(text: str, turn) -> dict:
    """The finished reply as the conversation keeps it, with its lesson and timing notes."""
    return {"role": "assistant", "content": text or EMPTY_REPLY, "lesson": turn.lesson_note(),
            "note": chat.reply_note(turn.stats)}


def stopped_entry(partial: str) -> dict:
    """A reply the student interrupted (Stop, or another click): what had arrived, marked as cut short."""
    return {"role": "assistant", "content": (partial + " …").strip(), "stopped": True}
