"""core.models.defaults: what the Train, Compare and Tutor pages propose on a fresh start, from the
runs' manifests: the pretrained preset, its newest fine-tuned run, never a from-scratch model unless
nothing else is here."""

from __future__ import annotations

import pytest

from core.home import area
from core.jobs.runs import create_run
from core.models.manifest import Manifest, write_manifest
from core.training.recipes import build_config


def make_run(name: str, base: str, pretrained: bool) -> str:
    run_dir = create_run(area("runs"), build_config(base, "sample", recipe="tiny").to_dict(), name=name)
    model = run_dir / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    write_manifest(model, Manifest(kind="run", source=base, base_model=base, pretrained=pretrained, format="tutor"))
    return f"run:{run_dir.name}"


@pytest.fixture
def no_preset(monkeypatch):
    import core.models.presets as presets

    monkeypatch.setattr(presets, "preset_file", lambda preset: None)


def test_fresh_start_proposes_the_pretrained_preset():
    from core.models.defaults import compare_pair, default_base_model, tutor_model

    assert default_base_model() == "smollm2-135m"
    assert tutor_model(["tiny", "smollm2-135m"]) == "smollm2-135m"
    assert compare_pair(["tiny", "smollm2-135m"]) == ("smollm2-135m", None)  # no run yet: no "fine-tuned" tiny


def test_runs_from_the_preset_win_over_newer_from_scratch_runs():
    import time

    from core.models.defaults import compare_pair, tutor_model

    smol = make_run("smol", "smollm2-135m", pretrained=True)
    time.sleep(0.05)  # runs are ordered by their creation time
    scratch = make_run("scratch", "tiny", pretrained=False)
    names = ["tiny", "smollm2-135m", smol, scratch]
    assert compare_pair(names) == ("smollm2-135m", smol)
    assert tutor_model(names) == smol


def test_without_the_preset_the_old_defaults_remain(no_preset):
    from core.models.defaults import compare_pair, default_base_model, tutor_model

    assert default_base_model() == "tiny"
    assert tutor_model(["tiny"]) == "tiny"
    scratch = make_run("scratch", "tiny", pretrained=False)
    assert compare_pair(["tiny", scratch]) == ("tiny", scratch)
    assert tutor_model(["tiny", scratch]) == scratch  # nothing pretrained here: the newest run


def test_train_page_proposes_the_preset_and_its_pretrained_recipe():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = str(Path(__file__).resolve().parent.parent / "views" / "3_Train.py")
    at = AppTest.from_file(page, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox(key="tr_model").value == "smollm2-135m"
    assert any("cpu-pretrained" in c.value for c in at.caption)
