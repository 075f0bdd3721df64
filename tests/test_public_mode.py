"""Public mode holds: every state-changing or device-spending action is refused for a visitor, inside
core (the entry points directly) and on every page (AppTest), and works after the admin password."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import make_questions
from core import access
from core.errors import StudioError
from core.home import PROJECT_ROOT, area
from core.jobs import runs
from core.training.recipes import build_config

PAGES = PROJECT_ROOT / "views"
VISITOR = access.Actor(address="203.0.113.9")
REFUSED = "needs the admin password"


@pytest.fixture
def public(monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    monkeypatch.setattr(access, "_process_actor", None)  # this test process is not the command line


@pytest.fixture
def tiny_here(tiny_model_dir, studio_home):
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    return "tiny"


def finished_run(name: str = "r1") -> Path:
    d = runs.create_run(area("runs"), build_config("tiny", "sample", recipe="tiny").to_dict(), name=name)
    runs.write_status(d, state="stopped", pid=None, step=3, total=6)
    return d


def running_run(name: str = "live") -> Path:
    d = runs.create_run(area("runs"), build_config("tiny", "sample", recipe="tiny").to_dict(), name=name)
    runs.write_status(d, state="running", pid=os.getpid(), step=1, total=6)  # this process is alive
    return d


# ---- the core entry points ---------------------------------------------------------------------------

def test_every_core_entry_point_refuses_a_visitor(public, tiny_here, tmp_path):
    import classroom_launcher
    from core.data.sources import load_source
    from core.data.subsets import delete_subset, save_subset
    from core.evaluation.jobs import EvalRequest, start_eval
    from core.evaluation.publish import push_run
    from core.models import obtain
    from core.models.families.nanochat.convert import convert_checkpoint
    from core.models.tiny import create_tiny
    from core.training.jobs import resume_training, start_training

    stopped, live = finished_run(), running_run()
    (area("subsets") / "keep").mkdir(parents=True)
    (area("subsets") / "keep" / "manifest.json").write_text("{}")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("{}\n")
    cfg = build_config("tiny", "sample", recipe="tiny", minutes=0.1)
    refused = {
        "train": lambda: start_training(cfg, actor=VISITOR),
        "resume": lambda: resume_training(stopped, actor=VISITOR),
        "stop": lambda: runs.request_stop(live, actor=VISITOR),
        "cancel": lambda: runs.request_stop(live, cancel=True, actor=VISITOR),
        "delete run": lambda: runs.delete_run(stopped, actor=VISITOR),
        "create tiny": lambda: obtain.ensure_tiny(size="xs", overwrite=True, actor=VISITOR),
        "create tiny (direct)": lambda: create_tiny(make_questions(8), tmp_path / "t"),
        "download": lambda: obtain.resolve_model("someone/nanochat-x", actor=VISITOR),
        "server folder": lambda: obtain.resolve_model(str(tmp_path), actor=VISITOR),
        "convert": lambda: convert_checkpoint(tmp_path, tmp_path / "out"),
        "import": lambda: obtain.adopt_transformers_folder(tmp_path, tmp_path / "x", "x"),
        "eval of an absent model": lambda: start_eval(EvalRequest(model="someone/absent", data="sample"),
                                                      actor=VISITOR),
        "eval of a server folder": lambda: start_eval(EvalRequest(model=str(tiny_here and area("models") / "tiny"),
                                                                  data="sample"), actor=VISITOR),
        "eval on a server file": lambda: start_eval(EvalRequest(model="tiny", data=str(rows)), actor=VISITOR),
        "save subset": lambda: save_subset("s1", make_questions(4), actor=VISITOR),
        "delete subset": lambda: delete_subset("keep", actor=VISITOR),
        "read a server path": lambda: load_source(str(rows), actor=VISITOR),
        "read split files": lambda: load_source("hub", meta=str(tmp_path), actor=VISITOR),
        "class link": lambda: classroom_launcher.start("tiny", share=False, actor=VISITOR),
        "stop class link": lambda: classroom_launcher.stop(VISITOR),
        "publish": lambda: push_run(stopped, "me/tutor"),
    }
    for what, call in refused.items():
        with pytest.raises(StudioError, match=REFUSED):
            call()
            pytest.fail(f"{what} was allowed")
    # nothing changed
    assert sorted(p.name for p in area("runs").iterdir()) == ["live", "r1"]
    assert not runs.stop_requested(live) and runs.read_status(stopped).state == "stopped"
    assert (area("subsets") / "keep").exists() and not (area("subsets") / "s1").exists()
    assert not (area("classroom") / "launcher.json").exists() and not (tmp_path / "t").exists()


def test_a_visitor_may_read_offered_data_and_use_present_models(public, tiny_here):
    from core.data.sources import load_source
    from core.models import obtain

    assert load_source("sample", split="test", actor=VISITOR)
    assert obtain.resolve_model("tiny", actor=VISITOR) == area("models") / "tiny"


def test_a_visitor_evaluates_present_models_within_a_budget(public, tiny_here, monkeypatch):
    from core.evaluation.jobs import EvalRequest, start_eval

    monkeypatch.setattr(access, "VISITOR_EVALS_PER_HOUR", 0)
    with pytest.raises(StudioError, match="Visitors may start 0 new evaluations an hour"):
        start_eval(EvalRequest(model="tiny", data="sample", split="test", limit=2), actor=VISITOR)
    assert runs.list_runs(area("evals")) == []


def test_the_admin_may_do_it_all(public, tiny_here):
    admin = access.sign_in(VISITOR.address, "s3cret")
    live = running_run()
    runs.request_stop(live, actor=admin)
    assert runs.stop_requested(live)
    stopped = finished_run()
    runs.delete_run(stopped, actor=admin)
    assert not stopped.exists()


def test_the_command_line_is_the_local_admin_in_public_mode(public, tmp_path):
    env = {**os.environ, "SQA_ADMIN_PASSWORD": "s3cret"}
    out = subprocess.run([sys.executable, "-m", "core", "data", "subset", "--source", "sample", "--out",
                          str(tmp_path / "sub"), "--n", "5"], capture_output=True, text=True, env=env,
                         cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "sub" / "manifest.json").exists()


# ---- every page (AppTest) ---------------------------------------------------------------------------

def sign_in(at: AppTest, password: str = "s3cret") -> AppTest:
    at.text_input(key="admin_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    return at


def errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


def test_home_page_hides_the_server_path_from_a_visitor(public, studio_home):
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert str(studio_home) not in " ".join(c.value for c in at.caption)
    sign_in(at)
    assert not at.exception and str(studio_home) in " ".join(c.value for c in at.caption)


def test_data_page_in_public_mode(public):
    at = AppTest.from_file(str(PAGES / "1_Data.py"), default_timeout=120).run()
    assert not at.exception
    assert "Local file or folder…" not in at.selectbox(key="source").options  # no server path box for a visitor
    at.text_input(key="subset_name").input("mine").run()
    save = at.button(key="subset_save")
    assert save.disabled and REFUSED in save.help  # shown disabled, with the reason (core refuses it all the same)
    assert not (area("subsets") / "mine").exists()
    sign_in(at, "wrong")
    assert "Wrong admin password" in errors(at)
    sign_in(at)
    assert not at.exception
    assert "Local file or folder…" in at.selectbox(key="source").options
    at.button(key="subset_save").click().run()
    assert not at.exception and (area("subsets") / "mine" / "manifest.json").exists()


def test_models_page_in_public_mode(public):
    from conftest import finish_job

    at = AppTest.from_file(str(PAGES / "2_Models.py"), default_timeout=120).run()
    assert not at.exception
    at.segmented_control(key="tiny_size").set_value("xs")
    at.text_input(key="convert_src").input("/etc").run()
    for key in ("create_tiny", "convert", "import_gguf"):  # shown disabled, with the reason (issue 24)
        assert at.button(key=key).disabled and REFUSED in at.button(key=key).help, key
    assert "/etc" not in at.button(key="convert").help and not errors(at)
    assert not (area("models") / "tiny").exists()
    sign_in(at)
    at.segmented_control(key="tiny_size").set_value("xs")
    finish_job(at.button(key="create_tiny").click().run(), "model_job")  # a background job
    assert not at.exception and (area("models") / "tiny" / "config.json").exists()


def test_train_page_in_public_mode(public, studio_home):
    live, stopped = running_run(), finished_run("old")
    at = AppTest.from_file(str(PAGES / "3_Train.py"), default_timeout=120).run()
    assert not at.exception
    assert "(a local folder)" not in at.selectbox(key="tr_model").options
    assert str(studio_home) not in at.dataframe[0].value.to_string()
    launch = next(b for b in at.button if b.label == "Launch")  # shown disabled, with the reason (issue 24)
    assert launch.disabled and REFUSED in launch.help
    assert sorted(p.name for p in area("runs").iterdir()) == ["live", "old"]
    at.button(key="stop_live").click().run()
    assert REFUSED in errors(at) and not runs.stop_requested(live)
    at.selectbox(key="del_pick").set_value("old")
    next(c for c in at.checkbox if c.key.startswith("del_sure")).check().run()
    delete = next(b for b in at.button if b.label == "Delete")
    assert delete.disabled and REFUSED in delete.help and stopped.exists()
    sign_in(at)
    at.button(key="stop_live").click().run()
    assert not at.exception and runs.stop_requested(live)
    at.selectbox(key="del_pick").set_value("old")
    next(c for c in at.checkbox if c.key.startswith("del_sure")).check().run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert not at.exception and not stopped.exists()


def test_compare_page_in_public_mode(public, tiny_here, monkeypatch):
    monkeypatch.setattr(access, "VISITOR_EVALS_PER_HOUR", 0)  # a spent budget
    at = AppTest.from_file(str(PAGES / "4_Compare.py"), default_timeout=120).run()
    assert not at.exception
    at.selectbox(key="model_a").set_value("tiny")
    at.selectbox(key="model_b").set_value("tiny").run()
    assert "local…" not in at.selectbox(key="data").options
    at.number_input(key="limit").set_value(2).run()
    next(b for b in at.button if b.label == "Evaluate both").click().run()
    assert not at.exception and "Visitors may start 0 new evaluations" in errors(at)
    assert runs.list_runs(area("evals")) == []
    sign_in(at)
    assert "local…" in at.selectbox(key="data").options


def test_tutor_page_in_public_mode(public, tiny_here):
    import classroom_launcher

    at = AppTest.from_file(str(PAGES / "5_Tutor.py"), default_timeout=120).run()
    assert not at.exception
    at.selectbox(key="model").set_value("tiny").run()  # the default (the pretrained preset) is not imported here
    at.button(key="start_class").click().run()
    assert not at.exception and REFUSED in errors(at)
    assert not (area("classroom") / "launcher.json").exists()
    at.chat_input(key="ask").set_value("Which is heavier, 3 kg or 5 kg?").run()  # visitors chat
    assert not at.exception and [m for m in at.chat_message if m.name == "assistant"]
    sign_in(at)
    try:
        at.toggle(key="share").set_value(False)
        at.button(key="start_class").click().run()
        assert not at.exception and (area("classroom") / "launcher.json").exists()
    finally:
        classroom_launcher.stop(access.LOCAL)
    assert classroom_launcher.status() is None
