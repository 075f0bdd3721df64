"""Experiment tracking: a real tiny run reports to trackio and TensorBoard, and each tracker's own reader
(trackio's Api and SQLite storage, TensorBoard's EventAccumulator) reads back what metrics.jsonl holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_questions
from core.errors import StudioError
from core.home import area
from core.jobs import runs
from core.training import tracking
from core.training.jobs import start_training
from core.training.recipes import TrainConfig, build_config
from core.training.tracking import TRACKIO_PROJECT, parse_report_to, read_tensorboard

READ_TRACKIO = """
import json, sys
from trackio.api import Api
from trackio.sqlite_storage import SQLiteStorage
name = sys.argv[1]
run = [r for r in Api().runs(sys.argv[2]) if r.name == name][0]
print(json.dumps({"config": run.config, "logs": SQLiteStorage.get_logs(sys.argv[2], name)}, default=str))
"""


@pytest.fixture
def toy_source(tmp_path) -> Path:
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(90)))
    return path


def wait_terminal(run_dir: Path, timeout: float = 120.0) -> runs.Status:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        st = runs.read_status(run_dir)
        if st.terminal:
            return st
        time.sleep(0.2)
    raise AssertionError("the run did not end")


def test_report_to_is_parsed_validated_and_kept_in_the_config():
    assert parse_report_to("trackio, TensorBoard,trackio") == ("trackio", "tensorboard")
    assert parse_report_to("none") == parse_report_to("") == parse_report_to(None) == ()
    with pytest.raises(ValueError, match="unknown tracker 'wandb'"):
        parse_report_to("wandb")
    cfg = build_config("tiny", "sample", recipe="tiny", report_to="tensorboard")
    back = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back.report_to == ("tensorboard",) and back == cfg


def test_a_missing_tracker_package_is_refused_at_launch_before_any_run_folder(tiny_model_dir, toy_source,
                                                                            monkeypatch):
    monkeypatch.setitem(tracking.PACKAGES, "trackio", "trackio_is_not_installed_here")
    cfg = build_config(str(tiny_model_dir), str(toy_source), recipe="tiny", report_to="trackio,tensorboard")
    with pytest.raises(StudioError, match="trackio is not installed: pip install trackio_is_not_installed_here"):
        start_training(cfg)
    assert not any(area("runs").iterdir())


def test_the_cli_refuses_an_unknown_tracker_in_one_line(toy_source):
    p = subprocess.run([sys.executable, "-m", "core", "train", "--model", "tiny", "--data", str(toy_source),
                        "--report-to", "wandb"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.strip() == (
        "error: unknown tracker 'wandb'; choose from trackio, tensorboard (or none)")


def test_a_run_reports_its_metrics_and_config_to_trackio_and_tensorboard(tiny_model_dir, toy_source, studio_home):
    cfg = build_config(str(tiny_model_dir), str(toy_source), recipe="tiny", batch_size=8, eval_every=3,
                       save_every=100, eval_examples=10, epochs=1, report_to="trackio,tensorboard")
    run_dir = start_training(cfg, name="tracked")
    st = wait_terminal(run_dir)
    assert st.state == "done", runs.log_tail(run_dir)
    history = runs.read_metrics(run_dir)
    train_recs = [r for r in history if "loss" in r]
    eval_recs = [r for r in history if "eval_loss" in r]
    assert len(train_recs) >= 3 and eval_recs
    assert "reporting metrics to trackio, tensorboard" in (run_dir / "log.txt").read_text()

    scalars = read_tensorboard(run_dir)  # TensorBoard's own EventAccumulator
    assert [s for s, _ in scalars["loss"]] == [r["step"] for r in train_recs]
    assert [v for _, v in scalars["loss"]] == pytest.approx([r["loss"] for r in train_recs], rel=1e-6)
    assert [s for s, _ in scalars["eval_loss"]] == [r["step"] for r in eval_recs]
    assert [v for _, v in scalars["tokens_per_s"]] == pytest.approx([r["tokens_per_s"] for r in train_recs], rel=1e-6)

    env_dir = studio_home / "trackio"
    out = subprocess.run([sys.executable, "-c", READ_TRACKIO, run_dir.name, TRACKIO_PROJECT], capture_output=True,
                         text=True, timeout=120, env={**__import__("os").environ, "TRACKIO_DIR": str(env_dir)})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["config"]["recipe"]["batch_size"] == 8 and got["config"]["report_to"] == ["trackio", "tensorboard"]
    logged = {(r["step"], "loss"): r["loss"] for r in got["logs"] if "loss" in r}
    logged.update({(r["step"], "eval_loss"): r["eval_loss"] for r in got["logs"] if "eval_loss" in r})
    want = {(r["step"], "loss"): r["loss"] for r in train_recs}
    want.update({(r["step"], "eval_loss"): r["eval_loss"] for r in eval_recs})
    assert logged == pytest.approx(want, rel=1e-9)


def test_a_tracker_that_fails_mid_run_is_closed_and_the_run_goes_on(tmp_path):
    lines = []
    t = tracking.Tracker(tmp_path, ["tensorboard"], {"a": 1}, log=lines.append)
    t.sinks["tensorboard"].add_scalar = lambda *a, **k: (_ for _ in ()).throw(OSError("disk full"))
    t.log({"step": 1, "loss": 2.0})
    assert t.names == [] and "tracker tensorboard failed (OSError: disk full)" in lines[0]
    t.log({"step": 2, "loss": 1.0})  # nothing open: a no-op
    t.close()
