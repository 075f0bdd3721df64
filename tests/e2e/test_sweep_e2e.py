"""The Train page's sweep view in real headless Chromium, over a finished sweep written directly: the table
with the best setting marked and the verdict on the differences, at desktop and phone widths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import wait_streamlit_idle
from tests.test_sweep_page import write_sweep

pytestmark = pytest.mark.e2e
SHOTS = Path(os.environ.get("SQA_SCREENSHOTS", "")) if os.environ.get("SQA_SCREENSHOTS") else None


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_sweep_view_shows_the_table_and_the_verdict(app_server, page, width, height):
    write_sweep()
    base = app_server()
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{base}/Train")
    wait_streamlit_idle(page, 60_000)
    expect(page.get_by_text("Sweeps", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("matrix_lr=0.005 vs matrix_lr=0.02: -60.0 points")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible(timeout=60_000)
    page.get_by_text("Which differences are real?").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"sweep-{width}.png"), full_page=False)
