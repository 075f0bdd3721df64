"""Select, sample and save subsets of ScienceQA questions.

Filtering runs on a pandas frame built once per loaded source (`build_frame`), so a filter change on
the full 21,208 questions is a few vectorized comparisons. Sampling is stratified and reproducible:
each stratum draws from its own seeded generator. A saved subset is a folder
`area("subsets")/<name>/` with `questions.jsonl` (+ `images/`) and `manifest.json`; any command
accepts it as a source (`subset:NAME` or the folder path).

    python -m core data subset --source sample --out DIR --n 200 --per subject --seed 0
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from core import access
from core.data.records import Question, content_hash
from core.data.sources import split_rank
from core.errors import StudioError
from core.files import atomic_dir, read_json, write_json_atomic
from core.home import area

CONTEXTS = ("TXT", "IMG", "NO")
TEXT_ONLY = ("", "caption", "drop")
PER = ("", "subject", "grade")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


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


def grade_labels(frame: pd.DataFrame) -> pd.Series:
    """'1'..'12' per row, '?' where the row has no grade (never a crash on rows without one)."""
    return frame["grade_num"].astype("Float64").round().astype("Int64").astype("string").fillna("?").astype(str)


def context_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Questions per (context group, split); a row counts in each of its groups (TXT and IMG overlap).
    Counted column-wise: exploding the rows copies every column, ~0.6 s on 13,715 rows of a busy machine."""
    counts = {g: frame.loc[frame["context"].str.contains(g, regex=False), "split"].value_counts() for g in CONTEXTS}
    return pd.DataFrame(counts).T.fillna(0).astype(int).reindex(list(CONTEXTS), fill_value=0)


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


FILTER_WORDS = {"splits": "split", "subjects": "subject", "topics": "topic", "categories": "category",
                "skills": "skill", "contexts": "context", "n_choices": "choices", "search": "text"}


def describe_filters(manifest: dict[str, Any]) -> str:
    """The filters and sampling that made a saved subset, in a few words ('all questions' when none)."""
    f = manifest.get("filters") or {}
    parts = []
    for key, word in FILTER_WORDS.items():
        if f.get(key):
            value = f[key]
            parts.append(f"{word} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    if f.get("grade_min") is not None or f.get("grade_max") is not None:
        parts.append(f"grades {f.get('grade_min', 1)}-{f.get('grade_max', 12)}")
    for key, word in (("has_lecture", "lecture"), ("has_solution", "solution")):
        if f.get(key) is not None:
            parts.append(f"{'with' if f[key] else 'without'} {word}")
    if f.get("text_only") == "drop":
        parts.append("no image questions")
    if manifest.get("n"):
        parts.append(f"{manifest['n']} per {manifest['per']}" if manifest.get("per") else f"{manifest['n']} sampled")
    return "; ".join(parts) or "all questions"


def subset_rows(saved: list["SubsetInfo"], actor: access.Actor | None = None) -> list[dict[str, Any]]:
    """The saved-subsets table: splits as numbers, what made each subset, where it came from (its text as
    `actor` may see it: a visitor sees no server path in "made from" or "source")."""
    rows = []
    for s in saved:
        by_split = s.manifest.get("by_split") or {}
        rows.append({"name": s.name, "questions": s.total, **{k: int(by_split.get(k, 0)) for k in ("train", "val", "test")},
                     "made from": access.shown(describe_filters(s.manifest), actor),
                     "source": access.shown(str(s.manifest.get("source", "")), actor),
                     "created": str(s.manifest.get("created", ""))})
    return rows


# --- saved subsets ------------------------------------------------------------------------------

def validate_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise StudioError("Give the subset a name first (e.g. grade3-science).")
    if not NAME_RE.fullmatch(name):
        raise StudioError(f"'{name}' cannot be a subset name: use up to 64 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit.")
    return name


def is_subset_name(text: str) -> bool:
    """A bare name (no folder separators): the CLI saves it as a named subset in the app home."""
    return bool(NAME_RE.fullmatch(text)) and "/" not in text and text not in (".", "..")


def write_subset(folder: Path, questions: list[Question], manifest: dict[str, Any] | None = None,
                 overwrite: bool = False) -> Path:
    """Write questions.jsonl (+ images/) and manifest.json into `folder`, atomically."""
    if not questions:
        raise StudioError("The filters select no questions: nothing to save. Loosen the filters.")
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise StudioError(f"{folder} already exists; choose another name or delete it first.")
    info = {**(manifest or {}), **summarize(questions), "content_hash": content_hash(questions),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        lines = []
        for q in questions:
            row = q.to_dict()
            image = _save_image(q, tmp / "images")
            if image:
                row["image"] = f"images/{image}"
            lines.append(json.dumps(row, ensure_ascii=False))
        (tmp / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        write_json_atomic(tmp / "manifest.json", info)
    return folder


def _save_image(q: Question, folder: Path) -> str | None:
    """Copy the question's image (path, bytes or PIL) into the subset; returns its file name."""
    img = q.image
    if img is None:
        return None
    folder.mkdir(exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", q.pid)
    if isinstance(img, (str, Path)):
        dst = folder / f"{safe}{Path(img).suffix or '.png'}"
        shutil.copyfile(img, dst)
    elif isinstance(img, (bytes, bytearray)):
        ext = ".jpg" if bytes(img[:3]) == b"\xff\xd8\xff" else ".png"
        dst = folder / f"{safe}{ext}"
        dst.write_bytes(img)
    else:  # a PIL image
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        dst = folder / f"{safe}.png"
        dst.write_bytes(buf.getvalue())
    return dst.name


def save_subset(name: str, questions: list[Question], manifest: dict[str, Any] | None = None,
                overwrite: bool = False, actor: access.Actor | None = None) -> Path:
    """Save under area('subsets')/<name>/; load it back with core.data.sources.load_source('subset:NAME')."""
    access.require(actor, "Saving a subset")
    name = validate_name(name)
    if (area("subsets") / name).exists() and not overwrite:
        raise StudioError(f"A subset named '{name}' already exists: choose another name, or delete that one first.")
    return write_subset(area("subsets") / name, questions, manifest, overwrite)


def save_selection(name: str, selected: list[Question], n: int, per: str, seed: int, source: str, filters: Filters,
                   actor: access.Actor | None = None) -> tuple[Path, str]:
    """Sample the questions that pass `filters` (`n` 0: all of them) and save them as subset `name`, with a
    manifest that says how they were made. Returns the folder and a line saying what was kept."""
    n_or_all = int(n) or None
    chosen = stratified_sample(selected, n_or_all, per, int(seed))
    manifest = {"source": source, "filters": filters.to_dict(), "n": n_or_all, "per": per, "seed": int(seed)}
    folder = save_subset(name, chosen, manifest, actor=actor)
    return folder, describe_kept(chosen, len(selected), n_or_all, per)


@dataclass
class SubsetInfo:
    name: str
    path: Path
    manifest: dict[str, Any] = field(repr=False)

    @property
    def total(self) -> int:
        return int(self.manifest.get("total", 0))


def list_subsets() -> list[SubsetInfo]:
    """Saved subsets, newest first (a subset whose manifest is damaged is skipped, not raised)."""
    out = []
    for d in area("subsets").iterdir():
        if d.is_dir() and not d.is_symlink() and not d.name.startswith(".") and (d / "manifest.json").exists():
            try:
                manifest = read_json(d / "manifest.json")
            except StudioError:
                continue
            if isinstance(manifest, dict):
                out.append(SubsetInfo(d.name, d, manifest))
    return sorted(out, key=lambda s: (s.manifest.get("created", ""), s.name), reverse=True)


def delete_subset(name: str, actor: access.Actor | None = None) -> None:
    access.require(actor, "Deleting a subset")
    folder = area("subsets") / validate_name(name)
    if not (folder / "manifest.json").exists():
        raise StudioError(f"No saved subset named '{name}'.")
    shutil.rmtree(folder)
