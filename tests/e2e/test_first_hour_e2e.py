"""A teacher's first run in real headless Chromium, on a machine whose evaluation is slow: the Train page's
default run (the tiny model on the sample, a short budget), watched through an in-training evaluation,
stopped inside it and resumed to the end. Only what the page says is read to decide when to act; the run
folder is read afterwards to check that the evaluation in progress was abandoned, not finished.

The slow machine is `SQA_TEST_EVAL_DELAY` (core.training.validation): a sleep before every evaluation
batch, so the first evaluation takes tens of seconds while the tiny model's steps stay fast.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from core import access
from core.home import area
from core.jobs import runs
from core.models.obtain import ensure_tiny
from core.training.validation import DELAY_ENV
from tests.e2e.conftest import launch_run, wait_streamlit_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DELAY = "1.0"  # seconds before each evaluation batch: the first evaluation (~20 batches) takes 20 s or more


def header(page, state: str):
    """The live view's header (run title and state badge) once it shows `state`. `.first`: while Streamlit
    reruns, the old and the new header are both on screen for a moment."""
    return page.get_by_role("heading", name=re.compile(rf"first hour \(.*\).*\b({state})\b")).first


def click_when_single(page, name: str, timeout: float = 30) -> None:
    """Click a button once the live fragment has settled (a re-render briefly shows two copies)."""
    button = page.get_by_role("button", name=name, exact=True)
    deadline = time.time() + timeout
    while button.count() != 1 and time.time() < deadline:
        time.sleep(0.2)
    button.first.click()


def lines_of_step(run_dir, step: int) -> list[dict]:
    """The run's metrics lines of one step (a step's training line carries its evaluation when one ran)."""
    return [r for r in runs.read_metrics(run_dir) if r.get("step") == step and "resumed_from" not in r]


def test_stop_inside_a_slow_evaluation_stops_and_resume_finishes_the_default_run(app_server, page, tmp_path):
    ensure_tiny(size="xs", actor=access.LOCAL)  # the Models page's tiny preset, smallest size: quick steps
    base = app_server(extra_env={DELAY_ENV: DELAY})
    page.goto(f"{base}/Train")
    wait_streamlit_idle(page, timeout=90_000)
    page.get_by_text("No runs yet").first.wait_for()

    # the default run: the page's own model, data, recipe and format; only a name and a short budget
    expect(page.get_by_role("combobox", name="Model to fine-tune")).to_have_value(re.compile("[Tt]iny"))
    expect(page.get_by_role("combobox", name="Questions to learn from")).to_have_value("sample")
    launch_run(page, "first hour", "0.5")  # 30 s: time for one slowed evaluation; a minute only waited longer

    # an evaluation starts: the line under the header says so
    evaluating = page.get_by_text(re.compile(r"evaluating \d+ questions \(Stop works here too\)")).first
    evaluating.wait_for(timeout=180_000)
    expect(header(page, "running")).to_be_visible()
    run_dir = runs.list_runs(area("runs"))[0].run_dir
    page.screenshot(path=str(tmp_path / "evaluating.png"), full_page=True)

    click_when_single(page, "Stop")
    header(page, "stopped").wait_for(timeout=30_000)  # within seconds, not at the end of the evaluation
    page.get_by_text(re.compile(r"stopped at step \d+; resume to continue")).first.wait_for()
    expect(page.get_by_role("button", name="Resume").first).to_be_visible()
    stopped = runs.read_status(run_dir)
    assert stopped.state == "stopped" and stopped.step > 0
    # the evaluation in progress at that step was abandoned: had it finished first, its figures would be
    # in the step's line (and the stop would have waited for it)
    stopped_lines = lines_of_step(run_dir, stopped.step)
    assert stopped_lines and not any("eval_loss" in r or "eval_accuracy" in r for r in stopped_lines)
    assert "stopped" in (run_dir / "log.txt").read_text()
    # the run's end makes the page rerun whole: a click before that rerun is over is lost with the old page
    expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0, timeout=30_000)
    wait_streamlit_idle(page)
    page.screenshot(path=str(tmp_path / "stopped.png"), full_page=True)

    click_when_single(page, "Resume")
    header(page, "queued|running").wait_for(timeout=60_000)
    header(page, "done").wait_for(timeout=300_000)  # the rest of the 30 s, slowed evaluations included
    done = runs.read_status(run_dir)
    assert done.state == "done" and done.step > stopped.step
    assert f"resumed from checkpoint step {stopped.step}" in (run_dir / "log.txt").read_text()
    assert runs.list_runs(area("runs"))[0].model_path is not None
    expect(page.get_by_role("button", name="Stop")).to_have_count(0, timeout=30_000)  # a finished run: no Stop,
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)  # nothing to resume
    try:
        text = page.locator("[data-testid='stProgress']").first.inner_text(timeout=10_000)
    except PlaywrightError:  # the fragment re-rendered under us: read again
        text = page.locator("[data-testid='stProgress']").first.inner_text(timeout=10_000)
    assert f"step {done.step}" in text  # the page shows the steps the resumed run reached
    page.screenshot(path=str(tmp_path / "done.png"), full_page=True)
