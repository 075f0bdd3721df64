"""Drawing a practice session's questions: a fixed, seeded list from a source or saved subset.

A question whose answer depends on an image the text cannot stand in for (no caption, or a caption that
names no choice) is left out: the class link shows text only, and a text-only model cannot see it either.
"""

from __future__ import annotations

import random
import re

from core import access
from core.data.records import Question
from core.data.sources import load_source
from core.errors import StudioError

MAX_QUESTIONS = 50
GRADE_RANGE = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2}))?\s*$")


def parse_grades(text: str | None) -> tuple[int, int] | None:
    """'3-5' -> (3, 5); '4' -> (4, 4); '' or None -> None. Bad text is a StudioError."""
    if text is None or not str(text).strip():
        return None
    m = GRADE_RANGE.match(str(text))
    if not m:
        raise StudioError(f"Grades {text!r} are not a grade or a range like 3-5.")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1 <= lo <= hi <= 12:
        raise StudioError(f"Grades {text!r} must lie within 1-12, low to high.")
    return lo, hi


def shown_as_text(q: Question) -> bool:
    """The question can be asked in text: its answer does not need a picture the class link cannot show
    (no image; or its hint suffices; or its caption names a choice: core.evaluation.scoring.image_unseen,
    the same rule as Compare's report card)."""
    from core.evaluation.scoring import image_unseen

    return not image_unseen(q)


def eligible(questions: list[Question], grades: tuple[int, int] | None = None,
             subject: str | None = None) -> list[Question]:
    """The questions a session may draw, in source order."""
    subject = (subject or "").strip().lower()
    out = []
    for q in questions:
        if not shown_as_text(q):
            continue
        if grades and (q.grade_number is None or not grades[0] <= q.grade_number <= grades[1]):
            continue
        if subject and q.subject.lower() != subject:
            continue
        out.append(q)
    return out


def draw(spec: str, n: int = 10, grades: str | None = None, subject: str | None = None, seed: int = 0,
         split: str | None = None, actor: access.Actor | None = None) -> list[Question]:
    """`n` questions drawn from `spec` (any source; test split where it has one, else all rows), seeded,
    one skill at a time before any skill repeats so a short session covers more of the lessons."""
    if not 1 <= int(n) <= MAX_QUESTIONS:
        raise StudioError(f"A practice session has 1 to {MAX_QUESTIONS} questions, not {n}.")
    rows = load_source(spec, actor=actor)
    if split is None:
        split = "test" if any(q.split == "test" for q in rows) else ""
    pool = eligible([q for q in rows if not split or q.split == split], parse_grades(grades), subject)
    if not pool:
        raise StudioError("No question of that source matches those grades and subject (questions whose answer "
                          "needs a picture without a caption are left out).")
    rng = random.Random(seed)
    by_skill: dict[str, list[Question]] = {}
    for q in rng.sample(pool, len(pool)):
        by_skill.setdefault(q.skill or q.topic, []).append(q)
    picked: list[Question] = []
    while len(picked) < min(n, len(pool)):
        for group in list(by_skill.values()):
            if group and len(picked) < n:
                picked.append(group.pop())
    return picked


SUBJECTS = ("natural science", "social science", "language science")


def offered_sources() -> list[str]:
    """The sources the teacher's page offers: the sample, then the saved subsets (the Hub needs the internet)."""
    from core.data.subsets import list_subsets

    return ["sample"] + [f"subset:{s.name}" for s in list_subsets()]
