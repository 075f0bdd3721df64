"""The class link (classroom.py): a real Gradio server started the way the Tutor page starts it,
driven through gradio_client on localhost. It answers; it has one public endpoint and serves no
files; it needs its password; long input and control characters are handled; 30 students at once
all get answers; the Hub token never reaches its log or the app's home."""

from __future__ import annotations

import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import classroom
import classroom_launcher
from conftest import make_questions
from core.home import PROJECT_ROOT
from core.jobs import lifecycle
from core.models.tiny import create_tiny
from core.serving.endpoint import NOTICE

CANARY = "hf_CANARY_classroom_0123456789"
AUTH = ("student", "class-pw")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("class-home")
    model = create_tiny(make_questions(120), home / "tiny-xs", size="xs", seed=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SQA_STUDIO_HOME", str(home))
        mp.setenv("HF_TOKEN", CANARY)
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        classroom_launcher.start(str(model), share=True, password=AUTH[1], max_new_tokens=4, rate=4)
        try:
            link = classroom_launcher.wait_until_serving(120)
            yield link, home, model
        finally:
            classroom_launcher.stop()


def client(link):
    from gradio_client import Client

    return Client(link.local_url, auth=AUTH, verbose=False, analytics_enabled=False, download_files=False)


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_without_internet_the_share_link_is_reported_and_the_local_address_given(server):
    link, _, _ = server
    assert link.state == "running" and link.share_url is None and link.password
    assert "cannot be reached" in link.share_error
    assert link.local_url.startswith("http://127.0.0.1:")


def test_the_class_link_answers_a_question(server):
    c = client(server[0])
    answer = c.predict(message="Which is heavier, 3 kg or 5 kg?", api_name="/chat")
    assert isinstance(answer, str) and answer


def test_the_class_link_answers_from_a_lesson_and_says_which(server):
    answer = client(server[0]).predict(message="Is a rock a solid, a liquid or a gas?", api_name="/chat")
    assert answer.rstrip().endswith("*From the lesson: States of matter*")


def test_the_class_link_needs_its_password(server):
    from gradio_client import Client

    with pytest.raises(Exception):
        Client(server[0].local_url, auth=("student", "wrong"), verbose=False, analytics_enabled=False)
    assert fetch(server[0].local_url + "config") == 401


PRACTICE = {"practice_join", "practice_question", "practice_answer", "practice_hint", "practice_explain",
            "practice_ask", "practice_result"}  # the Practice tab's student actions (classroom_practice.py)


def test_the_class_link_exposes_only_the_chat_and_practice(server):
    c = client(server[0])
    api = c.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/chat"} | {f"/{n}" for n in PRACTICE} and not api["unnamed_endpoints"]
    config = c.config
    public = [d.get("api_name") for d in config["dependencies"] if d.get("api_visibility") == "public"]
    assert sorted(public) == sorted({"chat"} | PRACTICE)
    kinds = {comp["type"] for comp in config["components"]}
    chatbot = next(comp for comp in config["components"] if comp["type"] == "chatbot")
    assert chatbot["props"]["buttons"] == ["copy", "copy_all"]  # Gradio's default adds "share"
    assert not kinds & {"file", "uploadbutton", "files", "fileexplorer", "image", "dataframe"}
    names = " ".join(str(d.get("api_name")) for d in config["dependencies"]).lower()
    assert not any(word in names for word in ("train", "runs", "push", "upload", "file", "subset", "evaluat"))


def test_the_class_link_serves_no_files(server):
    link, home, model = server
    base = link.local_url.rstrip("/")
    targets = [PROJECT_ROOT / "core" / "hub.py", PROJECT_ROOT / "requirements.txt", model / "config.json",
               home / "classroom" / "log.txt", Path.home() / ".bashrc", Path("/etc/passwd")]
    for target in targets:
        for prefix in ("/gradio_api/file=", "/file="):
            assert fetch(base + prefix + str(target)) in (401, 403, 404), f"{prefix}{target} was served"


def test_the_class_link_accepts_no_uploads(server):
    import httpx

    link, home, _ = server
    with httpx.Client(base_url=link.local_url, timeout=10) as http:
        assert http.post("login", data={"username": AUTH[0], "password": AUTH[1]}).status_code == 200
        assert http.get("config").status_code == 200  # logged in: the refusal below is not about the password
        for path in ("gradio_api/upload", "upload"):
            r = http.post(path, files={"files": ("x.txt", b"hello", "text/plain")})
            assert r.status_code in (404, 405), f"POST /{path} answered {r.status_code}"
    assert not list(home.rglob("x.txt"))


def test_empty_and_over_long_messages_get_one_sentence_in_the_chat_not_an_error(server):
    c = client(server[0])
    too_long = c.predict(message="x" * 5000, api_name="/chat")  # an answer, not an exception (no red badge)
    assert too_long.startswith(NOTICE) and "limit is 4,000" in too_long and "\n" not in too_long
    empty = c.predict(message="   ", api_name="/chat")
    assert empty.startswith(NOTICE) and "empty" in empty
    answer = c.predict(message="What\x00 is<|assistant_end|> mass?\x1b[31m\u202e", api_name="/chat")
    assert isinstance(answer, str) and not answer.startswith(NOTICE)  # the same student asks on


def test_thirty_students_at_once_all_get_answers(server):
    link = server[0]

    def student(i: int) -> str:
        return client(link).predict(message=f"Question {i}: which is heavier, {i} kg or {i + 1} kg?",
                                    api_name="/chat")

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(student, range(30)))
    assert len(answers) == 30 and all(isinstance(a, str) and a for a in answers)


def test_one_student_is_rate_limited(server):
    c = client(server[0])
    answers = [c.predict(message=f"q{i}", api_name="/chat") for i in range(5)]  # 4 a minute per student
    assert answers[-1].startswith(NOTICE) and "Slow down" in answers[-1]
    assert not any(a.startswith(NOTICE) for a in answers[:4])


def test_the_hub_token_never_reaches_the_log_or_the_home_folder(server):
    _, home, _ = server
    client(server[0]).predict(message="hello", api_name="/chat")
    for path in home.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    for pid_env in Path(f"/proc/{server[0].pid}/environ").read_bytes().split(b"\0"):
        assert CANARY.encode() not in pid_env


def test_the_sign_in_page_asks_only_for_the_password(server):
    import re

    base = server[0].local_url.rstrip("/")
    with urllib.request.urlopen(base + "/", timeout=10) as r:
        page = r.read().decode()
    inputs = re.findall(r"<input[^>]*>", page)
    assert len(inputs) == 1 and 'type="password"' in inputs[0]
    assert "Class password" in page and "username" not in page.replace('username: "student"', "")
    assert "Wrong password" in page  # the message a wrong try shows, in plain words
    request = urllib.request.Request(base + "/login", data=b"username=student&password=wrong", method="POST")
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("a wrong password was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400
    assert fetch(base + "/config") == 401  # the page is only a form: the app stays behind Gradio's check


def test_the_class_link_says_what_its_model_can_do(server):
    import json

    config = json.dumps(client(server[0]).config)
    assert "About this tutor: Model trained from scratch, not fine-tuned for the tutor" in config


def test_stop_ends_the_server(server, monkeypatch):  # last: it stops the module's server
    link, home, _ = server
    monkeypatch.setenv("SQA_STUDIO_HOME", str(home))
    assert classroom_launcher.status().state == "running"
    classroom_launcher.stop()
    assert classroom_launcher.status() is None and not lifecycle.pid_alive(link.pid)


def test_gradio_history_parts_become_the_conversation_the_model_sees():
    history = [{"role": "user", "content": [{"type": "text", "text": "What is mass?"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "How much matter."}], "metadata": None},
               {"role": "user", "content": "plain string"},
               {"role": "assistant", "content": [{"type": "component", "component": "image", "value": {}}]}]
    assert classroom.history_messages(history) == [
        {"role": "user", "content": "What is mass?"}, {"role": "assistant", "content": "How much matter."},
        {"role": "user", "content": "plain string"}]


def test_the_apps_notices_and_the_messages_they_refused_stay_out_of_the_models_history():
    history = [{"role": "user", "content": "x" * 5000},
               {"role": "assistant", "content": NOTICE + "Your message is 5,000 characters long; the limit is 4,000."},
               {"role": "user", "content": "What is mass?"},
               {"role": "assistant", "content": NOTICE + "The tutor server at h:1 cannot be reached. This answer "
                                                "comes from the model on this machine instead.\n\nHow much matter."}]
    assert classroom.history_messages(history) == [
        {"role": "user", "content": "What is mass?"}, {"role": "assistant", "content": "How much matter."}]
