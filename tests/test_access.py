"""core.access: public mode when SQA_ADMIN_PASSWORD is set; constant-time check; lockout after guesses."""

from __future__ import annotations

import pytest

from core import access
from core.errors import StudioError


def test_without_an_admin_password_everything_is_allowed(monkeypatch):
    monkeypatch.delenv("SQA_ADMIN_PASSWORD", raising=False)
    assert not access.is_public_mode()
    assert access.check_admin(None) and access.check_admin("anything")
    access.require_admin(None, "Training")
    access.require(access.Actor(address="1.2.3.4"), "Training")
    assert access.sign_in("1.2.3.4", None).admin


def test_public_mode_needs_the_right_password(monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    assert access.is_public_mode()
    assert access.check_admin("s3cret")
    assert not access.check_admin("s3cret ") and not access.check_admin("") and not access.check_admin(None)
    with pytest.raises(StudioError, match="Training needs the admin password"):
        access.require_admin("nope", "Training", key="v1")
    visitor = access.Actor(address="10.0.0.7")
    with pytest.raises(StudioError, match="Deleting a run needs the admin password"):
        access.require(visitor, "Deleting a run")
    with pytest.raises(StudioError, match="Deleting a run needs"):
        access.require(None, "Deleting a run")  # no actor, not the CLI: a visitor (fail closed)
    admin = access.sign_in("10.0.0.7", "s3cret")
    assert admin.admin and admin.address == "10.0.0.7"
    access.require(admin, "Deleting a run")
    with pytest.raises(StudioError, match="Wrong admin password"):
        access.sign_in("10.0.0.7", "guess")


def test_repeated_wrong_guesses_lock_out_that_address_across_sessions(monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    for _ in range(access.MAX_FAILURES):
        assert not access.check_admin("guess", key="attacker")
    assert not access.check_admin("s3cret", key="attacker")  # even the right one, for a while
    assert access.locked_out("attacker")
    with pytest.raises(StudioError, match="Too many wrong passwords"):
        access.sign_in("attacker", "s3cret")
    assert access.check_admin("s3cret", key="teacher")
    # The count lives on disk: another process (another server worker, a restart) sees it too.
    import subprocess
    import sys

    code = "from core import access; print(access.locked_out('attacker'), access.locked_out('teacher'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_guesses_from_many_addresses_lock_out_everyone(monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    for i in range(access.MAX_GLOBAL_FAILURES):
        access.check_admin("guess", key=f"10.0.{i}.1")  # each address stays under its own limit
    assert access.locked_out("a-new-address")
    with pytest.raises(StudioError, match="Too many wrong passwords"):
        access.sign_in("teacher", "s3cret")


def test_a_damaged_failure_store_reads_as_empty(monkeypatch, studio_home):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    (studio_home / "access").mkdir(parents=True)
    (studio_home / "access" / "failures.json").write_text('{"x": "not a list", "y": [1, "a"]}')
    assert not access.locked_out("x")
    (studio_home / "access" / "failures.json").write_text("[1, 2")
    assert access.sign_in("x", "s3cret").admin


def test_visitors_spend_a_limited_budget_per_address(monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    visitor = access.Actor(address="10.0.0.9")
    for _ in range(3):
        access.spend(visitor, "evaluation", limit=3)
    with pytest.raises(StudioError, match="3 new evaluations an hour"):
        access.spend(visitor, "evaluation", limit=3)
    access.spend(access.Actor(address="10.0.0.10"), "evaluation", limit=3)
    for _ in range(5):
        access.spend(access.LOCAL, "evaluation", limit=3)  # trusted: not counted


def test_visitors_never_see_server_paths(monkeypatch, studio_home):
    from core.home import PROJECT_ROOT

    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    text = f"Cannot write {studio_home}/runs/x/status.json; see {PROJECT_ROOT}/core/x.py and /etc/passwd."
    seen = access.shown(text, access.Actor(address="v"))
    assert str(studio_home) not in seen and str(PROJECT_ROOT) not in seen and "/etc/passwd" not in seen
    assert "<app home>/runs/x/status.json" in seen
    assert access.shown(text, access.Actor(address="v", admin=True)) == text


def test_no_module_under_core_imports_streamlit_or_gradio():
    """Walk the whole package: importing every module of core loads neither UI library."""
    import subprocess
    import sys

    code = ("import pkgutil, importlib, sys, core\n"
            "names = [m.name for m in pkgutil.walk_packages(core.__path__, 'core.') if not m.name.endswith('__main__')]\n"
            "[importlib.import_module(n) for n in names]\n"
            "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('streamlit', 'gradio'))\n"
            "print(len(names), bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, bad = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(count) > 40 and bad.strip() == "[]"


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
