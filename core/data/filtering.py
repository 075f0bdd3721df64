"""Filtering and sampling ScienceQA questions: the `Filters` a selection is made with, the pandas frame
they run on, stratified reproducible samples, and a selection's counts.

Filtering runs on a pandas frame built once per loaded source (`build_frame`), so a filter change on
the full 21,208 questions is a few vectorized comparisons. Sampling is stratified and reproducible:
each stratum draws from its own seeded generator. Saving a selection as a subset is core.data.subsets;
what the Data page offers and charts of it is core.data.selection.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from core.data.records import Question, split_rank

CONTEXTS = ("TXT", "IMG", "NO")
TEXT_ONLY = ("", "caption", "drop")
PER = ("", "subject", "grade")


@dataclass
class Filters:
    """Which questions to keep; empty tuples / None mean 'any'."""

    splits: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    grade_min: int | None = None
    grade_max: int | None = None
    topics: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()  # any of TXT / IMG / NO
    n_choices: tuple[int, ...] = ()
    has_lecture: bool | None = None
    has_solution: bool | None = None
    search: str = ""  # case-insensitive, over question, hint and choices
    text_only: str = ""  # "" keep image questions; "caption" keep them (the prompt uses the caption); "drop"

    def __post_init__(self) -> None:
        for name in ("splits", "subjects", "topics", "categories", "skills", "contexts", "n_choices"):
            setattr(self, name, tuple(getattr(self, name) or ()))
        self.n_choices = tuple(int(n) for n in self.n_choices)  # numpy ints from a frame would not serialize
        bad = set(self.contexts) - set(CONTEXTS)
        if bad:
            raise ValueError(f"unknown context group(s) {sorted(bad)}; use {', '.join(CONTEXTS)}")
        if self.text_only not in TEXT_ONLY:
            raise ValueError(f"text_only must be 'caption' or 'drop', got {self.text_only!r}")
        if self.grade_min is not None and self.grade_max is not None and self.grade_min > self.grade_max:
            raise ValueError(f"grade_min {self.grade_min} is above grade_max {self.grade_max}")

    @classmethod
    def from_page(cls, grades: list[int], grade_range: tuple, lecture: str = "any", solution: str = "any",
                  **chosen: Any) -> "Filters":
        """From the Data page's widgets: a grade range that spans every grade present is no grade filter;
        lecture/solution are 'any', 'with' or 'without'; the rest as the fields."""
        narrowed = tuple(grade_range) != ((min(grades), max(grades)) if len(grades) > 1 else (None, None))
        has = {"any": None, "with": True, "without": False}
        return cls(grade_min=grade_range[0] if narrowed else None, grade_max=grade_range[1] if narrowed else None,
                   has_lecture=has[lecture], has_solution=has[solution], **chosen)

    def to_dict(self) -> dict[str, Any]:
        """Only the filters that are set (for manifests)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v not in ((), None, "")}


def build_frame(questions: list[Question]) -> pd.DataFrame:
    """One row per question (same order) with the columns the filters and the Data page use."""
    frame = pd.DataFrame({
        "pid": [q.pid for q in questions], "split": [q.split for q in questions],
        "subject": [q.subject for q in questions], "grade": [q.grade for q in questions],
        "grade_num": [q.grade_number for q in questions], "topic": [q.topic for q in questions],
        "category": [q.category for q in questions], "skill": [q.skill for q in questions],
        "context": ["+".join(q.context_groups) for q in questions],
        "n_choices": [len(q.choices) for q in questions], "has_image": [q.has_image for q in questions],
        "has_lecture": [bool(q.lecture.strip()) for q in questions],
        "has_solution": [bool(q.solution.strip()) for q in questions],
        "question": [q.question for q in questions],
        "text": ["\n".join([q.question, q.hint, *q.choices]).lower() for q in questions],
    })
    frame["grade_num"] = frame["grade_num"].astype("Float64")
    return frame


def filter_frame(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows of `frame` that pass `filters` (the index still points into the questions list)."""
    mask = pd.Series(True, index=frame.index)
    for col, values in (("split", filters.splits), ("subject", filters.subjects), ("topic", filters.topics),
                        ("category", filters.categories), ("skill", filters.skills), ("n_choices", filters.n_choices)):
        if values:
            mask &= frame[col].isin(values)
    if filters.grade_min is not None:
        mask &= (frame["grade_num"] >= filters.grade_min).fillna(False)
    if filters.grade_max is not None:
        mask &= (frame["grade_num"] <= filters.grade_max).fillna(False)
    if filters.contexts:
        # "TXT+IMG" holds both groups; no group name is a substring of another
        mask &= frame["context"].str.contains("|".join(filters.contexts), regex=True)
    for col in ("has_lecture", "has_solution"):
        want = getattr(filters, col)
        if want is not None:
            mask &= frame[col] == want
    if filters.text_only == "drop":
        mask &= ~frame["has_image"]
    if filters.search.strip():
        mask &= frame["text"].str.contains(filters.search.strip().lower(), regex=False)
    return frame[mask]


def apply_filters(questions: list[Question], filters: Filters, frame: pd.DataFrame | None = None) -> list[Question]:
    frame = build_frame(questions) if frame is None else frame
    return [questions[i] for i in filter_frame(frame, filters).index]


def stratified_sample(questions: list[Question], n: int | None, per: str = "", seed: int = 0) -> list[Question]:
    """A reproducible sample, drawn within each split. `per=""`: `n` in total, spread over
    (split, subject) strata in proportion to their size; `per="subject"|"grade"`: up to `n` from each
    (split, subject|grade) stratum. `n=None` keeps everything. Source order is kept."""
    if per not in PER:
        raise ValueError(f"per must be 'subject' or 'grade', got {per!r}")
    if n is None:
        return list(questions)
    if n < 1:
        raise ValueError(f"the sample size must be at least 1, got {n}")
    key = (lambda q: q.grade) if per == "grade" else (lambda q: q.subject)
    strata: dict[tuple[str, str], list[int]] = {}
    for i, q in enumerate(questions):
        strata.setdefault((q.split, key(q)), []).append(i)
    if per:
        quota = {s: min(n, len(ix)) for s, ix in strata.items()}
    else:  # largest-remainder allocation of n over strata, proportional to their sizes
        total = len(questions)
        exact = {s: n * len(ix) / total for s, ix in strata.items()} if total else {}
        quota = {s: min(int(v), len(strata[s])) for s, v in exact.items()}
        left = max(0, min(n, total) - sum(quota.values()))
        for s in sorted(exact, key=lambda s: (exact[s] - int(exact[s]), s), reverse=True)[:left]:
            quota[s] += 1
    chosen = []
    for s in sorted(strata):
        rng = random.Random(f"{seed}:{s[0]}:{s[1]}")
        chosen += rng.sample(strata[s], quota[s])
    return [questions[i] for i in sorted(chosen)]


def summarize(questions: list[Question]) -> dict[str, Any]:
    """Counts by split, subject, context group (TXT/IMG overlap), number of choices and grade band."""
    def count(values) -> dict[str, int]:
        return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], str(kv[0]))))

    return {
        "total": len(questions),
        "by_split": dict(sorted(Counter(q.split or "(none)" for q in questions).items(),
                                key=lambda kv: split_rank(kv[0]))),
        "by_subject": count(q.subject or "(unknown)" for q in questions),
        "by_context": {g: sum(g in q.context_groups for q in questions) for g in CONTEXTS},
        "by_choices": {str(k): v for k, v in sorted(Counter(len(q.choices) for q in questions).items())},
        "by_grade_band": count(q.grade_band or "(unknown)" for q in questions),
        "with_image": sum(q.has_image for q in questions),
    }


def describe_kept(kept: list[Question], matched: int, n: int | None, per: str) -> str:
    """What a sample kept, in one line: how many, by which rule, per split."""
    how = ("all of them" if n is None else f"{n} in total" if not per else f"up to {n} per {per} in each split")
    splits = ", ".join(f"{k} {v:,}" for k, v in summarize(kept)["by_split"].items())
    return f"kept {len(kept):,} of the {matched:,} questions that pass the filters ({how}): {splits}"
