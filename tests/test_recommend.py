"""Home and the Tutor pick the same model: the most accurate measured on the same questions, then the
newest; one at or below chance is named only with a note that says so (core.evaluation.recommend)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.evaluation.recommend import recommended_model
from core.files import write_json_atomic
from core.home import area
from core.jobs import runs
from core.models.catalogue import display_name, offered_models

ROOT = Path(__file__).resolve().parent.parent


def make_run(name: str, model_dir: Path, label: str) -> str:
    run_dir = runs.create_run(area("runs"), {"model": "tiny", "label": label, "format": "paper"}, name=name)
    shutil.copytree(model_dir, run_dir / "model")
    runs.write_status(run_dir, state="done")
    time.sleep(0.02)  # runs are ordered by their creation time
    return f"run:{name}"


def measured(model: str, accuracy: float, chance: float = 0.5, data_hash: str = "S", n: int = 10) -> None:
    """A finished evaluation of `model` with a known accuracy (what the worker stores in results.json)."""
    job = runs.create_run(area("evals"), {"kind": "eval", "request": {
        "model": model, "data": "sample", "split": "test", "method": "categorical"}}, name=f"ev-{model[4:]}-{data_hash}")
    write_json_atomic(job / "results.json", {"summary": {"accuracy": accuracy, "chance": chance, "n": n,
                                                         "data_hash": data_hash}})
    runs.write_status(job, state="done")
    time.sleep(0.02)


def home_and_tutor_choice() -> tuple[list[str], str, list[str]]:
    home = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    tutor = AppTest.from_file(str(ROOT / "views" / "5_Tutor.py"), default_timeout=120).run()
    assert not home.exception and not tutor.exception
    return [c.value for c in home.caption], tutor.selectbox(key="model").value, [i.value for i in tutor.info]


def test_home_and_tutor_pick_the_most_accurate_on_the_same_questions_then_the_newest(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    old = make_run("old", tiny_model_dir, "week 1")
    low = make_run("low", tiny_model_dir, "too short")
    new = make_run("new", tiny_model_dir, "week 2")
    other = make_run("other", tiny_model_dir, "elsewhere")
    measured(old, 0.6)
    measured(low, 0.4)
    measured(new, 0.6)  # the same accuracy as week 1, newer: it wins the tie
    measured(other, 0.9, data_hash="T")  # other questions, measured for one model only: not comparable
    pick = recommended_model(offered_models())
    assert pick.model == new and (pick.accuracy, pick.chance) == (0.6, 0.5)
    captions, tutor, notes = home_and_tutor_choice()
    assert tutor == new
    assert any("measured 60% right on 10 questions of sample (test), guessing gets 50%" in n for n in notes)
    assert any(f"Chat with {display_name(new)} (60% right on 10 questions of sample (test), guessing gets 50%)" in c
               for c in captions)
    assert display_name(new) == "week 2 (run:new) · from tiny · paper format"


def test_a_model_below_chance_is_named_with_a_warning(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    low = make_run("low", tiny_model_dir, "too short")
    measured(low, 0.41, chance=0.43)
    pick = recommended_model(offered_models())
    assert pick.model == low and pick.below_chance
    assert pick.note() == ("41% right on 10 questions of sample (test), guessing gets 43%: no better than guessing, "
                           "train it longer or pick another model")
    captions, tutor, notes = home_and_tutor_choice()
    assert any("guessing gets 43%: no better than guessing" in n for n in notes)
    assert tutor == low and any("no better than guessing" in c for c in captions)


def test_with_nothing_measured_the_first_choice_stays_the_newest_fine_tuned_model(tiny_model_dir):
    from core.models.defaults import tutor_model

    make_run("a", tiny_model_dir, "")
    names = offered_models()
    assert recommended_model(names).model == tutor_model(names)
    assert recommended_model(names).note() == "not evaluated yet (Compare page)"
