"""core.access: public mode when SQA_ADMIN_PASSWORD is set; constant-time check; lockout after guesses."""

from __future__ import annotations

import pytest

from core import access
from core.errors import StudioError


@pytest.fixture(autouse=True)
def _fresh_failures(monkeypatch):
    monkeypatch.setattr(access, "_failures", {})


def test_without_an_admin_password_everything_is_allowed(monkeypatch):
    monkeypatch.delenv("SQA_ADMIN_PASSWORD", raising=False)
    assert not access.is_public_mode()
    assert access.check_admin(None) and access.check_admin("anything")
    access.require_admin(None, "Training")


def test_public_mode_needs_the_right_password(monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    assert access.is_public_mode()
    assert access.check_admin("s3cret")
    assert not access.check_admin("s3cret ") and not access.check_admin("") and not access.check_admin(None)
    with pytest.raises(StudioError, match="Training needs the admin password"):
        access.require_admin("nope", "Training", key="v1")


def test_repeated_wrong_guesses_lock_out_that_visitor_only(monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    for _ in range(access.MAX_FAILURES):
        assert not access.check_admin("guess", key="attacker")
    assert not access.check_admin("s3cret", key="attacker")  # even the right one, for a while
    assert access.locked_out("attacker")
    with pytest.raises(StudioError, match="Too many wrong passwords"):
        access.require_admin("s3cret", "Deleting", key="attacker")
    assert access.check_admin("s3cret", key="teacher")


def test_access_does_not_import_streamlit():
    import subprocess
    import sys

    code = "import core.access, core.chat, core.publish, sys; assert 'streamlit' not in sys.modules and 'gradio' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
