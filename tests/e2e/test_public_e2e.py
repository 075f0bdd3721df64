"""Public mode in a real browser: a visitor sees the Data page's Save disabled, the admin signs in from the
sidebar and Save saves; a new browser session after five wrong passwords is still locked out.
Screenshots of the sign-in at 1366x768 and 390 px wide go to the test's tmp folder."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e


def open_sign_in(page) -> None:
    if not page.get_by_label("Admin password").is_visible():  # the expander may still be open from before
        page.get_by_text("Admin sign-in").click()
    page.get_by_label("Admin password").first.wait_for()


def wrong_passwords(home) -> int:
    """The wrong passwords the app has counted so far (core.access keeps them on disk, per address)."""
    try:
        counts = json.loads((home / "access" / "failures.json").read_text())
    except (OSError, ValueError):
        return 0
    return sum(len(v) for v in counts.values() if isinstance(v, list))


def sign_in(page, password: str) -> None:
    open_sign_in(page)
    page.get_by_label("Admin password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_streamlit_idle(page)


def test_a_visitor_is_refused_and_the_admin_signs_in(app_server, browser, studio_home, tmp_path):
    base = app_server({"SQA_ADMIN_PASSWORD": "s3cret"})
    for width, height in ((1366, 768), (390, 844)):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{base}/Data")
        wait_streamlit_idle(page)
        if width < 500:  # the sidebar starts closed on a phone
            page.get_by_test_id("stExpandSidebarButton").click()
        open_sign_in(page)
        page.screenshot(path=str(tmp_path / f"sign-in-{width}.png"))
        ctx.close()

    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/Data")
    wait_streamlit_idle(page)
    assert page.get_by_text("Local file or folder…").count() == 0
    page.get_by_role("tab").filter(has_text="Subsets").click()
    page.get_by_label("Name").fill("visitor-try")
    page.get_by_label("Name").press("Enter")
    wait_streamlit_idle(page)
    expect(page.get_by_role("button", name="Save subset")).to_be_disabled()  # a visitor cannot press it
    assert not (studio_home / "subsets" / "visitor-try").exists()
    sign_in(page, "s3cret")
    page.get_by_text("Signed in as admin").first.wait_for()
    page.get_by_role("tab").filter(has_text="Subsets").click()
    page.get_by_role("button", name="Save subset").click()
    page.get_by_text("as subset:visitor-try").first.wait_for()
    assert (studio_home / "subsets" / "visitor-try" / "manifest.json").exists()
    page.screenshot(path=str(tmp_path / "signed-in.png"))
    ctx.close()

    # five wrong passwords in one session; a fresh session (a new browser context) is still locked out
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.goto(f"{base}/Data")
    wait_streamlit_idle(page)
    for i in range(5):  # each guess counted on disk before the next (a click lost in a rerun is tried again)
        deadline = time.time() + 60
        while wrong_passwords(studio_home) <= i and time.time() < deadline:
            sign_in(page, "guess")
    ctx.close()
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.goto(f"{base}/Data")
    wait_streamlit_idle(page)
    sign_in(page, "s3cret")
    page.get_by_text("Too many wrong passwords").first.wait_for()
    ctx.close()
