"""The class link's Practice tab, through gradio_client against the real class-link process (started the
way the Tutor page starts it): a student joins, answers right and wrong, climbs the hint ladder, gets a
streamed explanation and a follow-up, and sees their result; bad codes, nicknames, answers and closed
sessions get one plain sentence; the link offers no teacher action; a restart of the class link in the
middle of a session loses no answer."""

from __future__ import annotations

import json

import pytest

import classroom_launcher
from classroom_practice import WAITING
from conftest import make_questions
from core.models.tiny import create_tiny
from core.practice import report, sessions


@pytest.fixture(scope="module")
def link(tmp_path_factory):
    home = tmp_path_factory.mktemp("practice-home")
    model = create_tiny(make_questions(120), home / "tiny-xs", size="xs", seed=0)
    data = home / "questions.jsonl"
    data.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(30)), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SQA_STUDIO_HOME", str(home))
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        classroom_launcher.start(str(model), share=False, max_new_tokens=6, rate=20)
        try:
            yield classroom_launcher.wait_until_serving(120), str(data), str(model), home
        finally:
            classroom_launcher.stop()


@pytest.fixture(autouse=True)
def same_home(link, monkeypatch):
    """The tests act as the teacher on the class link's own app home."""
    monkeypatch.setenv("SQA_STUDIO_HOME", str(link[3]))


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def refused(c, *args, api: str) -> str:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as e:
        c.predict(*args, api_name=api)
    return str(e.value)


def test_a_student_practises_a_session_on_the_class_link(link):
    url, data = link[0].local_url, link[1]
    s = sessions.create(data, n=3, seed=2)
    c = client(url)
    joined = c.predict(s.code.lower(), "Sam", api_name="/practice_join")
    token = joined["token"]
    assert joined["nickname"] == "Sam" and joined["n"] == 3
    q = c.predict(s.code, token, api_name="/practice_question")
    assert q["index"] == 0 and not q["done"] and q["choices"][0].startswith("(A) ")
    hint = c.predict(s.code, token, 0, api_name="/practice_hint")
    assert hint["step"] == 1 and hint["text"]
    right = s.questions[0].answer
    a = c.predict(s.code, token, 0, "ABCDE"[right], api_name="/practice_answer")
    assert a["correct"] and a["message"].startswith("Right!")
    wrong = (s.questions[1].answer + 1) % len(s.questions[1].choices)
    a = c.predict(s.code, token, 1, str(wrong), api_name="/practice_answer")
    assert not a["correct"] and "The right answer is" in a["message"]
    job = c.submit(s.code, token, 1, api_name="/practice_explain")
    job.result()
    assert [o for o in job.outputs() if not o.startswith(WAITING)]  # it streamed the tutor's text
    assert isinstance(c.predict(s.code, token, 1, "Why?", api_name="/practice_ask"), str)
    assert "after a wrong answer" in refused(c, s.code, token, 0, api="/practice_explain")
    c.predict(s.code, token, 2, "0", api_name="/practice_answer")
    assert c.predict(s.code, token, api_name="/practice_question")["done"]
    result = c.predict(s.code, token, api_name="/practice_result")
    assert result["total"] == 3 and result["answered"] == 3 and s.questions[1].skill in result["review"]
    view = report.class_view(s.code)
    assert view.nicknames == ["Sam"] and view.answers == 3 and view.questions[0]["hints used"] == 1


def test_bad_codes_nicknames_answers_and_closed_sessions_get_one_plain_sentence(link):
    url, data = link[0].local_url, link[1]
    s = sessions.create(data, n=2)
    c = client(url)
    for code in ("ZZZZZZ", "", "../../etc"):
        assert refused(c, code, "Kim", api="/practice_join").startswith("There is no practice session")
    token = c.predict(s.code, "Kim", api_name="/practice_join")["token"]
    assert "is taken" in refused(c, s.code, "KIM", api="/practice_join")
    assert refused(c, s.code, "<>", api="/practice_join").startswith("Type a nickname")
    assert refused(c, s.code, token, 0, "7", api="/practice_answer").startswith("Pick one of the options")
    assert refused(c, s.code, token, 9, "0", api="/practice_answer").startswith("There is no question")
    assert refused(c, s.code, "forged.token", 0, "0", api="/practice_answer").startswith("You are not in")
    c.predict(s.code, token, 0, "0", api_name="/practice_answer")
    assert "already answered" in refused(c, s.code, token, 0, "1", api="/practice_answer")
    sessions.stop(s.code)
    assert refused(c, s.code, token, 1, "0", api="/practice_answer").startswith("This practice session has ended")
    assert refused(c, s.code, "Lee", api="/practice_join").startswith("This practice session has ended")


def test_the_class_link_offers_no_teacher_action_and_shows_no_other_student(link):
    url, data = link[0].local_url, link[1]
    s = sessions.create(data, n=2)
    c = client(url)
    a = c.predict(s.code, "Ann", api_name="/practice_join")["token"]
    c.predict(s.code, "Bob", api_name="/practice_join")
    c.predict(s.code, a, 0, "0", api_name="/practice_answer")
    names = " ".join(c.view_api(return_format="dict", print_info=False)["named_endpoints"]).lower()
    assert not any(w in names for w in ("start", "stop", "delete", "export", "list", "show", "view"))
    seen = json.dumps([c.predict(s.code, a, api_name="/practice_result"),
                       c.predict(s.code, a, api_name="/practice_question")])
    assert "Bob" not in seen and "secret" not in seen


def test_a_restart_of_the_class_link_mid_session_loses_no_answer(link):
    url, data, model = link[0].local_url, link[1], link[2]
    s = sessions.create(data, n=3)
    c = client(url)
    token = c.predict(s.code, "Ria", api_name="/practice_join")["token"]
    c.predict(s.code, token, 0, "0", api_name="/practice_answer")
    c.predict(s.code, token, 1, api_name="/practice_hint")
    classroom_launcher.start(model, share=False, max_new_tokens=6, rate=20)  # stops the running link first
    again = classroom_launcher.wait_until_serving(120)
    c = client(again.local_url)
    assert c.predict(s.code, token, api_name="/practice_question")["index"] == 1
    c.predict(s.code, token, 1, "1", api_name="/practice_answer")
    view = report.class_view(s.code)
    assert view.answers == 2 and view.questions[1]["hints used"] == 1 and view.nicknames == ["Ria"]


def test_joins_are_rate_limited_per_address(link):
    """Kept last: it spends this address's joins for a minute (a wrong-code guesser stops here)."""
    url, data = classroom_launcher.status().local_url, link[1]
    s = sessions.create(data, n=1)
    c = client(url)
    messages = [refused(c, "ZZZZZZ", f"guess {i}", api="/practice_join") for i in range(31)]  # 30 a minute pass
    assert messages[0].startswith("There is no practice session") and messages[-1].startswith("Slow down")
    assert refused(c, s.code, "Honest", api="/practice_join").startswith("Slow down")
