"""A real app server and a real headless Chromium (Debian's, driven by Playwright).

`app_server(home=...)` starts `streamlit run app.py` on a free port with its own app home and yields
the base URL; `page` is a Playwright page. Screenshots go to the test's tmp folder unless a test
saves them elsewhere (the README's screenshot is saved to assets/).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {timeout}s")


@pytest.fixture
def app_server(studio_home, tmp_path):
    """Start the Streamlit app; yields its base URL. The app's home is the test's studio_home."""
    procs = []

    def start(extra_env: dict[str, str] | None = None) -> str:
        port = free_port()
        # SQA_PRESETS=off: the pages propose the tiny models these tests build, not the pretrained preset
        # (importing it takes a minute); a test that wants it passes extra_env={"SQA_PRESETS": "on"}
        env = {**os.environ, "SQA_STUDIO_HOME": str(studio_home), "HF_HUB_OFFLINE": "1",
               "PYTHONUNBUFFERED": "1", "SQA_PRESETS": "off", **(extra_env or {})}
        log = open(tmp_path / f"streamlit-{port}.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(proc)
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc=proc)
        return f"http://127.0.0.1:{port}"

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    ctx.close()


def wait_streamlit_idle(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished running the script (no 'Running...' status widget)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def click_save_subset(page, name: str) -> None:
    """On the Data page: open the Subsets tab, name the selection and press "Save subset"."""
    page.get_by_role("tab").filter(has_text="Subsets").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Name").press("Enter")
    wait_streamlit_idle(page)
    page.get_by_role("button", name="Save subset").click()


def launch_run(page, name: str, minutes: str) -> None:
    """On the Train page's simple form: name the run, set its budget in minutes, and press Launch."""
    page.get_by_label("Name this run (optional)").fill(name)
    budget = page.get_by_label("Train for (minutes)")
    budget.fill(minutes)
    budget.press("Enter")
    wait_streamlit_idle(page)
    page.get_by_role("button", name="Launch").click()
