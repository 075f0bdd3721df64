"""Models page in a real browser: create the tiny model (xs) offline and see it listed as ready."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e


def test_create_tiny_model_in_the_browser(app_server, page, studio_home, tmp_path):
    base = app_server()
    page.goto(f"{base}/Models")
    wait_streamlit_idle(page)
    catalogue = page.get_by_test_id("stTable").first  # the catalogue; the memory table comes later
    catalogue.wait_for(timeout=60_000)  # the first run imports torch and transformers
    expect(catalogue.get_by_role("row").filter(has_text="tiny")).to_contain_text("not created")
    expect(catalogue.get_by_role("row").filter(has_text="sdobson/nanochat")).to_contain_text("needs internet")
    page.get_by_role("tab", name=re.compile("Tiny preset")).click()  # 'Add a model' opens on SmolLM2
    page.locator("button").filter(has_text=re.compile(r"^xs$")).click()  # the Size segmented control
    wait_streamlit_idle(page)
    page.get_by_role("button", name="Create tiny model").click()
    page.get_by_text("Tiny model (xs) ready").first.wait_for(timeout=90_000)
    wait_streamlit_idle(page)
    expect(catalogue.get_by_role("row").filter(has_text="tiny")).to_contain_text("ready")
    manifest = json.loads((studio_home / "models" / "tiny" / "studio.json").read_text())
    assert manifest["spec"]["hidden_size"] == 64 and manifest["source"] == "sample:train"
    # the memory calculator now offers the tiny model
    expect(page.get_by_test_id("stMetric").first).to_contain_text("Training needs")
    page.set_viewport_size({"width": 1400, "height": 2000})  # Streamlit scrolls inside its own container
    wait_streamlit_idle(page)
    page.screenshot(path=str(tmp_path / "models-page.png"))
