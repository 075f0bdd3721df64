"""Compare page in a real browser: two tiny 'xs' models evaluated in the background on a few questions."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.conftest import make_questions
from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e


def test_compare_two_tiny_models_in_the_browser(app_server, page, studio_home, tiny_model_dir, tmp_path):
    from core.jobs import runs
    from core.home import area
    from core.models.tiny import create_tiny

    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    run_dir = runs.create_run(area("runs"), {"model": "tiny"}, name="r1")
    create_tiny(make_questions(120), run_dir / "model", size="xs", seed=1)
    runs.write_status(run_dir, state="done")

    base = app_server()
    page.goto(f"{base}/Compare")
    wait_streamlit_idle(page, timeout=90_000)  # the first run imports torch and transformers
    limit = page.get_by_label("At most this many questions (0 = the whole split)", exact=True)
    limit.fill("6")
    limit.press("Enter")
    wait_streamlit_idle(page)
    page.get_by_role("button", name="Evaluate both").click()
    # Both jobs run as background processes; the live fragment reruns the page when they are done.
    # the headline: one sentence a teacher reads, the statistics one click below it
    page.get_by_text(re.compile(r"^The fine-tuned model \(run:r1\) answers .* correctly")).wait_for(timeout=120_000)
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
    page.screenshot(path=str(tmp_path / "compare-results.png"))
    page.get_by_role("button", name="Ask both").click()
    wait_streamlit_idle(page, timeout=60_000)
    page.get_by_text("One question, both models").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "compare-question.png"))
