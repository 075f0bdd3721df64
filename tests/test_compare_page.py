"""The Compare page under Streamlit's AppTest: two tiny models with results cached beforehand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import make_questions
from core.evaluation.jobs import EvalRequest, load_results, run_eval
from core.evaluation.reports import compare, headline
from core.home import area
from core.jobs import runs
from core.models.tiny import create_tiny

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "4_Compare.py")


@pytest.fixture
def two_models(tiny_model_dir, studio_home, tmp_path):
    """`tiny` (the xs fixture) and a finished run `r1` whose model has other weights, same tokenizer."""
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    run_dir = runs.create_run(area("runs"), {"model": "tiny"}, name="r1")
    create_tiny(make_questions(120), run_dir / "model", size="xs", seed=1)
    runs.write_status(run_dir, state="done")
    return "tiny", "run:r1"


def cached_pair(names, limit=12):
    out = []
    for name in names:
        run_dir, _ = run_eval(EvalRequest(model=name, data="sample", split="test", limit=limit))
        out.append(load_results(run_dir)[0])
    return out


def test_compare_page_shows_cached_results_of_the_latest_run_and_its_base(two_models):
    base, tuned = cached_pair(two_models)
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert at.selectbox(key="model_a").value == "tiny" and at.selectbox(key="model_b").value == "run:r1"
    at.number_input(key="limit").set_value(12).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["tiny"] == f"{100 * base.accuracy:.1f}%"
    assert metrics["run:r1 · from tiny"] == f"{100 * tuned.accuracy:.1f}%"  # the run's one name (catalogue)
    expected = compare(base, tuned)
    assert metrics["Difference"] == f"{100 * expected['difference']:+.1f} pts"
    assert any("Cached results for 12 questions" in c.value for c in at.caption)


def test_compare_page_explains_bad_input_instead_of_crashing(two_models):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="method").set_value("plan").run()
    assert not at.exception and "invalid" in at.warning[0].value.lower()
    assert "the prompt alone, before any model writes a token, scores" in at.warning[0].value
    assert any(b.label == "Evaluate both" for b in at.button)  # nothing cached: nothing shown, nothing launched
    at.selectbox(key="data").set_value("local…").run()
    at.text_input(key="data_path").input("/no/such/file.jsonl").run()
    assert not at.exception
    assert at.error and "/no/such/file.jsonl" in at.error[0].value


def test_compare_page_leads_with_one_sentence_and_keeps_the_statistics_one_click_below(two_models):
    base, tuned = cached_pair(two_models)
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.number_input(key="limit").set_value(12).run()
    assert not at.exception
    sentence = headline(compare(base, tuned), base="its base (tiny)", tuned="The fine-tuned model (run:r1 · from tiny)")
    assert at.markdown[[m.value for m in at.markdown].index(f"#### {sentence}")]
    stats = next(e for e in at.expander if e.label == "The statistics behind the sentence")
    assert {m.label for m in stats.metric} == {"Difference", "McNemar p"}
    assert any(m.label == "Chance (guessing)" for m in at.metric)
    assert any("chance" in c.value and "right on" in c.value for c in at.caption)
    card = next(df.value for df in at.dataframe if "always-letter %" in df.value.columns)  # the report card
    assert card["group"].iloc[0] == "all questions" and {"chance %", "always-letter %", "fixed", "broke"} <= set(card)


def test_cached_results_are_called_so_only_when_cached_before_this_visit(two_models):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert at.number_input(key="limit").value == 0  # the whole split by default, with how long it takes
    assert any("questions; evaluating 2 models takes about" in c.value for c in at.caption)
    at.number_input(key="limit").set_value(12).run()
    assert not any("Cached results" in c.value for c in at.caption)
    cached_pair(two_models)  # the evaluations finish during this visit
    at.run()
    assert not at.exception and any(m.label == "Difference" for m in at.metric)
    assert not any("Cached results" in c.value for c in at.caption)
    fresh = AppTest.from_file(PAGE, default_timeout=120).run()  # a later visit
    fresh.number_input(key="limit").set_value(12).run()
    assert any("Cached results for 12 questions" in c.value for c in fresh.caption)


def test_ask_both_shows_each_models_choice_probabilities_and_streams_two_replies(two_models):
    cached_pair(two_models)
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.number_input(key="limit").set_value(12).run()
    assert not at.exception
    chart = at.get("plotly_chart")
    assert any('"barmode":"group"' in c.proto.spec.replace(" ", "") and "ask_chart" in c.proto.id for c in chart)
    at.button(key="ask_both").click().run()
    assert not at.exception and not at.error
    sides = {c.markdown[0].value: [m.value for m in c.markdown[1:]] for c in at.columns
             if c.markdown and c.markdown[0].value in ("**tiny**", "**run:r1 · from tiny**")}
    assert len(sides) == 2  # one column per model, each with its streamed reply under the model's name
    assert all(len(reply) == 1 and reply[0].strip() for reply in sides.values())


def test_a_typed_question_with_one_choice_is_refused_in_one_line_and_the_page_stays(two_models):
    cached_pair(two_models)
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.number_input(key="limit").set_value(12).run()
    at.radio(key="q_mode").set_value("typed in").run()
    assert not at.exception and not at.error  # the default typed question scores
    at.text_area(key="q_choices").input("whale").run()
    assert not at.exception
    assert "between 2 and 5 choices" in at.error[0].value and "\n" not in at.error[0].value
    assert any(m.label == "Difference" for m in at.metric)  # the results above are still shown


def test_a_visitor_in_public_mode_may_ask_both_at_the_chats_rate_and_nothing_is_written(two_models, studio_home,
                                                                                         monkeypatch):
    import streamlit as st

    cached_pair(two_models)
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "secret")
    st.cache_resource.clear()  # a fresh rate limiter (it is shared by every session of the process)
    before = sorted(p.name for p in (studio_home / "evals").iterdir())
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.number_input(key="limit").set_value(12).run()
    assert "local…" not in at.selectbox(key="data").options  # a visitor's page
    for _ in range(10):  # the Tutor's limit: 10 questions a minute per session
        at.button(key="ask_both").click().run()
        assert not at.exception and not at.error
    assert sorted(p.name for p in (studio_home / "evals").iterdir()) == before
    at.button(key="ask_both").click().run()
    assert not at.exception and "Slow down" in at.error[0].value
