"""Train page in real headless Chromium: launch a tiny run, watch the chart grow, stop it, resume it."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from core.home import area
from core.jobs import runs
from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e


def progress_step(page) -> int:
    text = page.locator("[data-testid='stProgress']").first.inner_text(timeout=30_000)
    m = re.search(r"step (\d+)", text)
    return int(m.group(1)) if m else -1


def wait_step_above(page, n: int, timeout: float = 90) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            s = progress_step(page)
        except PlaywrightError:  # the fragment re-rendered under us: read again
            s = -1
        if s > n:
            return s
        time.sleep(0.5)
    raise AssertionError(f"the step shown never went above {n}")


def click_button(page, name: str, timeout: float = 30) -> None:
    """Click a button once the live fragment has settled: while it re-renders, Streamlit can briefly show
    the old and the new copy of the same button (two matches)."""
    button = page.get_by_role("button", name=name)
    deadline = time.time() + timeout
    while button.count() != 1 and time.time() < deadline:
        time.sleep(0.2)
    button.first.click()


def only_run() -> Path:
    found = runs.list_runs(area("runs"))
    assert len(found) == 1
    return found[0].run_dir


def test_launch_watch_stop_resume(app_server, page, tmp_path):
    import json

    from conftest import make_questions
    from core.models.tiny import create_tiny

    # the app's "tiny" model, pre-created small ('xs'), and a toy data file, so the test trains fast
    create_tiny(make_questions(120), area("models") / "tiny", size="xs", seed=0)
    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(90)))
    shots = Path(os.environ.get("E2E_SCREENSHOTS", tmp_path))  # set it to keep the pictures
    base = app_server()
    page.goto(f"{base}/Train")
    wait_streamlit_idle(page)
    page.get_by_text("No runs yet").first.wait_for()
    page.get_by_label("Questions to learn from", exact=True).click()
    page.get_by_role("option", name="(a file or folder)").click()
    page.get_by_label("Data path").fill(str(data))
    page.get_by_label("Data path").press("Enter")
    wait_streamlit_idle(page)
    page.get_by_role("button", name="Launch").click()
    first = wait_step_above(page, 0, timeout=120)
    later = wait_step_above(page, first + 1)  # the chart grows without reloading
    assert later > first
    page.screenshot(path=str(shots / "train-running.png"), full_page=True)

    click_button(page, "Stop")
    page.get_by_text("stopped at step").first.wait_for(timeout=60_000)
    run_dir = only_run()
    assert runs.read_status(run_dir).state == "stopped"
    stopped_at = runs.read_status(run_dir).step
    assert (run_dir / "checkpoints" / f"step_{stopped_at}" / "trainer_state.json").exists()
    # the run's end makes the page rerun whole: a click before that rerun is over is lost with the old page
    # (seen on a loaded machine: Resume was clicked, the run stayed stopped)
    expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0, timeout=30_000)
    wait_streamlit_idle(page)

    click_button(page, "Resume")
    wait_streamlit_idle(page)
    assert progress_step(page) >= stopped_at  # progress continues from the resumed step, never from 0
    wait_step_above(page, stopped_at, timeout=240)  # a resumed worker loads the model again first
    assert "resumed from checkpoint step" in (run_dir / "log.txt").read_text()
    page.screenshot(path=str(shots / "train-resumed.png"), full_page=True)
    page.get_by_role("button", name="Cancel").first.click()
    deadline = time.time() + 60
    while not runs.read_status(run_dir).terminal and time.time() < deadline:
        time.sleep(0.3)
    assert runs.read_status(run_dir).state == "stopped"


def test_deleting_asks_again_for_the_next_run(app_server, page):
    from core.training.recipes import build_config

    for name in ("run-a", "run-b"):
        d = runs.create_run(area("runs"), build_config("tiny", "sample", recipe="tiny").to_dict(), name=name)
        runs.write_status(d, state="done", step=3, total=3)
    base = app_server()
    page.goto(f"{base}/Train")
    wait_streamlit_idle(page)
    delete = page.get_by_role("button", name="Delete", exact=True)
    sure = page.get_by_role("checkbox", name="Yes, delete it")
    expect(delete).to_be_disabled(timeout=60_000)  # the first visit imports the page's libraries
    page.get_by_text("Yes, delete it").click()
    expect(delete).to_be_enabled()
    delete.click()
    page.get_by_text(re.compile("Deleted run-")).first.wait_for()
    wait_streamlit_idle(page)
    assert len(runs.list_runs(area("runs"))) == 1
    expect(sure).not_to_be_checked()  # the next run in the list asks again
    expect(delete).to_be_disabled()
