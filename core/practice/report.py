"""What a practice session shows: the student's own result, the teacher's live view, the CSV export,
and the model's own categorical answer to each question (the same scoring as Compare), computed once
per session and cached in its folder (`model.json`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import access
from core.data.records import LETTERS
from core.errors import StudioError
from core.files import check_output, read_json, write_json_atomic, write_text_atomic
from core.practice import sessions
from core.practice.sessions import Session, Student


@dataclass
class StudentResult:
    answered: int
    correct: int
    total: int
    practised: list[str]
    review: list[str]


def student_result(session: Session, student: Student) -> StudentResult:
    """The end-of-session summary for one student: score, skills practised, skills to review."""
    practised, review = [], []
    for i, q in enumerate(session.questions):
        skill = q.skill or q.topic or "general"
        a = student.answers.get(str(i))
        if a is None:
            continue
        if skill not in practised:
            practised.append(skill)
        if not a.get("correct") and skill not in review:
            review.append(skill)
    return StudentResult(len(student.answers), sum(bool(a.get("correct")) for a in student.answers.values()),
                         len(session.questions), practised, review)


@dataclass
class ClassView:
    session: Session
    nicknames: list[str]
    questions: list[dict[str, Any]] = field(default_factory=list)  # one row per question
    skills: list[dict[str, Any]] = field(default_factory=list)  # one row per skill
    answers: int = 0
    model_label: str = ""


def class_view(code: str, actor: access.Actor | None = None) -> ClassView:
    """Who joined, how many answered, accuracy per question and per skill, the most chosen wrong option
    (the misconception), hints used, and the model's own answer beside each question."""
    access.require(actor, "Viewing a practice session's answers")
    session = sessions.load(code)
    people = sessions.students(code, actor)
    model = cached_model_answers(code)
    view = ClassView(session, [s.nickname for s in people], model_label=(model or {}).get("model", ""))
    per_skill: dict[str, list[int]] = {}
    for i, q in enumerate(session.questions):
        got = [s.answers[str(i)] for s in people if str(i) in s.answers]
        right = sum(bool(a.get("correct")) for a in got)
        wrong = Counter(int(a["choice"]) for a in got if not a.get("correct"))
        common = wrong.most_common(1)
        hints = [s.hints.get(str(i), 0) for s in people]
        m = (model or {}).get("answers", {}).get(str(i))
        skill = q.skill or q.topic or "general"
        view.questions.append({
            "#": i + 1, "question": q.question, "skill": skill, "right answer": f"({q.answer_letter}) {q.choices[q.answer]}",
            "answered": len(got), "correct": right, "accuracy": right / len(got) if got else None,
            "most chosen wrong": f"({LETTERS[common[0][0]]}) {q.choices[common[0][0]]} ×{common[0][1]}" if common else "",
            "hints used": sum(1 for h in hints if h), "hint steps": sum(hints),
            "model answer": f"({LETTERS[m['pred']]})" if m and m.get("pred") is not None else "",
            "model right": m.get("correct") if m else None,
        })
        tally = per_skill.setdefault(skill, [0, 0])
        tally[0] += right
        tally[1] += len(got)
        view.answers += len(got)
    view.skills = [{"skill": k, "answered": n, "correct": c, "accuracy": c / n if n else None}
                   for k, (c, n) in per_skill.items()]
    return view


CSV_COLUMNS = ["nickname", "question", "skill", "choice", "right answer", "correct", "hint steps", "answered at"]


def to_csv(code: str, actor: access.Actor | None = None) -> str:
    """One row per student and question answered (or hinted): what the teacher may keep."""
    access.require(actor, "Exporting a practice session")
    session = sessions.load(code)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for s in sessions.students(code, actor):
        for i, q in enumerate(session.questions):
            a, h = s.answers.get(str(i)), s.hints.get(str(i), 0)
            if a is None and not h:
                continue
            w.writerow([s.nickname, i + 1, q.skill, LETTERS[int(a["choice"])] if a else "", q.answer_letter,
                        "" if a is None else bool(a.get("correct")), h, "" if a is None else a.get("at", "")])
    return out.getvalue()


def export_csv(code: str, path: Path, actor: access.Actor | None = None) -> Path:
    text = to_csv(code, actor)
    path = check_output(Path(path))
    write_text_atomic(path, text)
    return path


# ---- the model's own answers -----------------------------------------------------------------------------

def cached_model_answers(code: str) -> dict[str, Any] | None:
    path = sessions.folder_of(code) / "model.json"
    if not path.exists():
        return None
    try:
        data = read_json(path)
    except StudioError:
        return None
    return data if isinstance(data, dict) else None


def model_answers(code: str, model: str | None = None, loaded=None,
                  actor: access.Actor | None = None) -> dict[str, Any]:
    """The model's categorical answer to each question (core.evaluation.scoring, as Compare scores),
    computed once and cached in the session folder. `loaded` spares a second load where one is at hand."""
    access.require(actor, "Scoring a model on a practice session")
    session = sessions.load(code)
    model = model or session.model
    cached = cached_model_answers(code)
    if cached and cached.get("model") == model:
        return cached
    if not model:
        raise StudioError("This session names no model to compare with.")
    from core.evaluation.capability import default_format
    from core.evaluation.scoring import evaluate

    if loaded is None:
        from core.evaluation.jobs import load_for_eval

        loaded = load_for_eval(model)
    result = evaluate(loaded, session.questions, fmt=default_format(model), method="categorical")
    data = {"model": model, "method": "categorical", "fmt": result.fmt, "accuracy": result.accuracy,
            "answers": {str(i): {"pred": p.pred, "correct": p.correct} for i, p in enumerate(result.predictions)}}
    write_json_atomic(sessions.folder_of(code) / "model.json", data)
    return data
