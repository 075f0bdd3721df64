"""AppTest of the Train page over run folders written directly: one running, one finished."""

from __future__ import annotations

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.home import area
from core.jobs import runs
from core.training.recipes import build_config

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "3_Train.py")


def write_run(name: str, state: str, steps: int = 6) -> os.PathLike:
    d = runs.create_run(area("runs"), build_config("tiny", "sample", recipe="tiny", lr=1e-3 if state == "done"
                                                   else 4e-3).to_dict(), name=name)
    for s in range(1, steps + 1):
        rec = {"step": s, "epoch": s / 3, "loss": 5.0 / s, "lr": 1e-3, "grad_norm": 1.0, "tokens_per_s": 900.0,
               "samples_per_s": 9.0, "peak_memory": 2**28, "elapsed": float(s), "eta": float(steps - s)}
        if s % 3 == 0:
            rec.update(eval_loss=4.0 / s, eval_accuracy=0.4 + s / 100)
        runs.append_metrics(d, rec)
    extra = {"best_eval_loss": 0.66, "best_eval_accuracy": 0.46, "progress": 0.5, "eta": 12.0}
    # a running run's pid must be alive: this test process is
    runs.write_status(d, state=state, pid=os.getpid(), step=steps, total=12, started=1.0e9, **extra)
    return d


def test_train_page_shows_running_and_finished_runs():
    done = write_run("finished-run", "done")
    running = write_run("live-run", "running")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    md = " ".join(m.value for m in at.markdown)
    assert "live-run" in md and "running" in md  # the active run is shown first
    assert [b.label for b in at.button if b.label == "Stop"]
    frame = at.dataframe[0].value
    assert set(frame["run"]) == {"finished-run", "live-run"}
    assert "recipe.recipe" not in str(at.dataframe)
    # Stop writes the request file the worker polls
    next(b for b in at.button if b.label == "Stop").click().run()
    assert not at.exception
    assert runs.stop_requested(running) and not runs.stop_requested(done)
    # the finished run: a resume is refused for done runs, so no Resume button; charts and the diff render
    at.selectbox(key="train_run_pick").set_value("finished-run").run()
    assert not at.exception
    assert not [b for b in at.button if b.label == "Resume"]
    assert any("recipe.lr" in str(df.value.index.tolist()) for df in at.dataframe)


def test_train_page_without_runs_offers_the_launch_form():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="tr_model").set_value("tiny").run()  # the page proposes the pretrained preset first
    assert not at.exception
    assert any(b.label == "Launch" for b in at.button)
    assert any("No runs yet" in i.value for i in at.info)
    # the tiny preset starts on its from-scratch recipe and the answer-only format; another recipe, the app's
    assert (at.selectbox(key="tr_recipe_tiny").value, at.selectbox(key="tr_format_tiny").value) == ("tiny", "paper")
    at.selectbox(key="tr_recipe_tiny").set_value("default").run()
    assert at.selectbox(key="tr_format_default").value == "paper_ale"


def test_train_page_refuses_an_invalid_launch():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="tr_data").set_value("(a file or folder)").run()
    at.text_input(key="tr_data_path").input("/nonexistent/questions.jsonl").run()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception
    assert at.error and runs.list_runs(area("runs")) == []


def test_the_simple_form_comes_first_and_expert_settings_sit_behind_advanced():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="tr_model").set_value("tiny").run()  # the page proposes the pretrained preset first
    assert not at.exception
    advanced = next(e for e in at.expander if e.label.startswith("Advanced"))
    inside = {w.key for w in advanced.number_input} | {w.key for w in advanced.selectbox}
    assert {"tr_lr_tiny", "tr_bs_tiny", "tr_recipe_tiny", "tr_format_tiny"} <= inside
    outside = {w.key for w in at.number_input if not w.key.startswith("sw_")} - inside  # sw_: the sweep form
    assert outside == {"tr_b_minutes_tiny"}  # how long: the only number before Advanced
    assert any(c.value.startswith("Recipe **tiny**: From-scratch recipe") for c in at.caption)


def test_the_run_just_launched_is_the_one_shown_with_its_name(monkeypatch):
    import core.training.jobs as jobs

    write_run("older-run", "done")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.selectbox(key="train_run_pick").value == "older-run"

    def start_without_a_worker(cfg, name=None, root=None, env=None, actor=None):  # the run folder, as start_training writes it
        return runs.create_run(area("runs"), cfg.to_dict(), "newer-run")

    monkeypatch.setattr(jobs, "start_training", start_without_a_worker)
    at.text_input(key="tr_label").input("grade 3 science").run()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception
    assert at.selectbox(key="train_run_pick").value == "newer-run"
    assert runs.read_config(area("runs") / "newer-run")["label"] == "grade 3 science"
    md = " ".join(m.value for m in at.markdown)
    assert "grade 3 science (newer-run)" in md
    assert "grade 3 science (newer-run)" in set(at.dataframe[0].value["run"])
    assert at.text_input(key="tr_label").value == ""  # the name box is empty for the next run (issue 24)


def test_the_table_and_the_header_show_the_same_step_and_duration():
    write_run("live-run", "running")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    row = at.dataframe[0].value.iloc[0]
    bar = at.get("progress")[0].proto.text
    assert f"step {row['step']} of ~12" in bar and f"trained for {row['trained for']}" in bar


def test_deleting_asks_again_for_every_run():
    for name in ("run-a", "run-b", "run-c"):
        write_run(name, "done")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    victim = at.selectbox(key="del_pick").value
    sure = next(c for c in at.checkbox if c.label == "Yes, delete it")
    sure.check().run()
    assert not next(b for b in at.button if b.key == "del_button").disabled
    next(b for b in at.button if b.key == "del_button").click().run()
    assert not at.exception
    assert victim not in [r.name for r in runs.list_runs(area("runs"))]
    assert at.selectbox(key="del_pick").value != victim
    assert not next(c for c in at.checkbox if c.label == "Yes, delete it").value
    assert next(b for b in at.button if b.key == "del_button").disabled
    # ticking it, then picking another run, asks again too
    next(c for c in at.checkbox if c.label == "Yes, delete it").check().run()
    other = next(n for n in at.selectbox(key="del_pick").options if n != at.selectbox(key="del_pick").value)
    at.selectbox(key="del_pick").set_value(other).run()
    assert not next(c for c in at.checkbox if c.label == "Yes, delete it").value


def test_train_page_launches_a_run_that_reports_to_the_chosen_trackers(tiny_model_dir, tmp_path):
    import json
    import time

    from conftest import make_questions

    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(60)))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="tr_model").set_value("(a local folder)").run()
    at.text_input(key="tr_model_path").input(str(tiny_model_dir)).run()
    at.selectbox(key="tr_data").set_value("(a file or folder)").run()
    at.text_input(key="tr_data_path").input(str(data)).run()
    next(m for m in at.multiselect if m.label == "Also log to").set_value(["tensorboard"])
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception and not at.error
    [run] = runs.list_runs(area("runs"))
    assert run.config["report_to"] == ["tensorboard"]
    runs.request_stop(run.run_dir, cancel=True)
    deadline = time.time() + 120
    while not runs.read_status(run.run_dir).terminal and time.time() < deadline:
        time.sleep(0.2)
    assert runs.read_status(run.run_dir).terminal


def test_a_run_waiting_for_the_device_is_shown_queued_with_the_holder_everywhere():
    d = write_run("waiting-run", "queued")
    runs.write_status(d, waiting_for="training other-run", message="waiting for the device")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("waiting-run** (waiting for training other-run)" in i.value for i in at.info)
    md = " ".join(m.value for m in at.markdown)
    assert "queued" in md and "running" not in md  # the header says what the table says
    assert set(at.dataframe[0].value["state"]) == {"queued"}


def test_a_visitor_sees_launch_and_delete_disabled_with_the_reason(monkeypatch):
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    write_run("finished-run", "done")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    for key in ("tr_launch", "del_button", "sw_launch"):
        button = at.button(key=key)
        assert button.disabled and "admin password" in button.help, key


def test_the_page_charts_the_answer_letter_and_warns_while_one_letter_takes_most_answers():
    d = runs.create_run(area("runs"), build_config("tiny", "sample", recipe="tiny").to_dict(), name="letters-run")
    for s in range(1, 7):
        rec = {"step": s, "loss": 2.0 / s, "answer_loss": 0.9, "lr": 1e-3, "lr:matrices (Muon)": 2e-2,
               "lr:embedding (AdamW)": 0.2}
        if s % 3 == 0:  # a model answering A to 90% of questions where A is right on 40%
            rec.update(eval_accuracy=0.4, eval_answer_loss=0.95, eval_top_letter="A", eval_top_letter_share=0.9,
                       eval_top_letter_gold_share=0.4)
        runs.append_metrics(d, rec)
    runs.write_status(d, state="done", step=6, total=6, started=1.0e9, answer_guess_loss=0.96, answer_prior_loss=0.8)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "guessing from letter frequency" in warnings and "A is its answer to 90%" in warnings
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    answer = next(c for c in charts if "Answer-letter loss" in c)
    assert '"guessing"' in answer and '"letter prior only"' in answer  # both reference lines drawn
    assert any("Most common answer letter" in c for c in charts)
    rates = next(c for c in charts if "Learning rate (each optimizer group)" in c)
    assert "matrices (Muon)" in rates and "embedding (AdamW)" in rates  # every group's actual rate
    # the same run, learning: no warning
    runs.append_metrics(d, {"step": 9, "loss": 0.1, "answer_loss": 0.3, "eval_accuracy": 0.7, "eval_top_letter": "B",
                            "eval_top_letter_share": 0.45, "eval_top_letter_gold_share": 0.42})
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not any("guessing from letter frequency" in w.value for w in at.warning)
