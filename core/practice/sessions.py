"""The practice session store and the teacher's actions: one folder per session in `<home>/practice/<CODE>/`.

    session.json          what the teacher set: source, filters, model, state, created, expires
    questions.json        the drawn questions (full rows: the session stays whole if the source changes)
    students/<sid>.json   one student: the nickname, a hash of their secret, answers and hint steps
    model.json            the model's own categorical answers (core.practice.report, cached)

Students hold a token `<sid>.<secret>` (core.practice.student_actions: join, answer, hints); only its
SHA-256 is stored. Nothing else about a student is kept; `delete` removes the folder. Every write is atomic
(core.files) and every read-modify-write holds the session's lock (`locked`), so a class answering at once
loses nothing and a server restart loses nothing. Teacher actions call `access.require`.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import access
from core.data.records import Question
from core.errors import StudioError
from core.files import read_json, write_json_atomic
from core.home import area

CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on phones
CODE_RE = re.compile(r"^[A-Z0-9]{4,8}$")
CODE_LENGTH = 6
LIFETIME = 12 * 3600.0  # seconds a session stays open unless stopped earlier

NO_SESSION = "There is no practice session with that code: check the code and type it again."


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


def folder_of(code: str) -> Path:
    """The folder of the session `code` (a malformed code is the same plain sentence as a wrong one)."""
    return _root() / clean_code(code)


def _new_code() -> str:
    for _ in range(100):
        code = "".join(secrets.choice(CODE_CHARS) for _ in range(CODE_LENGTH))
        if not (_root() / code).exists():
            return code
    raise StudioError("Could not find a free join code; delete some old practice sessions.")


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the session's lock: every read-modify-write of its files runs inside it."""
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
    folder = folder_of(code)
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
    folder = folder_of(code)
    with locked(folder):
        session.state = "closed"
        write_json_atomic(folder / "session.json", session.meta())
    return session


def delete(code: str, actor: access.Actor | None = None) -> None:
    """Delete a session and everything stored about its students."""
    access.require(actor, "Deleting a practice session")
    load(code)
    folder = folder_of(code)
    with locked(folder):
        shutil.rmtree(folder / "students", ignore_errors=True)
        for path in folder.iterdir():
            if path.name != ".lock":
                path.unlink() if path.is_file() else shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


def students(code: str, actor: access.Actor | None = None) -> list[Student]:
    """All students of a session, in the order they joined (the teacher's view only)."""
    access.require(actor, "Viewing a practice session's answers")
    return read_students(folder_of(code))


def read_students(folder: Path) -> list[Student]:
    """The students stored in a session folder, in the order they joined (unreadable files skipped)."""
    out = []
    for path in (folder / "students").glob("*.json"):
        with contextlib.suppress(StudioError, KeyError, TypeError, ValueError):
            out.append(Student.from_dict(read_json(path)))
    return sorted(out, key=lambda s: (s.joined, s.sid))
