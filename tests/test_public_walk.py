"""A visitor of a public app (SQA_ADMIN_PASSWORD set) walks every page with one job of each kind present
(a finished training run, a finished sweep, an evaluation): no page raises, none shows a traceback or a
server path. The jobs are made first, as the admin would have made them; then the app goes public."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_sweep_page import write_sweep

from conftest import make_questions
from core import access
from core.evaluation.jobs import EvalRequest, run_eval
from core.home import PROJECT_ROOT, area
from core.jobs import runs
from core.models.tiny import create_tiny
from core.training.recipes import build_config

PAGE_FILES = [PROJECT_ROOT / "app.py", *sorted((PROJECT_ROOT / "views").glob("*.py"))]
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")


@pytest.fixture
def one_job_of_each_kind(tiny_model_dir, studio_home):
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    run_dir = runs.create_run(area("runs"), build_config("tiny", "sample", recipe="tiny").to_dict(), name="r1")
    create_tiny(make_questions(120), run_dir / "model", size="xs", seed=1)
    for step in (1, 2):
        runs.append_metrics(run_dir, {"step": step, "loss": 3.0 / step, "tokens_per_s": 900.0, "elapsed": step})
    runs.write_status(run_dir, state="done", pid=None, step=2, total=2, started=1.0e9, ended=1.0e9 + 60, elapsed=60.0)
    sweep_dir = write_sweep()
    eval_dir, _ = run_eval(EvalRequest(model="tiny", data="sample", split="test", limit=4))
    return {"run": run_dir, "sweep": sweep_dir, "evaluation": eval_dir}


def rendered_text(at: AppTest) -> str:
    """Everything the page put on screen: each element's protobuf as text (labels, values, options, help,
    markdown, errors, exceptions) and each table's cells."""
    out = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        value = getattr(node, "value", None) if type(node).__name__ in ("Dataframe", "Table") else None
        if value is not None and hasattr(value, "to_string"):
            out.append(value.to_string())
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else children or []):
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def server_paths(text: str, home: Path) -> list[str]:
    found = [p for p in (str(home), str(home.parent), str(PROJECT_ROOT), str(Path.home()) + "/") if p in text]
    return found + sorted(set(re.findall(r"(?<![\w<>.:/])/(?:tmp|root|home|work|usr|etc|opt|var)/[\w./@+-]*", text)))


@pytest.mark.slow  # six pages with their jobs: 10-11 s measured on a busy 2-core machine
def test_a_visitor_sees_every_page_without_a_traceback_or_a_server_path(one_job_of_each_kind, studio_home,
                                                                         monkeypatch):
    assert all(p.exists() for p in one_job_of_each_kind.values())
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    monkeypatch.setattr(access, "_process_actor", None)  # run_eval made this process the command line's admin
    assert not access.who(None).trusted
    assert len(PAGE_FILES) >= 6
    for page in PAGE_FILES:
        at = AppTest.from_file(str(page), default_timeout=120).run()
        text = rendered_text(at)
        assert not at.exception, f"{page.name}: {[e.value for e in at.exception]}"
        assert not TRACEBACK.search(text), f"{page.name} shows a traceback"
        assert not server_paths(text, studio_home), f"{page.name} shows {server_paths(text, studio_home)}"
        assert "Admin sign-in" in text  # it really ran as a visitor of a public app


def test_the_walk_would_see_a_server_path_and_a_traceback(studio_home):
    """The checks above can fail: a page that prints the home folder or a traceback is caught."""
    at = AppTest.from_string(f"import streamlit as st\nst.caption({str(studio_home)!r})\n"
                             "st.exception(RuntimeError('boom'))\n").run()
    text = rendered_text(at)
    assert server_paths(text, studio_home) and at.exception


def test_public_mode_hides_error_details_on_every_page(monkeypatch):
    """An uncaught exception on a page of a public app shows Streamlit's generic message, not the
    exception's text or its traceback (client.showErrorDetails = none, set by admin_ui.actor and app.py)."""
    from streamlit import config

    script = "import admin_ui\nadmin_ui.actor()\nraise RuntimeError('/srv/secret/path')\n"
    at = AppTest.from_string(script, default_timeout=60).run()  # not public: the developer sees it all
    assert "/srv/secret/path" in rendered_text(at)
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    at = AppTest.from_string(script, default_timeout=60).run()
    assert config.get_option("client.showErrorDetails") == "none"  # conftest puts the default back after
    text = rendered_text(at)
    assert at.exception and "/srv/secret/path" not in text and not TRACEBACK.search(text)


def test_a_visitor_sees_the_data_pages_save_and_delete_disabled_with_the_reason(monkeypatch):
    from core.data.sources import load_source
    from core.data.subsets import save_subset

    save_subset("kept", load_source("sample")[:6], {"source": "sample"}, actor=access.LOCAL)
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / "1_Data.py"), default_timeout=120).run()
    assert not at.exception
    for widget, action in ((at.button(key="subset_save"), "Saving a subset"),
                           (at.checkbox(key="delete_sure:kept"), "Deleting a subset"),
                           (at.button(key="delete_button"), "Deleting a subset")):
        assert widget.disabled and widget.help.startswith(f"{action} needs the admin password")
    assert (area("subsets") / "kept").is_dir()
