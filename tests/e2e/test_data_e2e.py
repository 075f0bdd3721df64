"""Data page in a real browser: the sample by default, then the real ScienceQA files; filter, save a subset.
The README's screenshot (assets/screenshot-data.png) is written only when asked (`make screenshots` sets
README_SCREENSHOTS=1), so `make test` leaves the checkout as it found it."""

from __future__ import annotations

import json
import os

import pytest
from playwright.sync_api import expect

from core.data.prompts import FORMATS, training_conversations
from core.data.sources import load_source
from tests.e2e.conftest import ROOT, click_save_subset, wait_streamlit_idle

pytestmark = pytest.mark.e2e


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the Streamlit selectbox / multiselect labelled `label`."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")  # a multiselect keeps its list open
    wait_streamlit_idle(page)


def test_filter_and_save_a_subset_in_the_browser(app_server, page, studio_home, shared_scienceqa, tmp_path):
    base = app_server()
    page.goto(f"{base}/Data")
    wait_streamlit_idle(page)
    page.get_by_text(f"of {len(load_source('sample')):,}").first.wait_for()  # the embedded sample is the default
    choose(page, "Questions from", "Local file or folder…")
    page.get_by_label("File or folder").fill(str(shared_scienceqa / "original"))
    page.get_by_label("File or folder").press("Enter")
    page.get_by_label("File or folder").blur()
    wait_streamlit_idle(page)
    page.get_by_text("of 150").first.wait_for()
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .plot-container').length >= 5")
    page.wait_for_timeout(500)  # let the bars finish drawing
    readme = os.environ.get("README_SCREENSHOTS") == "1"
    page.screenshot(path=str(ROOT / "assets" / "screenshot-data.png" if readme else tmp_path / "data.png"))
    # a row in the tutor format: the multiple-choice conversation, then its open turns one click away
    page.get_by_role("tab").filter(has_text="Browse a question").click()
    choose(page, "Prompt format", FORMATS["tutor"].label)
    page.get_by_text("conversations: the multiple-choice one", exact=False).first.wait_for()
    page.get_by_text("Open 1", exact=True).click()  # a segmented control's option
    wait_streamlit_idle(page)
    first_open = training_conversations([load_source(str(shared_scienceqa / "original"))[0]], "tutor")[1]
    expect(page.get_by_text(first_open[1]["content"][:40], exact=False).first).to_be_visible()
    page.screenshot(path=str(tmp_path / "data-tutor-preview.png"))
    choose(page, "Subject", "natural science")
    click_save_subset(page, "nat-sci")
    page.get_by_text("as subset:nat-sci").first.wait_for()
    manifest = json.loads((studio_home / "subsets" / "nat-sci" / "manifest.json").read_text())
    assert manifest["filters"]["subjects"] == ["natural science"] and manifest["total"] > 0
    assert manifest["by_subject"] == {"natural science": manifest["total"]}
    # the saved list (right column) offers it for deletion
    wait_streamlit_idle(page)
    expect(page.get_by_label("Delete", exact=True)).to_have_value("nat-sci")
    # Delete asks first: the button waits for the tick, then deletes
    expect(page.get_by_role("button", name="Delete subset")).to_be_disabled()
    page.get_by_text("Yes, delete subset:nat-sci and its files").click()
    wait_streamlit_idle(page)
    page.get_by_role("button", name="Delete subset").click()
    wait_streamlit_idle(page)
    page.get_by_text("None yet.").first.wait_for()
    assert not (studio_home / "subsets" / "nat-sci").exists()
