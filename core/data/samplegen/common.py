"""The building blocks every sample template uses: `Template`, `Draft`, and small text helpers.

A template is ScienceQA metadata (subject, topic, category, skill, grade range, lecture) plus a
`make(rng) -> Draft` function. A draft is one question with its right answer and wrong answers kept
apart; the engine (`core.data.samplegen`) orders the choices (label order for fixed-label drafts, else shuffled) and turns drafts into `Question`s.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SUBJECTS = ("natural science", "social science", "language science")

NAMES = [
    "Abby", "Aaron", "Bella", "Ben", "Carmen", "Caleb", "Dana", "Diego", "Elena", "Ethan", "Fatima", "Felix",
    "Grace", "Gavin", "Hana", "Hugo", "Isla", "Ivan", "Jada", "Jamal", "Kira", "Kofi", "Lena", "Leo", "Maya",
    "Marcus", "Nadia", "Noah", "Olivia", "Omar", "Priya", "Pablo", "Quinn", "Rosa", "Raj", "Sofia", "Sam",
    "Tara", "Theo", "Uma", "Victor", "Wendy", "Wes", "Ximena", "Yusuf", "Yara", "Zoe", "Zack",
]


@dataclass(frozen=True)
class Draft:
    """One question before its choices are shuffled: the right answer and the wrong ones kept apart."""

    question: str
    answer: str
    distractors: Sequence[str]
    solution: str
    hint: str = ""
    grades: tuple[int, int] | None = None  # overrides the template's range for harder variants

    def __post_init__(self) -> None:
        choices = [self.answer, *self.distractors]
        if not 1 <= len(self.distractors) <= 4:
            raise ValueError(f"a draft needs 2 to 5 choices, got {len(choices)}: {choices}")
        if len(set(choices)) != len(choices):
            raise ValueError(f"a draft's choices must differ: {choices}")


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    topic: str
    category: str
    skill: str
    grades: tuple[int, int]
    lecture: str
    count: int  # how many distinct questions the sample holds
    make: Callable[[random.Random], Draft] = field(repr=False)
    # A fixed label set, in its natural order ("a solid", "a liquid", "a gas"). A draft whose choices all
    # come from it is shown in this order, as ScienceQA does for such questions, so the right letter
    # follows the category; drafts with open-ended choices (items, words, measurements) are shuffled.
    labels: tuple[str, ...] = ()
    # Or a rank for every choice on a fixed scale (the unit of "12 centimeters": millimeters < centimeters
    # < meters < kilometers): choices that rank distinctly are shown smallest first, so again the letter
    # follows what the question is about rather than a shuffle.
    rank: Callable[[str], int] | None = field(default=None, repr=False)

    def fixed_order(self, choices: Sequence[str]) -> list[str] | None:
        """The choices in label (or rank) order when they all have a place in it, else None (shuffle them)."""
        if self.labels and all(c in self.labels for c in choices):
            return sorted(choices, key=self.labels.index)
        if self.rank is not None:
            ranks = [self.rank(c) for c in choices]
            if len(set(ranks)) == len(ranks):
                return sorted(choices, key=self.rank)
        return None

    def __post_init__(self) -> None:
        if self.subject not in SUBJECTS:
            raise ValueError(f"template {self.name}: unknown subject {self.subject!r}")
        lo, hi = self.grades
        if not 1 <= lo <= hi <= 12:
            raise ValueError(f"template {self.name}: grades {self.grades} must lie within 1-12")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"template {self.name}: labels repeat")
        if self.count < 10:
            raise ValueError(f"template {self.name}: count {self.count} is too small to split 80/10/10")


def cap(text: str) -> str:
    """Capitalise the first letter only ("a rock" -> "A rock")."""
    return text[:1].upper() + text[1:]


def strip_article(noun: str) -> str:
    """'a koala' -> 'koala', 'an owl' -> 'owl' (other phrases are returned unchanged)."""
    for art in ("a ", "an ", "the "):
        if noun.startswith(art):
            return noun[len(art):]
    return noun


def number(n: int) -> str:
    """Numbers the way ScienceQA writes them: 1,500 and 12."""
    return f"{n:,}"


def unit_text(n: int, singular: str, plural: str) -> str:
    return f"{number(n)} {singular if n == 1 else plural}"
