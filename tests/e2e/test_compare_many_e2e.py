"""Compare's "Many models" view in real headless Chromium: three tiny models evaluated (cached) on the same
questions beforehand; the table, the chart and the tests against the reference, at desktop and phone widths."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import make_questions
from core.data.prompts import DEFAULT_FORMAT
from core.evaluation.jobs import EvalRequest, run_eval
from core.home import area
from core.jobs import runs
from core.models.tiny import create_tiny
from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e
SHOTS = Path(os.environ["SQA_SCREENSHOTS"]) if os.environ.get("SQA_SCREENSHOTS") else None


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_many_models_on_one_chart(app_server, page, tiny_model_dir, studio_home, width, height):
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    for i, name in enumerate(("r1", "r2"), start=1):
        run_dir = runs.create_run(area("runs"), {"model": "tiny"}, name=name)
        create_tiny(make_questions(120), run_dir / "model", size="xs", seed=i)
        runs.write_status(run_dir, state="done")
    for name in ("tiny", "run:r1", "run:r2"):
        run_eval(EvalRequest(model=name, data="sample", split="test", limit=12, fmt=DEFAULT_FORMAT))
    base = app_server()
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{base}/Compare")
    wait_streamlit_idle(page, 60_000)
    page.get_by_text("Many models", exact=True).click()
    wait_streamlit_idle(page, 60_000)
    if width < 640:  # the sidebar is collapsed on a phone
        page.locator("[data-testid='stExpandSidebarButton'], [data-testid='stSidebarCollapsedControl']").first.click()
    box = page.locator("[data-testid='stSidebar'] input[aria-label^='At most this many questions']").first
    box.fill("12")
    box.press("Enter")
    wait_streamlit_idle(page, 60_000)
    if width < 640:
        page.keyboard.press("Escape")
        page.mouse.click(width - 10, height // 2)
    expect(page.get_by_text("3 models on the same 12 questions")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Against tiny", exact=False)).to_be_attached(timeout=60_000)
    wait_streamlit_idle(page, 60_000)
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible(timeout=60_000)
    expect(page.locator(".js-plotly-plot").first).to_be_attached(timeout=60_000)
    page.get_by_text("3 models on the same 12 questions").scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"compare-many-{width}.png"))
