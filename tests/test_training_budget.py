"""A run's budget buys training: the in-training evaluation sized to the run, a stop honoured inside an
evaluation, the status saying what the worker does, the thread count and step time measured on this
machine and remembered, and a plain note when a run ended with too few steps to learn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_questions
from core import access
from core.jobs import runs
from core.jobs.runs import Status
from core.training import machine
from core.training.progress import (
    EVAL_FLOOR_S,
    EVAL_SHARE,
    LEARNING_STEPS,
    MIN_EVAL_QUESTIONS,
    eval_plan,
    learning_note,
    snapshot,
)
from core.training.recipes import build_config, get_recipe


@pytest.fixture
def toy_source(tmp_path) -> Path:
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(150)))
    return path


def test_the_evaluation_plan_never_takes_more_than_its_share_of_the_run():
    # a 5-minute budget, 0.9 s per evaluated question (SmolLM2 on a busy CPU): 30 s of evaluation in all
    k, n = eval_plan(300.0, 0.9, 100)
    assert k >= MIN_EVAL_QUESTIONS and n >= 1 and k * n * 0.9 <= EVAL_SHARE * 300.0
    # a long run affords the recipe's whole slice at every point
    assert eval_plan(3600.0, 0.05, 100) == (100, 6)
    # too little time for even one slice of MIN_EVAL_QUESTIONS: one small evaluation inside the floor
    k, n = eval_plan(20.0, 2.0, 100)
    assert n == 1 and 1 <= k < MIN_EVAL_QUESTIONS and k * 2.0 <= EVAL_FLOOR_S
    assert eval_plan(300.0, 0.9, 0) == (0, 0)


def test_a_run_short_of_steps_says_so():
    assert learning_note(LEARNING_STEPS) == ""
    note = learning_note(2)
    assert "Only 2 optimizer steps" in note and str(LEARNING_STEPS) in note


def test_the_eta_counts_down_between_the_workers_writes(tmp_path):
    from core.jobs.runs import RunInfo

    st = Status(state="running", step=3, total=10, eta=100.0, elapsed=50.0, elapsed_at=1000.0, started=900.0)
    info = RunInfo(run_dir=tmp_path, name="r", config={}, status=st, created=900.0)
    assert snapshot(info, now=1000.0).eta == 100.0
    assert snapshot(info, now=1030.0).eta == 70.0
    assert snapshot(info, now=1030.0).elapsed == 80.0


def test_threads_are_measured_once_remembered_and_overridable(monkeypatch):
    monkeypatch.delenv(machine.THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    calls = []
    monkeypatch.setattr(machine, "measure_threads", lambda c: calls.append(c) or {n: 100.0 / n for n in c})
    threads, how = machine.pick_threads(now=1000.0)
    assert threads == 1 and "measured now" in how  # one thread multiplied fastest
    assert machine.pick_threads(now=1100.0)[0] == 1 and len(calls) == 1  # remembered in the app home
    machine.pick_threads(now=1000.0 + machine.THREADS_TTL + 1)
    assert len(calls) == 2  # measured again once the figure is old
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert machine.pick_threads()[0] == 2
    monkeypatch.setenv(machine.THREADS_ENV, "3")
    assert machine.pick_threads()[0] == 3


def test_a_real_measurement_picks_a_thread_count_this_machine_has(monkeypatch):
    import os

    monkeypatch.delenv(machine.THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    threads, how = machine.pick_threads()
    assert 1 <= threads <= (os.cpu_count() or 1) and "torch threads" in how


def test_step_times_are_remembered_per_model_and_recipe():
    full, frozen = get_recipe("cpu-pretrained"), get_recipe("cpu-frozen")
    assert machine.step_seconds("m", full, "tutor") is None
    machine.record_step_time("m", full, "tutor", "cpu", [2.0, 3.0, 100.0])
    assert machine.step_seconds("m", full, "tutor") == 3.0  # the median: a slow step does not move it
    assert machine.step_seconds("m", frozen, "tutor") is None  # another recipe's cost is not this one's
    assert machine.step_seconds("m", get_recipe("cpu-pretrained", freeze_fraction=0.0, lr=1e-5), "tutor") == 3.0


def test_a_stop_during_an_evaluation_ends_the_run_stopped_and_resumable(tiny_model_dir, toy_source, monkeypatch):
    """The stop request arrives while the worker evaluates (written by the evaluation's first batch):
    the evaluation is abandoned at the next batch, a checkpoint is saved, and the run ends stopped."""
    from core.training import validation
    from core.training.worker import run_worker

    cfg = build_config(str(tiny_model_dir), str(toy_source), recipe="tiny", fmt="paper", batch_size=8, epochs=3,
                       eval_every=2, eval_examples=40, save_every=100)
    run_dir = runs.create_run(toy_source.parent / "runs", cfg.to_dict())
    real_collate, seen = validation.collate, []

    def collate_then_stop(examples, pad_id):
        seen.append(runs.read_status(run_dir).message)
        if len(seen) == 1:
            runs.request_stop(run_dir, actor=access.LOCAL)
        return real_collate(examples, pad_id)

    monkeypatch.setattr(validation, "collate", collate_then_stop)
    assert run_worker(run_dir) == 0
    st = runs.read_status(run_dir)
    assert st.state == "stopped" and "resume" in st.message
    assert seen[0].startswith("evaluating")  # the status said what the worker was doing
    assert len(seen) == 1  # abandoned before its second batch
    assert not any("eval_loss" in r for r in runs.read_metrics(run_dir))
    assert (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir())


def test_a_budgeted_run_remembers_its_step_time_and_keeps_evaluation_small(tiny_model_dir, toy_source):
    from core.training.worker import run_worker

    cfg = build_config(str(tiny_model_dir), str(toy_source), recipe="tiny", fmt="paper", batch_size=8,
                       minutes=0.15, eval_examples=40, save_every=10 ** 6)
    run_dir = runs.create_run(toy_source.parent / "runs", cfg.to_dict())
    assert run_worker(run_dir) == 0
    st = runs.read_status(run_dir)
    assert st.state == "done"
    assert st.extra["eval_share"] is not None and 0 <= st.extra["eval_share"] < 1
    assert 0 < st.extra["train_seconds"] and 0 <= st.extra["eval_seconds"]  # the run's own timings
    assert st.extra["train_seconds"] + st.extra["eval_seconds"] <= st.extra["run_seconds"] + 0.2  # rounding
    evals = [r for r in runs.read_metrics(run_dir) if "eval_loss" in r]
    assert evals and all(r["eval_seconds"] >= 0 for r in evals)
    assert machine.step_seconds(str(tiny_model_dir), cfg.recipe, "paper") > 0
    hist = runs.read_metrics(run_dir)
    assert all(r["answer_loss"] is not None for r in hist if "loss" in r)
    if st.step < LEARNING_STEPS:
        assert "optimizer step" in st.extra["warning"]
    else:
        assert st.extra["warning"] == ""


def test_the_estimate_says_how_long_a_fine_tune_needs_here():
    from core.training.jobs import too_short

    note = too_short(10, eval_every=100, warmup=0.05, step_seconds=6.0, pretrained=True)
    assert f"needs about {LEARNING_STEPS}" in note and "about 7 minutes on this machine" in note  # 64 x 6 s x 1.15
    assert too_short(LEARNING_STEPS, eval_every=100, warmup=0.05, step_seconds=6.0, pretrained=True) == ""
    recipe = get_recipe("cpu-pretrained")
    assert machine.minutes_to_learn("m", recipe, "tutor") is None
    machine.record_step_time("m", recipe, "tutor", "cpu", [6.0])
    assert machine.minutes_to_learn("m", recipe, "tutor") == pytest.approx(LEARNING_STEPS * 6.0 * 1.1 / 60)


def test_the_slowed_evaluation_knob_sleeps_before_each_batch_and_still_stops_at_once(monkeypatch):
    """SQA_TEST_EVAL_DELAY (the browser test's slow machine): a sleep before every evaluation batch, in
    slices that each check for a stop, so a stop request is not delayed by the knob itself."""
    from core.training import validation

    slept: list[float] = []
    monkeypatch.setattr(validation.time, "sleep", slept.append)
    monkeypatch.setenv(validation.DELAY_ENV, "0.5")
    assert validation.batch_delay() == 0.5
    calls = []
    wait = validation.slowed(lambda: calls.append(1), validation.batch_delay())
    clock = iter(range(10 ** 6))
    monkeypatch.setattr(validation.time, "monotonic", lambda: next(clock) * 0.1)  # each reading 0.1 s later
    wait()
    assert sum(slept) == pytest.approx(0.4) and len(calls) == len(slept) + 1  # checked around every slice

    class Stop(Exception):
        pass

    def stop_now():
        raise Stop

    slept.clear()
    with pytest.raises(Stop):
        validation.slowed(stop_now, 5.0)()
    assert slept == []  # a stop already requested ends it before any sleep
    for bad in ("", "x", "-1", "nan"):
        monkeypatch.setenv(validation.DELAY_ENV, bad)
        assert validation.batch_delay() == 0.0
    assert validation.slowed(None, 0.0) is None
