"""Tutor page in a real browser: a chat exchange with the xs tiny model (pre-created as the app's `tiny`)."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from core.serving.chat import example_questions
from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e
CANARY = "hf_CANARY_e2e_tutor_987654"


def test_chat_exchange_on_the_tutor_page(app_server, page, studio_home, tiny_model_dir, tmp_path):
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    base = app_server({"HF_TOKEN": CANARY})
    page.goto(f"{base}/Tutor")
    wait_streamlit_idle(page, timeout=90_000)
    expect(page.get_by_role("combobox", name="Model")).to_have_value("tiny")
    first_example = example_questions(1)[0][0].splitlines()[0]  # from the sample, as the page shows it
    page.get_by_role("button", name=first_example).first.wait_for()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Which is heavier, 3 kg or 5 kg?")
    box.press("Enter")
    messages = page.get_by_test_id("stChatMessage")
    expect(messages).to_have_count(2, timeout=60_000)
    expect(messages.nth(0)).to_contain_text("Which is heavier, 3 kg or 5 kg?")
    page.get_by_text("tokens in").first.wait_for(timeout=60_000)  # the reply finished; its stats are shown
    wait_streamlit_idle(page)
    expect(page.get_by_text("Share with a class")).to_be_visible()
    page.screenshot(path=str(tmp_path / "tutor-page.png"), full_page=True)
    assert CANARY not in page.content()
    for log in tmp_path.glob("streamlit-*.log"):
        assert CANARY not in log.read_text(errors="replace")
    for path in studio_home.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
