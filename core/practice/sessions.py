"""The practice session store: one folder per session in `<home>/practice/<CODE>/`.

    session.json          what the teacher set: source, filters, model, state, created, expires
    questions.json        the drawn questions (full rows: the session stays whole if the source changes)
    students/<sid>.json   one student: the nickname, a hash of their secret, answers and hint steps
    model.json            the model's own categorical answers (core.practice.report, cached)

Students hold a token `<sid>.<secret>` (returned by `join`); only its SHA-256 is stored. Nothing else
about a student is kept; `delete` removes the folder. Every write is atomic (core.files) and every
read-modify-write holds the session's lock, so a class answering at once loses nothing and a server
restart loses nothing. Teacher actions call `access.require`; student actions check the code, the
token and the session's state, and answer bad input with one plain sentence (StudioError).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import re
import secrets
import shutil
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import access
from core.data.records import LETTERS, Question
from core.errors import StudioError
from core.files import read_json, write_json_atomic
from core.home import area

CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on phones
CODE_RE = re.compile(r"^[A-Z0-9]{4,8}$")
CODE_LENGTH = 6
MAX_NICKNAME = 20
LIFETIME = 12 * 3600.0  # seconds a session stays open unless stopped earlier
MAX_STUDENTS = 200
HINT_STEPS = 3

NO_SESSION = "There is no practice session with that code: check the code and type it again."
ENDED = "This practice session has ended: ask your teacher for a new code."
NOT_JOINED = "You are not in this practice session: join it again with its code and a nickname."


@dataclass
class Session:
    code: str
    source: str
    n: int
    grades: str = ""
    subject: str = ""
    model: str = ""
    seed: int = 0
    state: str = "open"  # 'open' | 'closed'
    created: float = 0.0
    expires: float = 0.0
    questions: list[Question] = field(default_factory=list, repr=False)

    @property
    def is_open(self) -> bool:
        return self.state == "open" and time.time() < self.expires

    @property
    def status(self) -> str:
        return "open" if self.is_open else ("expired" if self.state == "open" else "closed")

    def meta(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("code", "source", "n", "grades", "subject", "model", "seed",
                                              "state", "created", "expires")}


@dataclass
class Student:
    sid: str
    nickname: str
    secret_sha: str
    joined: float
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # question index -> {choice, correct, at}
    hints: dict[str, int] = field(default_factory=dict)  # question index -> highest hint step asked

    def to_dict(self) -> dict[str, Any]:
        return {"sid": self.sid, "nickname": self.nickname, "secret_sha": self.secret_sha, "joined": self.joined,
                "answers": self.answers, "hints": self.hints}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Student:
        return cls(str(d["sid"]), str(d["nickname"]), str(d["secret_sha"]), float(d.get("joined", 0)),
                   dict(d.get("answers") or {}), {k: int(v) for k, v in (d.get("hints") or {}).items()})

    def next_question(self, n: int) -> int | None:
        """The first question not yet answered; None when all are."""
        return next((i for i in range(n) if str(i) not in self.answers), None)


# ---- codes and folders --------------------------------------------------------------------------------

def clean_code(code: object) -> str:
    """A typed code as stored (upper case, no spaces); a malformed one is the same plain sentence as a wrong one."""
    text = re.sub(r"[\s-]+", "", str(code or "")).upper()
    if not CODE_RE.match(text):
        raise StudioError(NO_SESSION)
    return text


def _root() -> Path:
    return area("practice")


def _folder(code: str) -> Path:
    return _root() / clean_code(code)


def _new_code() -> str:
    for _ in range(100):
        code = "".join(secrets.choice(CODE_CHARS) for _ in range(CODE_LENGTH))
        if not (_root() / code).exists():
            return code
    raise StudioError("Could not find a free join code; delete some old practice sessions.")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / ".lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield


# ---- the teacher's actions ----------------------------------------------------------------------------

def create(source: str, n: int = 10, grades: str | None = None, subject: str | None = None,
           model: str | None = None, seed: int = 0, actor: access.Actor | None = None) -> Session:
    """Draw the questions and open a session; returns it (its `code` is the join code)."""
    from core.practice.questions import draw

    access.require(actor, "Starting a practice session")
    questions = draw(source, n, grades, subject, seed, actor=actor)
    now = time.time()
    session = Session(code=_new_code(), source=str(source), n=len(questions), grades=str(grades or ""),
                      subject=str(subject or ""), model=str(model or ""), seed=int(seed), created=now,
                      expires=now + LIFETIME, questions=questions)
    folder = _root() / session.code
    folder.mkdir()
    (folder / "students").mkdir()
    write_json_atomic(folder / "questions.json", [q.to_dict() for q in questions])
    write_json_atomic(folder / "session.json", session.meta())  # last: a folder without it is not a session
    return session


def load(code: str) -> Session:
    """The session of `code` (any state); a wrong code is one plain sentence."""
    folder = _folder(code)
    try:
        meta = read_json(folder / "session.json")
        rows = read_json(folder / "questions.json")
        questions = [Question.from_dict(r) for r in rows]
        return Session(**{k: meta[k] for k in Session.__dataclass_fields__ if k in meta and k != "questions"},
                       questions=questions)
    except (StudioError, KeyError, TypeError, ValueError):
        raise StudioError(NO_SESSION) from None


def list_sessions(actor: access.Actor | None = None) -> list[Session]:
    """Every session, newest first (damaged folders are skipped)."""
    access.require(actor, "Viewing practice sessions")
    out = []
    for folder in _root().iterdir():
        if folder.is_dir() and (folder / "session.json").exists():
            with contextlib.suppress(StudioError):
                out.append(load(folder.name))
    return sorted(out, key=lambda s: s.created, reverse=True)


def stop(code: str, actor: access.Actor | None = None) -> Session:
    """Close a session: students can no longer join or answer; the answers stay."""
    access.require(actor, "Stopping a practice session")
    session = load(code)
    folder = _folder(code)
    with _locked(folder):
        session.state = "closed"
        write_json_atomic(folder / "session.json", session.meta())
    return session


def delete(code: str, actor: access.Actor | None = None) -> None:
    """Delete a session and everything stored about its students."""
    access.require(actor, "Deleting a practice session")
    load(code)
    folder = _folder(code)
    with _locked(folder):
        shutil.rmtree(folder / "students", ignore_errors=True)
        for path in folder.iterdir():
            if path.name != ".lock":
                path.unlink() if path.is_file() else shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


def students(code: str, actor: access.Actor | None = None) -> list[Student]:
    """All students of a session, in the order they joined (the teacher's view only)."""
    access.require(actor, "Viewing a practice session's answers")
    return _students(_folder(code))


def _students(folder: Path) -> list[Student]:
    out = []
    for path in (folder / "students").glob("*.json"):
        with contextlib.suppress(StudioError, KeyError, TypeError, ValueError):
            out.append(Student.from_dict(read_json(path)))
    return sorted(out, key=lambda s: (s.joined, s.sid))


# ---- the student's actions ----------------------------------------------------------------------------

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
    return session, _folder(code)


def join(code: str, nickname: str) -> tuple[str, Student]:
    """Join an open session; returns (token, student). The token is the student's only key."""
    _, folder = _open(code)
    name = clean_nickname(nickname)
    with _locked(folder):
        taken = _students(folder)
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
    return session, _student(_folder(code), token)


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
    with _locked(folder):
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
    with _locked(folder):
        student = _student(folder, token)
        if str(i) in student.answers:
            raise StudioError("You already answered this question.")
        step = min(student.hints.get(str(i), 0) + 1, HINT_STEPS)
        student.hints[str(i)] = step
        write_json_atomic(folder / "students" / f"{student.sid}.json", student.to_dict())
    return session.questions[i], step
