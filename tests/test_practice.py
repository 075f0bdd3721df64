"""Practice sessions in core (core.practice) and on the command line: a round trip on a tiny model,
bad input from students, closed sessions, and public mode refusing every teacher action."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from conftest import make_questions
from core import access
from core.__main__ import main
from core.data.records import Question
from core.errors import StudioError
from core.practice import explain, questions, report, sessions, student_actions


@pytest.fixture
def source(tmp_path) -> str:
    """A small source file: the toy questions plus an image question without a caption."""
    rows = [q.to_dict() for q in make_questions(30)]
    rows.append(Question(pid="img", question="Which animal is shown?", choices=["cat", "dog"], answer=0,
                         split="test", has_image=True, grade="grade3", subject="natural science").to_dict())
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def right_and_wrong(q: Question) -> tuple[int, int]:
    return q.answer, (q.answer + 1) % len(q.choices)


def test_a_session_round_trip_on_a_tiny_model(source, tiny_model_dir, studio_home, tmp_path):
    from core.serving.chat import ChatSettings, get_model

    s = sessions.create(source, n=3, model=str(tiny_model_dir), seed=1)
    assert re.fullmatch(r"[A-Z0-9]{4,8}", s.code) and s.n == 3
    token, student = student_actions.join(s.code, "  Ada\x00 <b>L</b> ")
    assert student.nickname == "Ada bLb"
    q0, q1 = s.questions[0], s.questions[1]
    # a hint ladder before answering: each step recorded, the last is the solution
    steps = [student_actions.take_hint(s.code.lower(), token, 0)[1] for _ in range(4)]
    assert steps == [1, 2, 3, 3]
    assert explain.hint_text(q0, 3) == q0.solution.strip()
    _, _, c, ok = student_actions.answer(s.code, token, 0, right_and_wrong(q0)[0])
    assert ok and c == q0.answer and explain.why_sentence(q0)
    _, _, c, ok = student_actions.answer(s.code, token, "1", "ABCDE"[right_and_wrong(q1)[1]])
    assert not ok and c == right_and_wrong(q1)[1]
    # the explanation of the wrong answer is generated with the row's own lecture and solution as context
    messages = explain.explanation_messages(q1, c)
    assert q1.lecture in messages[0]["content"] and q1.solution in messages[0]["content"]
    events = list(explain.stream_events(get_model(tiny_model_dir), messages,
                                        ChatSettings(max_new_tokens=4, temperature=0)))
    assert events and all(kind in ("wait", "text") for kind, _ in events)
    session, me = student_actions.me(s.code, token)
    result = report.student_result(session, me)
    assert (result.answered, result.correct, result.total) == (2, 1, 3)
    assert result.review == [q1.skill] and q1.skill in result.practised
    # the teacher's view and the model's own answers (cached in the session folder)
    model = report.model_answers(s.code)
    assert set(model["answers"]) == {"0", "1", "2"} and (studio_home / "practice" / s.code / "model.json").exists()
    view = report.class_view(s.code)
    assert view.nicknames == ["Ada bLb"] and view.answers == 2
    assert view.questions[0]["hints used"] == 1 and view.questions[0]["hint steps"] == 3
    assert view.questions[1]["accuracy"] == 0.0 and view.questions[1]["most chosen wrong"].endswith("×1")
    assert view.questions[0]["model answer"].startswith("(")
    rows = list(csv.DictReader(io.StringIO(report.to_csv(s.code))))
    assert [(r["nickname"], r["question"], r["correct"]) for r in rows] == [("Ada bLb", "1", "True"),
                                                                          ("Ada bLb", "2", "False")]
    path = report.export_csv(s.code, tmp_path / "out.csv")
    assert path.read_text().startswith("nickname,")
    sessions.delete(s.code)
    assert not (studio_home / "practice" / s.code).exists()
    with pytest.raises(StudioError, match="no practice session"):
        student_actions.join(s.code, "Bo")


def test_questions_needing_an_uncaptioned_picture_are_left_out_and_filters_apply(source):
    drawn = questions.draw(source, n=50)
    assert drawn and "img" not in [q.pid for q in drawn] and all(q.split == "test" for q in drawn)
    assert questions.draw(source, n=5, seed=3) == questions.draw(source, n=5, seed=3)
    graded = questions.draw(source, n=50, grades="3-5", subject="Language Science")
    assert graded and all(3 <= q.grade_number <= 5 and q.subject == "language science" for q in graded)
    pic = dict(question="Which animal is shown?", choices=["zebra", "horse"], answer=0, has_image=True)
    named = Question(pid="a", caption="A zebra standing in tall grass.", **pic)
    vague = Question(pid="b", caption="A painting of an animal on top of a green field.", **pic)
    assert [q.pid for q in questions.eligible([named, vague])] == ["a"]  # a caption that names a choice stands in
    for bad in ("14", "5-3", "x"):
        with pytest.raises(StudioError, match="Grades"):
            questions.draw(source, n=3, grades=bad)
    with pytest.raises(StudioError, match="1 to 50"):
        questions.draw(source, n=0)


def test_students_get_one_plain_sentence_for_bad_input(source):
    s = sessions.create(source, n=2)
    for code in ("", "nope", "AB", "ZZZZZZ", "../etc", "A" * 30, None):
        with pytest.raises(StudioError, match="^There is no practice session with that code"):
            student_actions.join(code, "Kim")
    token, _ = student_actions.join(s.code, "Kim")
    with pytest.raises(StudioError, match="nickname 'kim' is taken"):
        student_actions.join(s.code, "kim")
    assert student_actions.join(s.code, "-A1 '=x")[1].nickname == "A1 'x"  # nothing a spreadsheet would run
    for nick in ("", "   ", "\x00\x01", "<>", "-- .."):
        with pytest.raises(StudioError, match="Type a nickname"):
            student_actions.join(s.code, nick)
    assert len(student_actions.join(s.code, "x" * 100)[1].nickname) == student_actions.MAX_NICKNAME
    n = len(s.questions[0].choices)
    for choice in (n, -1, "Z", "1.5", "", None, 10**9):
        with pytest.raises(StudioError, match="^Pick one of the options A to"):
            student_actions.answer(s.code, token, 0, choice)
    for index in (5, -1, "x"):
        with pytest.raises(StudioError, match="^There is no question"):
            student_actions.answer(s.code, token, index, 0)
    for bad in ("", "abc", token[:-1] + "x", "0" * 12 + ".secret"):
        with pytest.raises(StudioError, match="^You are not in this practice session"):
            student_actions.answer(s.code, bad, 0, 0)
    with pytest.raises(StudioError, match="in order"):
        student_actions.answer(s.code, token, 1, 0)
    student_actions.answer(s.code, token, 0, 0)
    with pytest.raises(StudioError, match="already answered"):
        student_actions.answer(s.code, token, 0, 1)
    assert report.class_view(s.code).nicknames == ["Kim", "A1 'x", "x" * student_actions.MAX_NICKNAME]


def test_a_closed_or_expired_session_takes_no_more_answers(source, studio_home):
    s = sessions.create(source, n=2)
    token, _ = student_actions.join(s.code, "Kim")
    student_actions.answer(s.code, token, 0, 0)
    sessions.stop(s.code)
    for act in (lambda: student_actions.answer(s.code, token, 1, 0), lambda: student_actions.join(s.code, "Lee"),
                lambda: student_actions.take_hint(s.code, token, 1)):
        with pytest.raises(StudioError, match="^This practice session has ended"):
            act()
    assert report.class_view(s.code).answers == 1  # the answers stay
    other = sessions.create(source, n=2)
    meta = json.loads((studio_home / "practice" / other.code / "session.json").read_text())
    meta["expires"] = 0
    (studio_home / "practice" / other.code / "session.json").write_text(json.dumps(meta))
    with pytest.raises(StudioError, match="^This practice session has ended"):
        student_actions.join(other.code, "Kim")
    assert sessions.load(other.code).status == "expired"


def test_public_mode_refuses_every_teacher_action_to_a_visitor(source, monkeypatch, tmp_path):
    s = sessions.create(source, n=2)
    token, _ = student_actions.join(s.code, "Kim")
    monkeypatch.setenv(access.ENV_VAR, "s3cret")
    visitor = access.Actor(address="1.2.3.4")
    for act in (lambda: sessions.create("sample", n=2, actor=visitor),
                lambda: sessions.list_sessions(visitor), lambda: sessions.stop(s.code, visitor),
                lambda: sessions.delete(s.code, visitor), lambda: sessions.students(s.code, visitor),
                lambda: report.class_view(s.code, visitor), lambda: report.to_csv(s.code, visitor),
                lambda: report.export_csv(s.code, tmp_path / "x.csv", visitor),
                lambda: report.model_answers(s.code, "tiny", actor=visitor)):
        with pytest.raises(StudioError, match="needs the admin password"):
            act()
    # a student still joins and answers (no actor needed), and the admin may do it all
    student_actions.answer(s.code, token, 0, 0)
    student_actions.join(s.code, "Lee")
    admin = access.sign_in("1.2.3.4", "s3cret")
    assert report.class_view(s.code, admin).answers == 1
    sessions.stop(s.code, admin)
    sessions.delete(s.code, admin)


def test_the_command_line_starts_shows_exports_stops_and_deletes(source, capsys, tmp_path):
    assert main(["practice", "start", "--data", source, "--n", "2", "--grade", "1-12"]) == 0
    code = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Z0-9]{4,8}", code)
    token, _ = student_actions.join(code, "Kim")
    student_actions.answer(code, token, 0, 0)
    assert main(["practice", "list"]) == 0 and code in capsys.readouterr().out
    assert main(["practice", "show", code]) == 0 and "1 joined, 1 answers" in capsys.readouterr().out
    assert main(["practice", "export", code, "--csv", str(tmp_path / "a.csv")]) == 0
    assert (tmp_path / "a.csv").read_text().count("\n") == 2
    assert main(["practice", "stop", code]) == 0 and "closed" in capsys.readouterr().out
    assert main(["practice", "delete", code]) == 0
    capsys.readouterr()
    assert main(["practice", "show", code]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["practice", "start", "--data", source, "--n", "99"]) == 2


def test_an_explanation_that_names_a_wrong_answer_is_caught_and_corrected_from_the_source():
    q = Question(pid="r", question="Which word rhymes with drink?", choices=["brain", "think"], answer=1,
                 solution="The words drink and think rhyme. They both end with the ink sound.")
    assert explain.wrong_claim(q, 'The correct answer is "drunk." The reason is...')
    assert explain.wrong_claim(q, "The correct answer is (A). Brain rhymes.")
    assert not explain.wrong_claim(q, 'The correct answer is "think" because both end with ink.')
    assert not explain.wrong_claim(q, "The right answer is (B).") and not explain.wrong_claim(q, "Rhymes end alike.")
    assert "The right answer is \"think\". The words drink and think rhyme." in explain.correction(q)
    user = explain.explanation_messages(q, 0)[1]["content"]
    assert '"brain"' in user and '"think"' in user and "(A)" not in user  # options by their text


def test_a_student_waiting_for_the_device_is_told_their_place(tiny_model_dir):
    import threading

    from core.serving.chat import ChatSettings, get_model
    from core.serving.turns import device_queue

    loaded = get_model(tiny_model_dir)
    q = make_questions(3)[0]
    line = device_queue(loaded.device)
    ticket = line.enter()  # another student's explanation holds the device
    events: list = []

    def read() -> None:
        events.extend(explain.stream_events(loaded, explain.explanation_messages(q, 1 - q.answer),  # one by one
                                            ChatSettings(max_new_tokens=3, temperature=0)))

    reader = threading.Thread(target=read)
    try:
        reader.start()
        reader.join(1.5)
        assert events == [("wait", 1)] and reader.is_alive()  # told their place while the device is held
    finally:
        line.leave(ticket)
    reader.join(60)
    assert events[1] == ("wait", 0) and any(kind == "text" for kind, _ in events)


def test_a_student_who_leaves_cancels_their_explanation_and_the_batch_lets_it_go(tiny_model_dir):
    import time

    from core.serving.batching import batcher_for
    from core.serving.chat import ChatSettings, get_model
    from core.serving.turns import device_queue

    loaded = get_model(tiny_model_dir)
    q = make_questions(3)[0]
    line = device_queue(loaded.device)
    ticket = line.enter()  # the device is busy: both students wait in the batch's line
    settings = ChatSettings(max_new_tokens=512, temperature=0)
    first = explain.stream_events(loaded, explain.explanation_messages(q, 1 - q.answer), settings)
    second = explain.stream_events(loaded, explain.explanation_messages(q, 1 - q.answer), settings)
    try:
        assert next(first) == ("wait", 1) and next(second) == ("wait", 2)  # each told their own place
        second.close()  # the second student closes the tab while waiting
        first.close()
        waiting = list(batcher_for(loaded)._waiting)
        assert len(waiting) == 2 and all(r.cancelled for r in waiting)  # both cancelled, before decoding
    finally:
        line.leave(ticket)
    deadline = time.monotonic() + 30
    while batcher_for(loaded).in_flight() != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert batcher_for(loaded).in_flight() == (0, 0)  # neither is decoded for nobody
