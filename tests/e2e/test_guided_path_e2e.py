"""The guided path in real headless Chromium, as a teacher who has never trained a model follows it:
from an empty app home, the home page's "next" step leads to Models (create the tiny model), then to
Train (launch a short run and see it finish), then to the Tutor, which answers with the fine-tuned
model. Only what the pages say and link to is used."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.home import area
from core.jobs import runs
from core.models.catalogue import display_name
from tests.e2e.conftest import launch_run, wait_streamlit_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def home_step(page, base: str, number: int, title: str):
    """Open the home page and return its guided step `number` (its box), checking its title."""
    page.goto(base)
    wait_streamlit_idle(page, timeout=90_000)
    box = page.locator(f".st-key-step_{number}")
    expect(box).to_contain_text(f"{number}. {title}")
    return box


def test_from_an_empty_home_to_a_fine_tuned_tutor(app_server, page, tmp_path):
    base = app_server()
    step = home_step(page, base, 2, "Get a model to start from")
    expect(step).to_contain_text("next")
    page.screenshot(path=str(tmp_path / "home-empty.png"))
    step.get_by_role("link", name="Open Models").click()

    # Models: create the tiny model (the smallest size, so the run below trains in seconds)
    wait_streamlit_idle(page, timeout=90_000)
    page.get_by_role("tab").filter(has_text="Tiny preset").click()
    page.locator("button").filter(has_text=re.compile(r"^xs$")).click()
    wait_streamlit_idle(page)
    page.get_by_role("button", name="Create tiny model").click()
    page.get_by_text("Tiny model (xs) ready").first.wait_for(timeout=90_000)

    step = home_step(page, base, 3, "Fine-tune it on the questions")
    expect(step).to_contain_text("next")
    step.get_by_role("link", name="Open Train").click()

    # Train: the simple form only; a name and six seconds of training
    wait_streamlit_idle(page, timeout=90_000)
    launch_run(page, "first tutor", "0.1")
    # .first: while the page reruns once the run ends, the old and the new header are both on screen a moment
    page.get_by_role("heading", name=re.compile(r"first tutor \(.*\).*done")).first.wait_for(timeout=240_000)
    run = runs.list_runs(area("runs"))[0]
    assert run.status.state == "done" and run.model_path is not None and run.config["label"] == "first tutor"

    step = home_step(page, base, 3, "Fine-tune it on the questions")
    expect(step).to_contain_text("done")
    tutor = home_step(page, base, 5, "Tutor your class")
    expect(tutor).to_contain_text(f"run:{run.name}")
    page.screenshot(path=str(tmp_path / "home-trained.png"))
    tutor.get_by_role("link", name="Open Tutor").click()

    # Tutor: the fine-tuned model is the one chosen, and it answers
    wait_streamlit_idle(page, timeout=90_000)
    expect(page.get_by_role("combobox", name="Model")).to_have_value(display_name(f"run:{run.name}"))  # by its one name
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Which is heavier, 3 kg or 5 kg?")
    box.press("Enter")
    expect(page.get_by_test_id("stChatMessage")).to_have_count(2, timeout=60_000)
    page.get_by_text("tokens in").first.wait_for(timeout=60_000)
