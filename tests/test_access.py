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

    code = "import core.access, core.serving.chat, core.models.publish, sys; assert 'streamlit' not in sys.modules and 'gradio' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_dockerfiles_command_starts_the_app_and_its_health_check_answers(studio_home, tmp_path):
    """No Docker engine here: run the image's CMD with this venv's streamlit and probe the health URL."""
    import json
    import os
    import re
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from core.home import PROJECT_ROOT

    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    assert cmd[:3] == ["streamlit", "run", "app.py"] and "--server.port=8501" in cmd
    assert "--server.address=0.0.0.0" in cmd and "EXPOSE 8501" in dockerfile
    assert "/_stcore/health" in dockerfile and "--uid 1000" in dockerfile and "USER user" in dockerfile
    assert "HF_HOME=" in dockerfile and "download.pytorch.org/whl/cpu" in dockerfile
    assert "sdk: docker" in (PROJECT_ROOT / "space" / "README.md").read_text()
    with socket.socket() as s:  # 8501 may be taken by a running app: then the same command on a free port
        free = s.connect_ex(("127.0.0.1", 8501)) != 0
    port = 8501
    if not free:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [a if a != "--server.port=8501" else f"--server.port={port}" for a in cmd]
    log = open(tmp_path / "docker-cmd.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", *cmd], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, start_new_session=True)
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    assert r.status == 200 and r.read() == b"ok"
                    break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, (tmp_path / "docker-cmd.log").read_text()
                time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(10)
