"""A student's side of a practice session (core.practice.sessions stores it): join with a nickname, answer
the questions in order, climb the hint ladder, read one's own results.

A student holds a token `<sid>.<secret>` (returned by `join`); only its SHA-256 is stored. Every action
checks the code, the token and the session's state, runs its read-modify-write under the session's lock,
and answers bad input with one plain sentence (StudioError).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from pathlib import Path

from core.data.records import LETTERS, Question
from core.errors import StudioError
from core.files import read_json, write_json_atomic
from core.practice.sessions import Session, Student, folder_of, load, locked, read_students

MAX_NICKNAME = 20
MAX_STUDENTS = 200
HINT_STEPS = 3

ENDED = "This practice session has ended: ask your teacher for a new code."
NOT_JOINED = "You are not in this practice session: join it again with its code and a nickname."


def clean_nickname(text: object) -> str:
    """Letters, digits, spaces and - _ . ' only, spaces collapsed, at most MAX_NICKNAME characters."""
    text = unicodedata.normalize("NFKC", str(text or ""))
    text = "".join(c for c in text if c.isalnum() or c in " -_.'")
    # no leading - . ' _: a nickname must not read as a formula when the teacher opens the CSV in a spreadsheet
    text = " ".join(text.split()).lstrip("-_.' ")[:MAX_NICKNAME].strip()
    if not text:
        raise StudioError(f"Type a nickname (letters and digits, at most {MAX_NICKNAME} characters).")
    return text


def _open(code: str) -> tuple[Session, Path]:
    session = load(code)
    if not session.is_open:
        raise StudioError(ENDED)
    return session, folder_of(code)


def join(code: str, nickname: str) -> tuple[str, Student]:
    """Join an open session; returns (token, student). The token is the student's only key."""
    _, folder = _open(code)
    name = clean_nickname(nickname)
    with locked(folder):
        taken = read_students(folder)
        if any(s.nickname.casefold() == name.casefold() for s in taken):
            raise StudioError(f"The nickname {name!r} is taken in this session: pick another one.")
        if len(taken) >= MAX_STUDENTS:
            raise StudioError("This practice session is full.")
        sid, secret = secrets.token_hex(6), secrets.token_urlsafe(18)
        student = Student(sid, name, hashlib.sha256(secret.encode()).hexdigest(), time.time())
        write_json_atomic(folder / "students" / f"{sid}.json", student.to_dict())
    return f"{sid}.{secret}", student


def _student(folder: Path, token: object) -> Student:
    sid, _, secret = str(token or "").partition(".")
    if not re.fullmatch(r"[0-9a-f]{12}", sid) or not secret:
        raise StudioError(NOT_JOINED)
    try:
        student = Student.from_dict(read_json(folder / "students" / f"{sid}.json"))
    except (StudioError, KeyError, TypeError, ValueError):
        raise StudioError(NOT_JOINED) from None
    if not hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), student.secret_sha):
        raise StudioError(NOT_JOINED)
    return student


def me(code: str, token: str) -> tuple[Session, Student]:
    """The session and the student a token belongs to (any session state: a student may read their results)."""
    session = load(code)
    return session, _student(folder_of(code), token)


def _question_index(session: Session, index: object) -> int:
    try:
        i = int(str(index).strip())
    except ValueError:
        raise StudioError(f"There is no question {index!r} in this session.") from None
    if not 0 <= i < len(session.questions):
        raise StudioError(f"There is no question {i + 1} in this session.")
    return i


def _choice_index(q: Question, choice: object) -> int:
    text = str(choice).strip()
    if len(text) == 1 and text.upper() in LETTERS[:len(q.choices)]:
        return LETTERS.index(text.upper())
    with contextlib.suppress(ValueError):
        i = int(text)
        if 0 <= i < len(q.choices) and str(i) == text:
            return i
    raise StudioError(f"Pick one of the options {LETTERS[0]} to {LETTERS[len(q.choices) - 1]}.")


def answer(code: str, token: str, index: object, choice: object) -> tuple[Session, Student, int, bool]:
    """Record a student's answer to question `index` (0-based); `choice` is the option's index or letter.
    Returns (session, student, choice index, correct). Each question is answered once, in order."""
    session, folder = _open(code)
    i = _question_index(session, index)
    c = _choice_index(session.questions[i], choice)
    with locked(folder):
        student = _student(folder, token)
        if str(i) in student.answers:
            raise StudioError("You already answered this question.")
        if student.next_question(len(session.questions)) != i:
            raise StudioError("Answer the questions in order: this one is not your current question.")
        correct = c == session.questions[i].answer
        student.answers[str(i)] = {"choice": c, "correct": correct, "at": round(time.time(), 3)}
        write_json_atomic(folder / "students" / f"{student.sid}.json", student.to_dict())
    return session, student, c, correct


def take_hint(code: str, token: str, index: object) -> tuple[Question, int]:
    """Climb one step of the hint ladder for the current question; returns (question, step 1-3)."""
    session, folder = _open(code)
    i = _question_index(session, index)
    with locked(folder):
        student = _student(folder, token)
        if str(i) in student.answers:
            raise StudioError("You already answered this question.")
        step = min(student.hints.get(str(i), 0) + 1, HINT_STEPS)
        student.hints[str(i)] = step
        write_json_atomic(folder / "students" / f"{student.sid}.json", student.to_dict())
    return session.questions[i], step
