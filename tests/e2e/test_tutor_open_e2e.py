"""The Tutor page in a real browser with a model trained a few steps in the tutor format (the real worker):
it says what the model can do, and it answers an open question (no options) with a reply."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.evaluation.capability import capability_note
from core.home import area
from core.jobs import runs
from core.models.catalogue import display_name
from core.training.recipes import build_config
from core.training.worker import run_worker
from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e


@pytest.fixture
def tutor_run(tiny_model_dir, studio_home, shared_scienceqa):
    cfg = build_config(str(tiny_model_dir), str(shared_scienceqa / "original"), recipe="tiny", fmt="tutor",
                       batch_size=8, epochs=1, eval_every=100, save_every=100, eval_examples=4, compile=False)
    run_dir = runs.create_run(area("runs"), cfg.to_dict(), name="tutor1")
    assert run_worker(run_dir) == 0, runs.log_tail(run_dir)
    assert runs.read_status(run_dir).state == "done"
    return "run:tutor1"


def test_the_tutor_answers_an_open_question_and_says_what_it_can_do(app_server, page, tutor_run, tmp_path):
    note = capability_note(tutor_run)
    assert "trained from scratch here in the tutor format" in note
    base = app_server()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{base}/Tutor")
    wait_streamlit_idle(page, timeout=90_000)
    expect(page.get_by_role("combobox", name="Model")).to_have_value(display_name(tutor_run))  # shown by its label
    expect(page.get_by_text(note)).to_be_visible(timeout=60_000)
    page.screenshot(path=str(tmp_path / "tutor-note-1366.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    wait_streamlit_idle(page)
    page.screenshot(path=str(tmp_path / "tutor-note-390.png"))
    page.set_viewport_size({"width": 1366, "height": 768})
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Why is the sky blue?")
    box.press("Enter")
    messages = page.get_by_test_id("stChatMessage")
    expect(messages).to_have_count(2, timeout=60_000)
    page.get_by_text("tokens in").first.wait_for(timeout=90_000)  # the reply finished; its stats are shown
    wait_streamlit_idle(page)
    reply = messages.nth(1).inner_text()
    assert reply.strip() and "no answer" not in reply
    page.screenshot(path=str(tmp_path / "tutor-open-1366.png"), full_page=True)
