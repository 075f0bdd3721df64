"""Compare page in a real browser: two tiny 'xs' models evaluated in the background on a few questions,
then the report card (with the options-shuffled check) at a laptop's width and a phone's. Screenshots go
to $SQA_E2E_SHOTS when set (to look at them), else the test's tmp folder."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import make_questions
from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e


def test_compare_two_tiny_models_in_the_browser(app_server, page, studio_home, tiny_model_dir, tmp_path):
    from core.home import area
    from core.jobs import runs
    from core.models.tiny import create_tiny

    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    run_dir = runs.create_run(area("runs"), {"model": "tiny"}, name="r1")
    create_tiny(make_questions(120), run_dir / "model", size="xs", seed=1)
    runs.write_status(run_dir, state="done")

    base = app_server()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/Compare")
    wait_streamlit_idle(page, timeout=90_000)  # the first run imports torch and transformers
    limit = page.get_by_label("At most this many questions (0 = the whole split)", exact=True)
    limit.fill("6")
    limit.press("Enter")
    wait_streamlit_idle(page)
    page.get_by_role("button", name="Evaluate both").click()
    # Both jobs run as background processes; the live fragment reruns the page when they are done.
    # the headline: one sentence a teacher reads, the statistics one click below it
    page.get_by_text(re.compile(r"^The fine-tuned model \(run:r1 · from tiny\) answers .* correctly")).first.wait_for(
        timeout=120_000)
    wait_streamlit_idle(page)
    expect(page.get_by_test_id("stMetric").first).to_contain_text("%")
    expect(page.get_by_text("McNemar p")).to_be_hidden()
    for _ in range(3):  # a rerun of the live view landing on the click can close the expander again
        page.get_by_text("The statistics behind the sentence").click()
        wait_streamlit_idle(page)
        if page.get_by_text("McNemar p").is_visible():
            break
    expect(page.get_by_text("McNemar p")).to_be_visible(timeout=15_000)
    assert len(list((studio_home / "evals").iterdir())) == 2
    shots = Path(os.environ.get("SQA_E2E_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "compare-results.png"))
    # the report card: fixed and broke, the options-shuffled check one click away, the letters
    page.get_by_role("button", name=re.compile("Check with the options shuffled")).click()
    page.get_by_text(re.compile(r"With the options shuffled: base")).first.wait_for(timeout=120_000)
    wait_streamlit_idle(page)
    assert len(list((studio_home / "evals").iterdir())) == 4
    expect(page.get_by_text(re.compile(r"The fine-tune fixed \d+ questions and broke \d+"))).to_be_visible()
    page.get_by_text("Letters answered, beside the right ones").first.wait_for(timeout=30_000)
    card = page.get_by_test_id("stTabs").first
    card.screenshot(path=str(shots / "report-card-1366.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    wait_streamlit_idle(page)
    card.screenshot(path=str(shots / "report-card-390.png"))
    # one question, both models: each model's probability of each choice, then both replies side by side
    page.set_viewport_size({"width": 1366, "height": 900})
    wait_streamlit_idle(page)
    section = page.locator(".st-key-ask_section")
    section.scroll_into_view_if_needed()
    page.get_by_role("button", name="Ask both").click()
    for i in range(2):
        expect(page.locator(f".st-key-ask_reply_{i}").get_by_test_id("stMarkdown")).not_to_be_empty(timeout=60_000)
    wait_streamlit_idle(page, timeout=60_000)
    expect(section.get_by_text("Probability of each choice (right:")).to_be_visible()
    section.screenshot(path=str(shots / "compare-ask-both-1366.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    wait_streamlit_idle(page)
    page.wait_for_timeout(1000)  # the charts redraw at the new width
    section.screenshot(path=str(shots / "compare-ask-both-390.png"))  # only what fits the phone's screen is drawn
    page.locator(".st-key-ask_reply_0").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "compare-ask-both-replies-390.png"))
