"""A run has one name on every page: the name typed on Train, with its base model and format
(core.models.catalogue.display_name), wherever a run is offered or listed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.home import area
from core.jobs import runs
from core.models.catalogue import display_name

ROOT = Path(__file__).resolve().parent.parent
NAME = "magnets week (run:r1) · from tiny · paper format"


@pytest.fixture
def named_run(tiny_model_dir, studio_home, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    run_dir = runs.create_run(area("runs"), {"model": "tiny", "label": "magnets week", "format": "paper"}, name="r1")
    shutil.copytree(tiny_model_dir, run_dir / "model")
    runs.write_status(run_dir, state="done")
    assert display_name("run:r1") == NAME
    return "run:r1"


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def test_compare_names_the_run_in_both_views(named_run):
    at = page("views/4_Compare.py")
    assert NAME in at.selectbox(key="model_b").options and at.selectbox(key="model_b").value == named_run
    at.segmented_control(key="cmp_view").set_value("Many models").run()
    assert NAME in at.multiselect(key="many_models").options


def test_the_tutor_picker_names_the_run(named_run, monkeypatch):
    # presets off: with a tiny run only, the page would start on the SmolLM2 base and import it (20 s or more)
    monkeypatch.setenv("SQA_PRESETS", "off")
    assert NAME in page("views/5_Tutor.py").selectbox(key="model").options


def test_the_models_list_names_the_run(named_run):
    at = page("views/2_Models.py")
    assert NAME in list(at.table[0].value.index)


def test_home_names_the_run(named_run):
    assert any(NAME in c.value for c in page("app.py").caption)
