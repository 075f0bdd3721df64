"""Public mode: who may do what when the app is open to visitors (a Hugging Face Space, a class).

When the environment variable `SQA_ADMIN_PASSWORD` is set, the app is in public mode. A visitor may
browse the data already offered (the sample, the Hub dataset, saved subsets), compare models already
present (cached results, or new evaluations of present models on present data, rate-limited) and
chat. Everything that changes state or spends the device on something new (start, resume, stop,
cancel, delete a run; create, import, convert, download, delete a model; evaluate a model that is not
here; save or delete a subset; read a server path; start a class link; publish; start, view, stop,
export or delete a practice session: students only join and answer, by its code) calls `require`
INSIDE core, so a page that forgets to ask cannot open a hole:

    actor = access.Actor(address=client_ip)                # a visitor (pages build this per session)
    actor = access.sign_in(client_ip, typed_password)      # an admin, or StudioError
    start_training(cfg, actor=actor)                        # core calls access.require(actor, ...)

Without a password configured (a personal machine) everything is allowed. The command line and the
background workers are the local admin (`act_as_local()` at their entry point); a core call made
without an actor anywhere else counts as a visitor in public mode (fail closed).

Wrong passwords are counted on disk (`<home>/access/failures.json`, under a lock), per client address
and globally, so the lockout holds across browser sessions, pages and server restarts. Passwords are
compared in constant time.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import StudioError

ENV_VAR = "SQA_ADMIN_PASSWORD"
ADMIN_REQUIRED = "{action} needs the admin password: this app is in public mode (SQA_ADMIN_PASSWORD is set)."
MAX_FAILURES = 5  # wrong passwords per client address within LOCKOUT_SECONDS
MAX_GLOBAL_FAILURES = 20  # wrong passwords from all addresses together within LOCKOUT_SECONDS
LOCKOUT_SECONDS = 60.0
VISITOR_EVALS_PER_HOUR = 6  # new (uncached) evaluations a visitor's address may start per hour


@dataclass(frozen=True)
class Actor:
    """Who is asking: a client address, signed in as admin or not; or the local command line."""

    address: str = ""
    admin: bool = False
    local: bool = False

    @property
    def trusted(self) -> bool:
        """May change state and spend the device (always, outside public mode)."""
        return self.admin or self.local or not is_public_mode()


LOCAL = Actor(address="local", local=True)
_process_actor: Actor | None = None
_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("sqa_actor", default=None)


@contextlib.contextmanager
def acting(actor: Actor | None) -> Iterator[None]:
    """Within this block (this thread or task), core calls made without an actor act for `actor`."""
    token = _current.set(actor) if actor is not None else None
    try:
        yield
    finally:
        if token is not None:
            _current.reset(token)


def act_as_local() -> None:
    """Entry points of the command line and the workers: this process acts as the local admin."""
    global _process_actor
    _process_actor = LOCAL


def _secret() -> str:
    return os.environ.get(ENV_VAR, "")


def is_public_mode() -> bool:
    """True when an admin password is configured (so visitors get the read-and-chat subset)."""
    return bool(_secret().strip())


def who(actor: Actor | None) -> Actor:
    """The actor a core call acts for: the one given, else this process's (the CLI, a worker), else a visitor."""
    return actor or _current.get() or _process_actor or Actor()


def require(actor: Actor | None, action: str) -> None:
    """Raise StudioError unless `actor` may do `action` (a phrase: "Deleting a run")."""
    if who(actor).trusted:
        return
    raise StudioError(ADMIN_REQUIRED.format(action=action))


def refusal(actor: Actor | None, action: str) -> str | None:
    """Why `actor` may not do `action` (what `require` would raise), or None: lets a page show a visitor
    the button disabled with the reason instead of refusing after the click."""
    return None if who(actor).trusted else ADMIN_REQUIRED.format(action=action)


# ---- the failure store (on disk, shared by every session and process) ---------------------------------

def _store() -> Path:
    from core.home import home

    folder = home() / "access"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def _locked(name: str) -> Iterator[dict]:
    """Read-modify-write one JSON file of the store under an exclusive lock; damage reads as empty."""
    folder = _store()
    with open(folder / f"{name}.lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        path = folder / f"{name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            data = {}
        yield data
        from core.files import write_json_atomic

        write_json_atomic(path, data)


def _recent(times: object, now: float, window: float) -> list[float]:
    if not isinstance(times, list):
        return []
    return [t for t in times if isinstance(t, (int, float)) and 0 <= now - t < window]


def _prune(data: dict, now: float, window: float) -> None:
    for key in list(data):
        data[key] = _recent(data[key], now, window)
        if not data[key]:
            del data[key]


def locked_out(address: str = "") -> bool:
    """Too many wrong passwords lately, from this address or from everyone together."""
    now = time.time()
    with _locked("failures") as data:
        _prune(data, now, LOCKOUT_SECONDS)
        total = sum(len(v) for v in data.values())
        return len(data.get(address, [])) >= MAX_FAILURES or total >= MAX_GLOBAL_FAILURES


def _record_failure(address: str) -> None:
    with _locked("failures") as data:
        data.setdefault(address, []).append(time.time())


def _digest(text: str) -> bytes:
    # Hash both sides first so the comparison's time does not depend on either length.
    return hashlib.sha256(text.encode("utf-8")).digest()


def check_admin(password: str | None, key: str = "") -> bool:
    """True when admin actions are allowed: not in public mode, or `password` is the admin password.

    `key` is the client address: wrong guesses count against it and against everyone (see module doc).
    """
    secret = _secret().strip()
    if not secret:
        return True
    if locked_out(key):
        return False
    ok = hmac.compare_digest(_digest(password or ""), _digest(secret))
    if not ok:
        _record_failure(key)
    return ok


def sign_in(address: str, password: str | None) -> Actor:
    """The admin actor for this address, or StudioError (wrong password, or locked out for a while)."""
    if not is_public_mode():
        return Actor(address=address, admin=True)
    if check_admin(password, address):
        return Actor(address=address, admin=True)
    if locked_out(address):
        raise StudioError(f"Too many wrong passwords; wait {LOCKOUT_SECONDS:.0f} s and try again.")
    raise StudioError("Wrong admin password.")


def require_admin(password: str | None, action: str, key: str = "") -> None:
    """Raise StudioError unless `check_admin(password, key)`; `action` names what was refused."""
    if check_admin(password, key):
        return
    if locked_out(key):
        raise StudioError(f"Too many wrong passwords; wait {LOCKOUT_SECONDS:.0f} s and try again.")
    raise StudioError(ADMIN_REQUIRED.format(action=action))


def spend(actor: Actor | None, what: str, limit: int | None = None, window: float = 3600.0, count: int = 1) -> None:
    """A visitor's budget for device-spending actions they may take (new evaluations): `limit` (default
    VISITOR_EVALS_PER_HOUR) per `window` per address, counted on disk. Trusted actors are not counted.
    `count` actions are spent at once, or none (a request of several is refused whole)."""
    limit = VISITOR_EVALS_PER_HOUR if limit is None else limit
    actor = who(actor)
    if actor.trusted:
        return
    now = time.time()
    with _locked(f"spend-{re.sub(r'[^a-z0-9]+', '-', what.lower())}") as data:
        _prune(data, now, window)
        used = data.setdefault(actor.address, [])
        if len(used) + count > limit:
            wait = int(window - (now - min(used, default=now))) + 1
            raise StudioError(f"Visitors may start {limit} new {what}s an hour; try again in {wait // 60 + 1} min "
                              "(results already computed open at once).")
        used.extend([now] * count)


# ---- what a visitor may see ----------------------------------------------------------------------------

def shown(text: str, actor: Actor | None) -> str:
    """`text` as a visitor may see it: server paths (the app home, the project, any absolute path) hidden."""
    if who(actor).trusted:
        return text
    from core.home import PROJECT_ROOT, home

    for root, label in ((str(home()), "<app home>"), (str(PROJECT_ROOT), "<app>")):
        text = text.replace(root, label)
    return re.sub(r"(?<![\w<>.])/(?:[\w.@+-]+/)*[\w.@+-]+", "<server path>", text)
