"""A practice session in real headless Chromium: on the class link's Practice tab a student joins with the
code, takes a hint, answers three questions (one wrong: the tutor's explanation streams in), sees the
score and the skill to review; the teacher's Practice page shows the student, the answers and the hint.
Pictures at 1366 and 390 px wide."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

import classroom_launcher
from core.practice import report, sessions
from tests.conftest import make_questions
from tests.e2e.conftest import wait_streamlit_idle

pytestmark = pytest.mark.e2e


@pytest.fixture
def class_link(studio_home, monkeypatch):
    from core.models.tiny import create_tiny

    model = create_tiny(make_questions(120), studio_home / "tiny-xs", size="xs", seed=0)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    classroom_launcher.start(str(model), share=False, max_new_tokens=8, rate=10)
    try:
        yield classroom_launcher.wait_until_serving(120), model
    finally:
        classroom_launcher.stop()


def student_page(browser, url: str, width: int):
    ctx = browser.new_context(viewport={"width": width, "height": 900 if width > 500 else 844})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.get_by_role("tab", name="Practice").click()
    return ctx, page


def answer(page, label: str) -> None:
    page.get_by_label(label, exact=True).check()
    page.get_by_role("button", name="Answer", exact=True).click()


def test_a_student_completes_a_session_and_the_teacher_sees_it(class_link, browser, app_server, tmp_path):
    link, model = class_link
    s = sessions.create("sample", n=3, model=str(model), seed=4)
    report.model_answers(s.code)
    qs = s.questions
    ctx, page = student_page(browser, link.local_url, 1366)
    page.get_by_label("Session code").fill(s.code.lower())
    page.get_by_label("Nickname").fill("Robin")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text("Welcome, Robin!")).to_be_visible()
    expect(page.get_by_text("Question 1 of 3")).to_be_visible()
    page.get_by_role("button", name="Hint").click()
    expect(page.get_by_text(re.compile(r"Hint \(1 of 3\)"))).to_be_visible()
    answer(page, f"(ABC) {qs[0].choices[qs[0].answer]}".replace("(ABC)", f"({'ABCDE'[qs[0].answer]})"))
    expect(page.get_by_text(re.compile(r"^Right! \("))).to_be_visible()
    page.get_by_role("button", name="Next question").click()
    expect(page.get_by_text("Question 2 of 3")).to_be_visible()
    wrong = (qs[1].answer + 1) % len(qs[1].choices)
    answer(page, f"({'ABCDE'[wrong]}) {qs[1].choices[wrong]}")
    expect(page.get_by_text(re.compile(r"^Not quite: you chose"))).to_be_visible()
    expect(page.locator(".message.bot").first).to_have_text(re.compile(r"\S"), timeout=60_000)  # the explanation
    expect(page.get_by_label("Ask the tutor about this question")).to_be_visible()
    page.screenshot(path=str(tmp_path / "practice-wrong-1366.png"), full_page=True)
    page.get_by_role("button", name="Next question").click()
    expect(page.get_by_text("Question 3 of 3")).to_be_visible()
    answer(page, f"({'ABCDE'[qs[2].answer]}) {qs[2].choices[qs[2].answer]}")
    page.get_by_role("button", name="Next question").click()
    expect(page.get_by_text("You got 2 of 3 right.")).to_be_visible()
    expect(page.get_by_text(qs[1].skill).last).to_be_visible()
    page.screenshot(path=str(tmp_path / "practice-done-1366.png"), full_page=True)
    ctx.close()

    # a second student on a phone: joining and the first question fit 390 px
    ctx, phone = student_page(browser, link.local_url, 390)
    phone.get_by_label("Session code").fill(s.code)
    phone.get_by_label("Nickname").fill("robin")
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_text("is taken in this session")).to_be_visible()
    phone.get_by_label("Nickname").fill("Kai")
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_text("Question 1 of 3")).to_be_visible()
    phone.screenshot(path=str(tmp_path / "practice-question-390.png"), full_page=True)
    ctx.close()

    url = app_server()
    for width in (1366, 390):
        tctx = browser.new_context(viewport={"width": width, "height": 1000})
        teacher = tctx.new_page()
        teacher.set_default_timeout(60_000)
        teacher.goto(f"{url}/Practice")
        wait_streamlit_idle(teacher, 60_000)
        expect(teacher.get_by_text(re.compile(r"Joined: Robin, Kai"))).to_be_visible(timeout=60_000)
        expect(teacher.get_by_text("3 of 6", exact=True)).to_be_visible(timeout=60_000)  # 2 students x 3 questions
        expect(teacher.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
        teacher.get_by_text("Per skill").first.scroll_into_view_if_needed()
        teacher.screenshot(path=str(tmp_path / f"practice-teacher-{width}.png"), full_page=True)
        tctx.close()
    view = report.class_view(s.code)
    assert view.answers == 3 and view.questions[0]["hints used"] == 1 and view.questions[1]["correct"] == 0
