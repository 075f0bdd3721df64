"""Public mode: who may do what when the app is open to visitors (a Hugging Face Space, a class).

When the environment variable `SQA_ADMIN_PASSWORD` is set, the app is in public mode: visitors can
browse data, compare models and chat with the tutor; training, deleting, pushing to the Hub,
downloading new models and starting a class link need the admin password. Without it (a personal
machine), everything is allowed. Pages use it like this (no Streamlit here):

    from core import access
    if access.is_public_mode() and not access.check_admin(password_typed, key=session_id):
        st.error(access.ADMIN_REQUIRED.format(action="Training"))

Passwords are compared in constant time; repeated wrong guesses from one key are refused for a while.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time

from core.errors import StudioError

ENV_VAR = "SQA_ADMIN_PASSWORD"
ADMIN_REQUIRED = "{action} needs the admin password: this app is in public mode (SQA_ADMIN_PASSWORD is set)."
MAX_FAILURES = 5  # wrong passwords per key before a pause
LOCKOUT_SECONDS = 60.0

_failures: dict[str, list[float]] = {}
_lock = threading.Lock()


def _secret() -> str:
    return os.environ.get(ENV_VAR, "")


def is_public_mode() -> bool:
    """True when an admin password is configured (so visitors get the read-and-chat subset)."""
    return bool(_secret().strip())


def _digest(text: str) -> bytes:
    # Hash both sides first so the comparison's time does not depend on either length.
    return hashlib.sha256(text.encode("utf-8")).digest()


def check_admin(password: str | None, key: str = "") -> bool:
    """True when admin actions are allowed: not in public mode, or `password` is the admin password.

    `key` identifies the caller (a session id) so one visitor's guesses lock out only that visitor.
    """
    secret = _secret().strip()
    if not secret:
        return True
    now = time.monotonic()
    with _lock:
        recent = [t for t in _failures.get(key, []) if now - t < LOCKOUT_SECONDS]
        _failures[key] = recent
        if len(recent) >= MAX_FAILURES:
            return False
    ok = hmac.compare_digest(_digest(password or ""), _digest(secret))
    if not ok:
        with _lock:
            _failures.setdefault(key, []).append(now)
    return ok


def locked_out(key: str = "") -> bool:
    """Whether `key` made too many wrong guesses recently (pages say "wait a minute")."""
    now = time.monotonic()
    with _lock:
        return sum(now - t < LOCKOUT_SECONDS for t in _failures.get(key, [])) >= MAX_FAILURES


def require_admin(password: str | None, action: str, key: str = "") -> None:
    """Raise StudioError unless `check_admin(password, key)`; `action` names what was refused."""
    if check_admin(password, key):
        return
    if locked_out(key):
        raise StudioError(f"Too many wrong passwords; wait {LOCKOUT_SECONDS:.0f} s and try again.")
    raise StudioError(ADMIN_REQUIRED.format(action=action))
