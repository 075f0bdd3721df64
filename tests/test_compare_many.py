"""Many models on one chart: core.evaluation.reports.leaderboard and the Compare page's "Many models" view
under AppTest, with three tiny models really evaluated (cached) on the same questions beforehand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import make_questions
from core.errors import StudioError
from core.evaluation.jobs import EvalRequest, load_results, run_eval
from core.evaluation.reports import leaderboard, pairwise_tests, per_question
from core.home import area
from core.jobs import runs
from core.models.tiny import create_tiny

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "4_Compare.py")


@pytest.fixture
def three_models(tiny_model_dir, studio_home):
    """`tiny` (the xs fixture) and two finished runs whose models have other weights, same tokenizer."""
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    for i, name in enumerate(("r1", "r2"), start=1):
        run_dir = runs.create_run(area("runs"), {"model": "tiny"}, name=name)
        create_tiny(make_questions(120), run_dir / "model", size="xs", seed=i)
        runs.write_status(run_dir, state="done")
    return ["tiny", "run:r2", "run:r1"]


def evaluated(names, limit=12):
    return {n: load_results(run_eval(EvalRequest(model=n, data="sample", split="test", limit=limit,
                                                 fmt="paper"))[0])[0] for n in names}


def test_the_leaderboard_refuses_models_scored_on_different_questions(three_models):
    res = evaluated(three_models[:2])
    other = load_results(run_eval(EvalRequest(model="run:r1", data="sample", split="test", limit=10,
                                              fmt="paper"))[0])[0]
    board = leaderboard(res, "test")
    assert board["n"] == 12 and board["reference"] is None and set(board["models"]) == set(three_models[:2])
    with pytest.raises(StudioError, match="not evaluated on the same questions"):
        leaderboard({**res, "run:r1": other})


def test_many_models_view_shows_every_model_with_intervals_chance_and_tests_against_the_reference(three_models):
    res = evaluated(three_models)
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.segmented_control(key="cmp_view").set_value("Many models").run()
    assert not at.exception
    assert set(at.multiselect(key="many_models").value) == set(three_models)
    assert at.selectbox(key="many_ref").value == "tiny"
    at.number_input(key="limit").set_value(12).run()
    at.selectbox(key="fmt_many").set_value("paper").run()
    assert not at.exception, at.exception
    table = next(df.value for df in at.dataframe if "95% CI" in df.value.columns)
    got = dict(zip(table["model"], table["accuracy %"]))
    label = {"tiny": "tiny", "run:r1": "run:r1 · from tiny", "run:r2": "run:r2 · from tiny"}  # the runs' one name
    for name, r in res.items():
        assert got[label[name]] == f"{100 * r.accuracy:.2f}"
    assert "chance (1 / choices)" in got and "NAT" in table.columns and "G7-12" in table.columns
    assert not table.isna().any().any() and "None" not in table.to_string()  # an empty column reads "–"
    assert set(table["format"][:3]) == {"paper"}
    tests = next(df.value for df in at.dataframe if "p (Holm)" in df.value.columns)
    want = pairwise_tests({n: per_question([r]) for n, r in res.items()}, reference="tiny")
    assert dict(zip(tests["model"], tests["p (Holm)"])) == {label[t["b"]]: t["p_holm"] for t in want}
    assert set(tests["model"]) == {label["run:r1"], label["run:r2"]}  # each against the reference
    assert any("3 models on the same 12 questions" in m.value for m in at.markdown)


def test_many_models_scores_each_model_in_the_format_it_was_trained_in_and_says_which(three_models):
    from core.data.prompts import DEFAULT_FORMAT
    from core.models.manifest import read_manifest, write_manifest

    folder = area("runs") / "r1" / "model"
    manifest = read_manifest(folder)
    manifest.format = "paper"
    write_manifest(folder, manifest)
    own = {"tiny": DEFAULT_FORMAT, "run:r1": "paper", "run:r2": DEFAULT_FORMAT}
    for name, fmt in own.items():
        run_eval(EvalRequest(model=name, data="sample", split="test", limit=12, fmt=fmt))
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.segmented_control(key="cmp_view").set_value("Many models").run()
    at.number_input(key="limit").set_value(12).run()
    assert not at.exception and at.selectbox(key="fmt_many").value == "(each model's own)"
    table = next(df.value for df in at.dataframe if "95% CI" in df.value.columns)
    got = dict(zip(table["model"], table["format"]))
    assert got["tiny"] == DEFAULT_FORMAT and got["run:r1 · from tiny · paper format"] == "paper"
    assert not any(b.label.startswith("Evaluate") for b in at.button)  # each cached in its own format
