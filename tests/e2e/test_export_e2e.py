"""Models page in a real browser: export a llama-family model to GGUF and get both downloads."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e


def test_export_a_model_to_gguf_in_the_browser(app_server, page, studio_home, tmp_path):
    from core.models.obtain import resolve_model
    from tests.test_export import make_tiny_llama

    resolve_model(str(make_tiny_llama(tmp_path / "tiny-llama")))  # registered in this test's app home
    base = app_server()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{base}/Models")
    wait_streamlit_idle(page)
    page.get_by_test_id("stTable").first.wait_for(timeout=60_000)  # the first run imports torch and transformers
    page.get_by_role("button", name="Export to GGUF").click()
    page.get_by_text("tiny-llama-q8_0.gguf").first.wait_for(timeout=90_000)
    wait_streamlit_idle(page)
    expect(page.get_by_role("button", name="Download the GGUF")).to_be_visible()
    expect(page.get_by_role("button", name="Download the Modelfile")).to_be_visible()
    assert (studio_home / "exports" / "tiny-llama-q8_0" / "Modelfile").exists()
    page.get_by_role("button", name="Download the GGUF").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "export-1366.png"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the GGUF").click()
    assert download.value.suggested_filename == "tiny-llama-q8_0.gguf"
    page.set_viewport_size({"width": 390, "height": 844})
    wait_streamlit_idle(page)
    page.get_by_role("button", name="Export to GGUF").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "export-390.png"))
