"""Faults a run folder or the app home can hold, each survived: damaged status and metrics, symlinks,
read-only folders, damaged and half-written checkpoints, a dry run into an existing folder, a damaged
registry, a stale pid file; and the evaluation cache key follows the tokenizer and chat template."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import make_questions
from core.errors import StudioError
from core.home import PROJECT_ROOT, area
from core.jobs import lifecycle, runs
from core.training.recipes import build_config

TRAIN_PAGE = str(PROJECT_ROOT / "views" / "3_Train.py")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def a_run(name: str, state: str = "stopped") -> Path:
    d = runs.create_run(area("runs"), build_config("tiny", "sample", recipe="tiny").to_dict(), name=name)
    runs.write_status(d, state=state, step=2, total=4)
    for s in (1, 2):
        runs.append_metrics(d, {"step": s, "loss": 3.0 / s, "lr": 1e-3})
    return d


# ---- damaged status and metrics ---------------------------------------------------------------------

@pytest.mark.parametrize("content", ['[1, 2, 3]', '"running"', '{"state": "running", "step": "many", "pid": "x"}',
                                     '{"state": "flying"}', '{"state": "done", "best_eval_accuracy": "high"}'])
def test_a_status_of_the_wrong_shape_shows_that_run_as_damaged(content):
    a_run("good")
    bad = a_run("bad")
    (bad / "status.json").write_text(content)
    listed = {r.name: r for r in runs.list_runs(area("runs"))}
    assert listed["good"].status.state == "stopped" and not listed["good"].status.damaged
    assert listed["bad"].status.damaged
    assert listed["bad"].status.state in ("crashed", "done")  # never a live state it cannot prove
    out = cli("runs", "list")
    assert out.returncode == 0 and "bad" in out.stdout and "good" in out.stdout, out.stderr
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60).run()
    assert not at.exception
    at.selectbox(key="train_run_pick").set_value("bad").run()
    assert not at.exception and any("damaged" in w.value for w in at.warning)


def test_a_damaged_config_shows_the_run_as_damaged_not_an_error():
    a_run("good")
    bad = a_run("bad")
    (bad / "config.json").write_text('["not", "a", "config"]')
    listed = {r.name: r for r in runs.list_runs(area("runs"))}
    assert listed["bad"].status.damaged and listed["bad"].config == {}
    assert cli("runs", "list").returncode == 0
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60).run()
    at.selectbox(key="train_run_pick").set_value("bad").run()
    assert not at.exception


def test_metrics_lines_with_wrongly_typed_fields_are_skipped_and_reported():
    d = a_run("r")
    with open(d / "metrics.jsonl", "a") as f:
        f.write('{"step": "3", "loss": 1.0}\n{"step": 4, "loss": "low"}\n{"step": 5, "loss": true}\n[5]\n')
    runs.append_metrics(d, {"step": 6, "loss": 0.5})
    reader = runs.MetricsReader(d)
    reader.read_new()
    assert [r["step"] for r in reader.history] == [1, 2, 6] and reader.skipped == 4
    at = AppTest.from_file(TRAIN_PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("4 unreadable metrics lines" in w.value for w in at.warning)


# ---- liveness: pid, start time, heartbeat -----------------------------------------------------------------

def test_a_reused_pid_or_a_silent_worker_reads_as_crashed():
    d = a_run("r", state="running")
    # the pid is alive (this process) but it started at another time: a reused pid, not our worker
    lifecycle.write_status(d, state="running", pid=os.getpid(), pid_start=1)
    assert runs.read_status(d).state == "crashed"
    # the right process, but no heartbeat for longer than STALE_SECONDS
    lifecycle.write_status(d, state="running", pid=os.getpid(), pid_start=lifecycle.process_start(os.getpid()))
    assert runs.read_status(d).state == "running"
    raw = json.loads((d / "status.json").read_text())
    raw["heartbeat"] = time.time() - lifecycle.STALE_SECONDS - 5
    (d / "status.json").write_text(json.dumps(raw))
    st = runs.read_status(d)
    assert st.state == "crashed" and "heartbeat" in st.error


def test_a_stale_launcher_record_never_kills_an_unrelated_process():
    d = a_run("r")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        # the pid is right but the recorded start time is not (the pid file outlived its process)
        (d / lifecycle.LAUNCHER).write_text(json.dumps({"pid": other.pid, "pid_start": 12345, "launched": 0}))
        assert lifecycle.terminate(d) is False
        (d / lifecycle.LAUNCHER).write_text(json.dumps({"pid": other.pid, "launched": 0}))  # no start time
        assert lifecycle.terminate(d) is False
        assert other.poll() is None  # still running
        start = lifecycle.process_start(other.pid)
        (d / lifecycle.LAUNCHER).write_text(json.dumps({"pid": other.pid, "pid_start": start, "launched": 0}))
        assert lifecycle.terminate(d, grace=5) is True
        assert other.wait(10) is not None
    finally:
        other.kill()


# ---- symlinks ------------------------------------------------------------------------------------------

def test_symlinks_inside_a_run_folder_are_never_followed(tmp_path):
    d = a_run("r")
    secret = tmp_path / "secret.txt"
    secret.write_text('{"step": 1, "loss": 42.0}\nTOP SECRET\n')
    (d / "metrics.jsonl").unlink()
    (d / "metrics.jsonl").symlink_to(secret)
    (d / "log.txt").symlink_to(secret)
    assert runs.read_metrics(d) == []  # not read through the link
    assert "SECRET" not in runs.log_tail(d)
    runs.append_metrics(d, {"step": 3, "loss": 1.0})  # not written through the link
    assert secret.read_text() == '{"step": 1, "loss": 42.0}\nTOP SECRET\n'
    assert not (d / "metrics.jsonl").is_symlink() and runs.read_metrics(d) == [{"step": 3, "loss": 1.0}]
    # a symlinked run folder is neither listed, resolved nor deleted
    outside = tmp_path / "elsewhere"
    shutil.copytree(a_run("real"), outside)
    (area("runs") / "evil").symlink_to(outside)
    assert "evil" not in [r.name for r in runs.list_runs(area("runs"))]
    with pytest.raises(StudioError):
        runs.resolve_run("run:evil")
    with pytest.raises(StudioError):
        runs.delete_run(area("runs") / "evil")
    assert (outside / "config.json").exists()
    # a symlinked checkpoints folder is replaced, never written through
    from core.training.setup import clean_partial_writes, last_checkpoint

    (d / "checkpoints").symlink_to(outside, target_is_directory=True)
    (outside / "step_9").mkdir()
    (outside / "step_9" / "trainer_state.json").write_text("{}")
    assert last_checkpoint(d) is None
    clean_partial_writes(d)
    assert not (d / "checkpoints").exists() and (outside / "step_9").exists()


# ---- read-only folders ---------------------------------------------------------------------------------

def test_a_read_only_run_folder_gives_a_clear_message_for_resume_stop_and_delete():
    from core.training.jobs import resume_training

    stopped, live = a_run("stopped"), a_run("live", state="running")
    lifecycle.write_status(live, state="running", pid=os.getpid())
    for d in (stopped, live):
        d.chmod(0o555)
    try:
        with pytest.raises(StudioError, match="read-only"):
            resume_training(stopped)
        with pytest.raises(StudioError, match="read-only"):
            runs.request_stop(live)
        with pytest.raises(StudioError, match="read-only"):
            runs.delete_run(stopped)
        out = cli("runs", "delete", "stopped")
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and "read-only" in out.stderr
        assert "Traceback" not in out.stderr
    finally:
        for d in (stopped, live):
            d.chmod(0o755)
    assert stopped.exists() and not runs.stop_requested(live)


# ---- checkpoints ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_damaged_latest_checkpoint_falls_back_and_half_written_ones_are_cleared(tiny_model_dir, tmp_path):
    from core.training.jobs import resume_training, start_training

    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(150)))
    cfg = build_config(str(tiny_model_dir), str(data), recipe="tiny", batch_size=2, epochs=20, save_every=2,
                       eval_every=1000, eval_examples=10, keep_checkpoints=2)
    run_dir = start_training(cfg)
    deadline = time.time() + 120
    while len(list((run_dir / "checkpoints").glob("step_*"))) < 2 or runs.read_status(run_dir).step < 5:
        assert time.time() < deadline, runs.log_tail(run_dir)
        time.sleep(0.2)
    runs.request_stop(run_dir, cancel=True)
    while not runs.read_status(run_dir).terminal:
        time.sleep(0.2)
    cks = sorted((run_dir / "checkpoints").glob("step_*"), key=lambda p: int(p.name[5:]))
    latest, previous = cks[-1], cks[-2]
    (latest / "optimizer.pt").write_bytes(b"torn")  # damaged
    for f in latest.glob("*.safetensors"):
        f.write_bytes(b"torn")
    # a checkpoint and a final model whose writing was interrupted (kill -9 mid-write)
    partial = run_dir / "checkpoints" / ".step_99.abc123.partial"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"half")
    (run_dir / ".model.xyz.partial").mkdir()
    resume_training(run_dir)
    deadline = time.time() + 120
    while runs.read_status(run_dir).step <= int(previous.name[5:]) + 1:
        st = runs.read_status(run_dir)
        assert st.active and time.time() < deadline, (st, runs.log_tail(run_dir))
        time.sleep(0.2)
    runs.request_stop(run_dir, cancel=True)
    while not runs.read_status(run_dir).terminal:
        time.sleep(0.2)
    log = (run_dir / "log.txt").read_text()
    assert f"{latest.name} cannot be read" in log and f"resumed from checkpoint step {previous.name[5:]}" in log
    assert not partial.exists() and not (run_dir / ".model.xyz.partial").exists()


# ---- publishing, registries, the evaluation cache ------------------------------------------------------------

def test_publish_dry_run_never_deletes_an_existing_folder(tiny_model_dir, tmp_path):
    d = a_run("done", state="done")
    shutil.copytree(tiny_model_dir, d / "model")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    out = cli("publish", "run:done", "--repo", "me/tutor", "--dry-run", str(precious))
    assert out.returncode == 2 and "already exists" in out.stderr and out.stderr.count("\n") == 1
    assert (precious / "thesis.txt").read_text() == "years of work" and len(list(precious.iterdir())) == 1
    out = cli("publish", "run:done", "--repo", "me/tutor", "--dry-run", str(tmp_path / "new"))
    assert out.returncode == 0 and (tmp_path / "new" / "README.md").exists()


def test_a_damaged_local_folders_registry_is_reported_and_skipped():
    from core.models.catalogue import list_models
    from core.models.locations import registered_folders, registry_path

    for content in ("[1, 2", '{"a": 1}', "[3, 4]"):
        registry_path().write_text(content)
        names = [m.name for m in list_models(check_hub=False)]
        assert "tiny" in names and registered_folders()[1]
    at = AppTest.from_file(str(PROJECT_ROOT / "views" / "2_Models.py"), default_timeout=60).run()
    assert not at.exception and any("damaged" in w.value for w in at.warning)


def test_the_evaluation_cache_key_follows_the_tokenizer_and_the_chat_template(tiny_model_dir):
    from core.evaluation.jobs import model_identity

    first = model_identity(tiny_model_dir)
    config = json.loads((tiny_model_dir / "tokenizer_config.json").read_text())
    template = tiny_model_dir / "chat_template.jinja"
    if template.exists():
        template.write_text(template.read_text() + " ")
    else:
        config["chat_template"] = str(config.get("chat_template", "")) + " "
    (tiny_model_dir / "tokenizer_config.json").write_text(json.dumps(config))
    second = model_identity(tiny_model_dir)
    assert second != first
    tok = tiny_model_dir / "tokenizer.json"
    tok.write_text(tok.read_text() + "\n")
    assert model_identity(tiny_model_dir) != second
