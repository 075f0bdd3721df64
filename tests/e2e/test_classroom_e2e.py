"""The class link's sign-in in real headless Chromium: only a password box; a wrong password says so
plainly and keeps what was typed; the right one opens the chat. Pictures at 1366x768 and 390 px wide."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

import classroom_launcher
from tests.conftest import make_questions

pytestmark = pytest.mark.e2e


@pytest.fixture
def class_link(studio_home, monkeypatch):
    from core.models.tiny import create_tiny

    model = create_tiny(make_questions(120), studio_home / "tiny-xs", size="xs", seed=0)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    classroom_launcher.start(str(model), share=False, password="otters-42", max_new_tokens=4, rate=10)
    try:
        yield classroom_launcher.wait_until_serving(120)
    finally:
        classroom_launcher.stop()


def test_the_class_password_form(class_link, browser, tmp_path):
    for width, height in ((1366, 768), (390, 844)):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        page = ctx.new_page()
        page.goto(class_link.local_url)
        box = page.get_by_label("Class password")
        expect(box).to_be_visible()
        assert page.locator("input").count() == 1  # no user name to trip over
        box.fill("otters-24")
        page.get_by_role("button", name="Open the tutor").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong password. Check it and try again.")
        assert box.input_value() == "otters-24"  # what was typed stays, to correct it
        page.screenshot(path=str(tmp_path / f"class-wrong-{width}.png"))
        box.fill("otters-42")
        box.press("Enter")
        expect(page.get_by_placeholder("Type a science question…")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / f"class-chat-{width}.png"))
        ctx.close()


def test_bad_messages_get_a_sentence_in_the_chat_and_the_box_stays_usable(class_link, browser, tmp_path):
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.goto(class_link.local_url)
    page.get_by_label("Class password").fill("otters-42")
    page.get_by_role("button", name="Open the tutor").click()
    expect(page.get_by_placeholder("Type a science question…")).to_be_visible(timeout=30_000)
    box = page.get_by_role("textbox")  # the one box (its placeholder goes once the chat has messages)
    box.fill("x" * 4500)
    box.press("Enter")
    expect(page.get_by_text("the limit is 4,000")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)  # no red badge in place of the chat
    expect(box).to_be_enabled(timeout=30_000)
    box.fill("   ")
    box.press("Enter")
    expect(page.get_by_text("Your message is empty.")).to_be_visible(timeout=30_000)
    expect(box).to_be_enabled(timeout=30_000)
    box.fill("Which is heavier, 3 kg or 5 kg?")
    box.press("Enter")
    expect(page.get_by_text("Which is heavier, 3 kg or 5 kg?")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("the limit is 4,000")).to_be_visible()  # the conversation stays
    expect(box).to_be_enabled(timeout=60_000)
    page.screenshot(path=str(tmp_path / "class-bad-input.png"))
