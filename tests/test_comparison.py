"""core.evaluation.comparison: what Compare needs evaluated, found from disk; a request checked whole
before anything starts (a visitor's refused request starts nothing); the Compare page as a visitor sees it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import make_questions
from core import access
from core.errors import StudioError
from core.evaluation import comparison
from core.evaluation.jobs import EvalRequest, run_eval
from core.home import area
from core.jobs import runs
from core.models.tiny import create_tiny

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "4_Compare.py")
VISITOR = access.Actor(address="203.0.113.9")


@pytest.fixture
def two_models(tiny_model_dir, studio_home):
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    run_dir = runs.create_run(area("runs"), {"model": "tiny", "label": "magnets"}, name="r1")
    create_tiny(make_questions(120), run_dir / "model", size="xs", seed=1)
    runs.write_status(run_dir, state="done")
    return ["tiny", "run:r1"]


def jobs_on_disk() -> list[str]:
    root = area("evals")
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_the_plan_finds_cached_results_and_adds_the_shuffled_check_for_categorical(two_models):
    run_eval(EvalRequest(model="tiny", data="sample", split="test", limit=6))
    plan = comparison.plan_comparison(two_models, "sample", "test", 6, "categorical", "paper_ale")
    assert plan.n == 6 and [s.model for s in plan.slots] == two_models
    assert plan.slots[0].done is not None and plan.slots[1].done is None and not plan.ready
    assert [s.model for s in plan.missing] == ["run:r1"]
    assert [s.request.method for s in plan.shuffled] == ["shuffled", "shuffled"]
    assert plan.seconds_left() > 0 and plan.seconds_left(plan.shuffled) > plan.seconds_left()
    generative = comparison.plan_comparison(two_models, "sample", "test", 6, "generative", "paper_ale")
    assert generative.shuffled == []


def test_each_model_is_scored_in_its_own_format_when_none_is_picked(two_models):
    from core.models.manifest import read_manifest, write_manifest

    folder = area("runs") / "r1" / "model"
    manifest = read_manifest(folder)
    manifest.format = "paper"
    write_manifest(folder, manifest)
    plan = comparison.plan_comparison(two_models, "sample", "test", 6, "categorical", None)
    assert {s.model: s.fmt for s in plan.slots} == {"tiny": "paper_ale", "run:r1": "paper"}


def test_a_visitors_refused_request_starts_nothing(two_models, monkeypatch, tmp_path):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    folder = tmp_path / "elsewhere"
    shutil.copytree(area("models") / "tiny", folder)
    plan = comparison.plan_comparison(["tiny", str(folder)], "sample", "test", 6, "categorical", "paper_ale", VISITOR)
    before = jobs_on_disk()
    assert "admin password" in comparison.refusal(plan.slots, VISITOR)
    with pytest.raises(StudioError, match="admin password"):
        comparison.start(plan.slots, VISITOR)  # the base model alone would have been allowed
    assert jobs_on_disk() == before == []


def test_a_visitors_budget_is_spent_for_the_whole_request_or_not_at_all(two_models, monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    for _ in range(access.VISITOR_EVALS_PER_HOUR - 1):
        access.spend(VISITOR, "evaluation")
    plan = comparison.plan_comparison(two_models, "sample", "test", 6, "categorical", "paper_ale", VISITOR)
    with pytest.raises(StudioError, match="Visitors may start"):
        comparison.start(plan.slots, VISITOR)  # two needed, one left
    assert jobs_on_disk() == []
    access.spend(VISITOR, "evaluation")  # the one left was not spent by the refused request


def test_compare_before_any_training_offers_no_fine_tuned_model(tiny_model_dir, studio_home):
    from core.models.defaults import compare_pair

    base, tuned = compare_pair(["tiny", "smollm2-135m"])
    assert tuned is None
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert any("No fine-tuned model yet" in i.value for i in at.info)
    assert not any(b.label.startswith("Evaluate") for b in at.button)  # no 9.5-minute evaluation offered


def test_a_visitor_sees_the_evaluate_button_disabled_with_the_reason(two_models, monkeypatch, studio_home):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    shutil.rmtree(studio_home / "models" / "tiny")  # not created yet: a visitor may not create it
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.selectbox(key="model_a").set_value("tiny").run()
    at.number_input(key="limit").set_value(6).run()
    assert not at.exception
    button = next(b for b in at.button if b.label == "Evaluate both")
    assert button.disabled and "admin password" in button.help
    assert not any(b.label == "Stop" for b in at.button) and jobs_on_disk() == []


def test_a_flipped_question_opens_with_each_models_stored_probabilities(two_models):
    for m in two_models:
        run_eval(EvalRequest(model=m, data="sample", split="test", limit=6))
    plan = comparison.plan_comparison(two_models, "sample", "test", 6, "categorical", "paper_ale")
    out = comparison.outcome(plan)
    base, tuned = out["results"]
    rows = comparison.flip_rows(plan, out["compare"], base, tuned)
    assert len(rows) == len(out["compare"]["gained"]) + len(out["compare"]["lost"])
    assert out["summaries"][0]["accuracy"] == base.accuracy  # the summary the worker stored
    pid = plan.questions[0].pid
    q, said = comparison.question_view(plan, (base, tuned), pid)
    assert q.pid == pid and len(said) == 2
    probs, text = said[0]
    assert len(probs) == len(q.choices) and abs(sum(probs) - 1) < 1e-6 and text.endswith(("(right)", "(wrong)"))
