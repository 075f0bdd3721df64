"""One view of a run's progress (core.training.progress): header, table and CLI read the same numbers."""

from __future__ import annotations

import sys

from core.home import area
from core.jobs import runs
from core.training.progress import (
    EVAL_POINTS,
    elapsed,
    eval_interval,
    eval_period,
    format_duration,
    run_colors,
    snapshot,
    table_row,
)
from core.training.recipes import TrainConfig, build_config


def one_run(**status) -> runs.RunInfo:
    d = runs.create_run(area("runs"), build_config("tiny", "sample", recipe="tiny", label="my first tutor").to_dict())
    if status:
        runs.write_status(d, **status)
    return next(r for r in runs.list_runs(area("runs")) if r.run_dir == d)


def test_a_running_run_reads_one_duration_advanced_since_the_worker_wrote_it(monkeypatch):
    import os

    run = one_run(state="running", pid=os.getpid(), step=40, total=100, started=1000.0, elapsed=90.0,
                  elapsed_at=2000.0, progress=0.4, eta=135.0)
    v = snapshot(run, now=2010.0)
    # the ETA counts down with the duration between the worker's writes (it froze before)
    assert (v.state, v.step, v.total, v.progress, v.elapsed, v.eta) == ("running", 40, 100, 0.4, 100.0, 125.0)
    assert v.title == f"my first tutor ({run.name})"
    row = table_row(v)
    assert row["trained for"] == format_duration(v.elapsed) == "1m 40s" and row["step"] == 40
    assert v.progress_text() == "step 40 of ~100 · 40% · trained for 1m 40s · about 2m 05s left"


def test_a_finished_run_does_not_advance_and_reads_complete():
    run = one_run(state="done", step=120, total=120, started=1000.0, ended=1300.0, elapsed=280.0,
                  elapsed_at=1290.0, progress=1.0, eta=0)
    v = snapshot(run, now=99999.0)
    assert (v.elapsed, v.progress, v.eta) == (280.0, 1.0, None)


def test_a_queued_run_has_no_duration_yet():
    assert snapshot(one_run(), now=5.0).elapsed is None
    assert elapsed(runs.Status(state="queued")) is None


def test_launching_a_resume_keeps_the_progress_and_training_time_of_the_stopped_run():
    run = one_run(state="stopped", step=30, total=0, started=1.0, ended=50.0, elapsed=45.0, elapsed_at=49.0,
                  progress=0.75, eta=15.0, best_eval_loss=0.5)
    runs.launch(run.run_dir, [sys.executable, "-c", "pass"])
    s = runs.read_status(run.run_dir)
    assert (s.step, s.extra["progress"], s.extra["elapsed"], s.extra["best_eval_loss"]) == (30, 0.75, 45.0, 0.5)
    assert "elapsed_at" not in s.extra  # a stale clock would make the next read jump


def test_short_runs_evaluate_often_enough_to_draw_several_points():
    assert eval_interval(50, None) == 50  # a time budget: the interval stays, the period rule adds points
    assert eval_interval(50, 1000) == 50
    assert eval_interval(50, 60) == 60 // EVAL_POINTS
    assert eval_interval(50, 3) == 1
    assert eval_period(300.0) == 300.0 / EVAL_POINTS and eval_period(None) is None


def test_the_label_is_kept_in_the_config_and_validated():
    cfg = build_config("tiny", "sample", label="  grade 3 science  ")
    assert cfg.label == "grade 3 science"
    assert TrainConfig.from_dict(cfg.to_dict()).label == "grade 3 science"
    import pytest

    with pytest.raises(ValueError, match="one line"):
        build_config("tiny", "sample", label="x" * 81)


def test_each_run_keeps_its_colour():
    a = run_colors(["old", "new"])
    b = run_colors(["old", "new", "newest"])
    assert a["old"] == b["old"] and a["new"] == b["new"] and len(set(b.values())) == 3
