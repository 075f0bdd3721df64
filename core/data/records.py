"""The one record type for a ScienceQA question, whatever source it came from.

Fields follow ScienceQA's own names (`problems.json` of the original release); `answer` is a 0-based
index into `choices`. Derived fields are the leaderboard's: context groups (TXT: the hint is
non-empty; IMG: the question has an image; NO: neither; TXT and IMG overlap) and the grade band. The split
names are ScienceQA's (train, val, test): `normalize_split` maps the other names sources use to them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

LETTERS = "ABCDEFGHIJ"
SUBJECT_CODES = {"natural science": "NAT", "social science": "SOC", "language science": "LAN"}
# The columns of the ScienceQA leaderboard, in its order.
LEADERBOARD_COLUMNS = ["NAT", "SOC", "LAN", "TXT", "IMG", "NO", "G1-6", "G7-12"]
SPLIT_ORDER = ["train", "val", "test"]  # ScienceQA's splits, in order
SPLIT_ALIASES = {"validation": "val", "valid": "val", "dev": "val", "minival": "val"}  # other names sources use


def normalize_split(name: str) -> str:
    """A split's name as ScienceQA spells it ('Validation' -> 'val'); unknown names kept, lower-cased."""
    name = str(name).strip().lower()
    return SPLIT_ALIASES.get(name, name)


def split_rank(split: str) -> tuple[int, str]:
    """Sort key: train, val, test, then any other split by name."""
    return (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER), split)


@dataclass
class Question:
    pid: str
    question: str
    choices: list[str]
    answer: int
    split: str = ""
    hint: str = ""
    has_image: bool = False
    caption: str = ""
    task: str = ""
    grade: str = ""  # e.g. "grade5", as in ScienceQA
    subject: str = ""  # "natural science" | "social science" | "language science"
    topic: str = ""
    category: str = ""
    skill: str = ""
    lecture: str = ""
    solution: str = ""
    # The image itself when the source has it: a PIL image, PNG/JPEG bytes, or a file path.
    image: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.pid = str(self.pid)
        self.choices = [str(c) for c in self.choices]
        if len(self.choices) < 2:
            raise ValueError(f"question {self.pid}: needs at least 2 choices, has {len(self.choices)}")
        if len(self.choices) > len(LETTERS):
            raise ValueError(f"question {self.pid}: {len(self.choices)} choices, at most {len(LETTERS)} supported")
        if isinstance(self.answer, bool) or not isinstance(self.answer, int):
            raise ValueError(f"question {self.pid}: answer must be an integer index, got {self.answer!r}")
        if not 0 <= self.answer < len(self.choices):
            raise ValueError(f"question {self.pid}: answer index {self.answer} is out of range "
                             f"for {len(self.choices)} choices")
        if self.image is not None:
            self.has_image = True

    @property
    def answer_letter(self) -> str:
        return LETTERS[self.answer]

    @property
    def grade_number(self) -> int | None:
        m = re.search(r"\d+", self.grade or "")
        return int(m.group()) if m else None

    @property
    def grade_band(self) -> str:
        """'G1-6', 'G7-12', or '' when the grade is unknown."""
        g = self.grade_number
        if g is None:
            return ""
        return "G1-6" if g <= 6 else "G7-12"

    @property
    def context_groups(self) -> list[str]:
        """The leaderboard's context groups this question belongs to (TXT and IMG overlap)."""
        groups = []
        if self.hint.strip():
            groups.append("TXT")
        if self.has_image:
            groups.append("IMG")
        return groups or ["NO"]

    @property
    def subject_code(self) -> str:
        return SUBJECT_CODES.get(self.subject, "")

    @property
    def leaderboard_groups(self) -> list[str]:
        """Every leaderboard column this question counts in."""
        groups = [self.subject_code] if self.subject_code else []
        groups += self.context_groups
        if self.grade_band:
            groups.append(self.grade_band)
        return groups

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict with ScienceQA's field names (the image itself is left out)."""
        d = asdict(self)
        d.pop("image")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Question":
        """Build from a dict with ScienceQA field names; unknown keys are ignored, missing metadata is ''."""
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d and d[k] is not None}
        missing = [k for k in ("pid", "question", "choices", "answer") if k not in known]
        if missing:
            raise ValueError(f"row is missing required field(s): {', '.join(missing)}")
        if isinstance(known["answer"], str) and known["answer"].strip().lstrip("-").isdigit():
            known["answer"] = int(known["answer"])
        elif isinstance(known["answer"], float) and known["answer"].is_integer():
            known["answer"] = int(known["answer"])
        return cls(**known)


def content_hash(questions: list[Question]) -> str:
    """A short hash of the questions' content (order-insensitive): names a dataset in manifests and caches."""
    import hashlib
    import json

    h = hashlib.sha256()
    for line in sorted(json.dumps(q.to_dict(), sort_keys=True, ensure_ascii=False) for q in questions):
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()[:16]
