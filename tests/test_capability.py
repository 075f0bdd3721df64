"""What a model can do, said from facts: the trained format read back from the manifest as the default
(eval CLI, Compare, Tutor), the capability note (Tutor page), the degenerate flag on a model built to
answer one letter (eval summary, CLI, Compare), what the Train page suggests from what the model is,
and a run folder standing for its model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_evaluation import numbered_questions, stand_in

from core.evaluation.capability import capability_note, default_format, degenerate_note, trained_format
from core.evaluation.jobs import EvalRequest, load_results, run_eval
from core.evaluation.reports import summarize
from core.evaluation.scoring import evaluate
from core.home import area
from core.jobs import runs
from core.models.loading import load_model
from core.models.locations import local_model_folder
from core.models.manifest import read_manifest, write_manifest
from core.models.obtain import resolve_model
from core.training.recipes import suggested_format, suggested_recipe

PAGES = Path(__file__).resolve().parent.parent / "views"


def set_manifest(folder: Path, **fields) -> None:
    m = read_manifest(folder)
    for k, v in fields.items():
        setattr(m, k, v)
    write_manifest(folder, m)


@pytest.fixture
def run_model(tiny_model_dir, studio_home):
    """`tiny` from scratch, and run `r1`: a model fine-tuned here in `fmt` from a pretrained one."""
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    run_dir = runs.create_run(area("runs"), {"model": "tiny"}, name="r1")
    shutil.copytree(tiny_model_dir, run_dir / "model")
    set_manifest(run_dir / "model", kind="run", format="nanochat", pretrained=True, base_model="smol")
    runs.write_status(run_dir, state="done")
    return run_dir


def test_a_model_built_to_answer_one_letter_is_flagged_degenerate(tiny_model_dir):
    from core.commands.eval import format_summary

    loaded = load_model(tiny_model_dir, device="cpu")
    qs = numbered_questions(30)
    always_a = evaluate(stand_in(loaded, {q.pid: 0 for q in qs}), qs, "paper")
    assert {p.pred for p in always_a.predictions} == {0}
    summary = summarize(always_a)
    assert summary["degenerate"].startswith("Degenerate: it answers (A) to 100% of the questions")
    assert "Train longer, or lower the learning rate." in summary["degenerate"]
    assert "WARNING: Degenerate" in format_summary(summary, False, "x")
    right = evaluate(stand_in(loaded, {q.pid: q.answer for q in qs}), qs, "paper")
    assert summarize(right)["degenerate"] == "" and "Degenerate" not in format_summary(summarize(right), False, "x")


def test_one_letter_is_not_degenerate_when_it_is_nearly_always_right():
    from core.evaluation.scoring import Prediction

    preds = [Prediction(pid=str(i), gold=0, pred=0, correct=True, n_choices=2, groups=[]) for i in range(20)]
    assert degenerate_note(preds) == ""
    assert degenerate_note(preds[:5]) == ""  # too few to say


def test_the_trained_format_is_the_default_and_a_run_folder_means_its_model(run_model):
    assert trained_format("run:r1") == "nanochat" and default_format("run:r1") == "nanochat"
    assert trained_format("tiny") is None and default_format("tiny") == "paper_ale"
    assert local_model_folder(str(run_model)) == run_model / "model"
    assert resolve_model(str(run_model)) == run_model / "model"
    assert default_format(str(run_model)) == "nanochat"


def test_eval_cli_defaults_to_the_trained_format(run_model, capsys):
    from core.__main__ import main

    assert main(["eval", "--model", str(run_model), "--data", "sample", "--split", "test", "--limit", "6"]) == 0
    job = sorted(area("evals").glob("*/results.json"))[-1]
    assert load_results(job.parent)[1]["format"] == "nanochat"


def test_capability_notes_say_what_the_model_is_and_what_it_measured(run_model):
    assert capability_note("tiny").startswith("Model trained from scratch, not fine-tuned for the tutor")
    note = capability_note("run:r1")
    assert note.startswith("Pretrained chat model fine-tuned here in the letters only format")
    assert "not evaluated yet" in note
    run_dir, _ = run_eval(EvalRequest(model="run:r1", data="sample", split="test", limit=6, fmt="nanochat"))
    acc = load_results(run_dir)[1]["accuracy"]
    assert f"measured {100 * acc:.0f}% right on 6 questions of sample (test)" in capability_note("run:r1")
    set_manifest(run_model / "model", format="tutor")
    assert "open questions in sentences" in capability_note("run:r1")
    assert capability_note("nowhere/at-all").startswith("Not downloaded yet")
    from core.training.progress import learning_note

    short = learning_note(12)  # what the worker writes when a run ends this short
    runs.write_status(run_model, state="done", step=12, warning=short)  # the Tutor's and the class link's note
    assert capability_note("run:r1").endswith(". " + short)
    runs.write_status(run_model, state="done", step=12, warning="Only 1 optimizer step: [click](http://x.y)")
    assert "optimizer step" not in capability_note("run:r1")  # not the worker's sentence: not repeated


def test_training_suggests_from_what_the_model_is_not_its_name(tiny_model_dir, tmp_path):
    folder = tmp_path / "my-tiny"  # `model tiny --out DIR`: a from-scratch model under any name
    shutil.copytree(tiny_model_dir, folder)
    assert suggested_recipe(str(folder)) == "tiny" and suggested_format("tiny", str(folder)) == "paper"
    set_manifest(folder, pretrained=True, family="llama")
    assert suggested_recipe(str(folder)) == "cpu-pretrained"  # no GPU here
    assert suggested_format("cpu-pretrained", str(folder)) == "tutor"
    assert suggested_recipe("somebody/unknown") == "default"


def test_tutor_page_shows_the_capability_note_and_examples_typed_as_a_student_would(run_model):
    at = AppTest.from_file(str(PAGES / "5_Tutor.py"), default_timeout=120).run()
    assert not at.exception
    assert at.selectbox(key="model").value == "run:r1"
    assert any(i.value.startswith("Pretrained chat model fine-tuned here in the letters only format")
               for i in at.info)
    at.number_input(key="max_new").set_value(4).run()
    at.button(key="example_0").click().run()
    assert not at.exception
    user = [m.markdown[0].value for m in at.chat_message if m.name == "user"][0]
    # Typed as a student would; the run's own format (nanochat) is used inside, to score the options.
    assert not user.startswith("Multiple Choice question: ") and " (A) " in user and " (B) " in user
    reply = [m.markdown[0].value for m in at.chat_message if m.name == "assistant"][0]
    assert reply.startswith("The answer is (") or "not sure" in reply
    at.selectbox(key="model").set_value("tiny").run()
    assert any(i.value.startswith("Model trained from scratch") for i in at.info)


def test_tutor_page_grade_shapes_the_system_prompt(run_model):
    at = AppTest.from_file(str(PAGES / "5_Tutor.py"), default_timeout=120).run()
    at.selectbox(key="grade").set_value(5).run()
    assert not at.exception
    assert any("grade 5 student" in c.value for c in at.caption)


def test_compare_page_defaults_to_the_fine_tuned_models_format(run_model):
    at = AppTest.from_file(str(PAGES / "4_Compare.py"), default_timeout=120).run()
    assert not at.exception
    assert at.selectbox(key="model_b").value == "run:r1"
    fmt = [s for s in at.selectbox if s.key.startswith("fmt")][0]
    assert fmt.value == "nanochat"


def test_the_estimate_warns_when_the_budget_is_too_short_to_learn(tiny_model_dir):
    from core.training.jobs import estimate, too_short
    from core.training.recipes import build_config

    assert "fewer than the 100 warm-up steps" in too_short(40, eval_every=50, warmup=100)
    assert "fewer than one evaluation interval (50 steps)" in too_short(40, eval_every=50, warmup=0.05)
    assert too_short(400, eval_every=50, warmup=0.05) == ""
    short = estimate(build_config(str(tiny_model_dir), "sample", recipe="tiny", minutes=0.01))
    assert "too short to learn" in short.warning
    long = estimate(build_config(str(tiny_model_dir), "sample", recipe="tiny", fmt="paper", epochs=1, eval_every=10))
    assert long.warning == "" and long.examples == 3824  # the sample's train split, one conversation a row
    tutor = estimate(build_config(str(tiny_model_dir), "sample", recipe="tiny", fmt="tutor", epochs=1))
    assert tutor.examples > 3824  # its open turns are examples too


def test_a_tutor_format_model_is_offered_an_open_example_question():
    from core.serving.chat import example_questions

    paper, tutor = example_questions(2, "paper"), example_questions(2, "tutor")
    assert len(paper) == 2 and tutor[:2] == paper  # same multiple-choice questions, same rendering
    assert tutor[2] == ("What do plants need to grow?", "What do plants need to grow?")
