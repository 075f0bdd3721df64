"""core/jobs/runs.py: job folders, honest status, incremental metrics, stop requests, the device slot."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from core.errors import StudioError
from core.home import area
from core.jobs import runs


def test_create_run_writes_config_and_queued_status():
    d = runs.create_run(area("runs"), {"model": "m"}, name="a")
    d2 = runs.create_run(area("runs"), {"model": "m"}, name="a")
    assert d.name == "a" and d2.name == "a-2"
    assert runs.read_config(d)["model"] == "m"
    st = runs.read_status(d)
    assert st.state == "queued" and st.pid is None and not st.terminal


def test_dead_process_with_running_state_reads_as_crashed_with_log_tail():
    d = runs.create_run(area("runs"), {})
    pid = runs.launch(d, [sys.executable, "-c", "print('about to die', flush=True)"])
    runs.write_status(d, state="running", pid=pid)
    deadline = time.time() + 10
    while runs.pid_alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    st = runs.read_status(d)
    assert st.state == "crashed"
    assert "about to die" in st.extra["log_tail"]


def test_final_state_is_believed_while_the_process_still_runs():
    d = runs.create_run(area("runs"), {})
    pid = runs.launch(d, [sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        runs.write_status(d, state="done", pid=pid)
        assert runs.read_status(d).state == "done"
        runs.write_status(d, state="running")
        assert runs.read_status(d).state == "running"
    finally:
        os.kill(pid, 9)


def test_metrics_reader_reads_only_new_lines_and_skips_a_torn_line():
    d = runs.create_run(area("runs"), {})
    reader = runs.MetricsReader(d)
    assert reader.read_new() == []
    runs.append_metrics(d, {"step": 1, "loss": 2.0})
    assert [r["step"] for r in reader.read_new()] == [1]
    with open(d / runs.METRICS, "a") as f:  # a kill -9 in the middle of a write
        f.write('{"step": 2, "lo')
    assert reader.read_new() == []  # an unfinished last line waits
    runs.append_metrics(d, {"step": 3, "loss": 1.0})  # the worker closes the torn line first
    assert [r["step"] for r in reader.read_new()] == [3]
    assert reader.skipped == 1
    assert reader.read_new() == []


def test_metrics_history_drops_steps_undone_by_a_resume():
    d = runs.create_run(area("runs"), {})
    for s in range(1, 6):
        runs.append_metrics(d, {"step": s, "loss": 1.0})
    runs.append_metrics(d, {"step": 3, "resumed_from": 3})
    runs.append_metrics(d, {"step": 4, "loss": 0.5})
    hist = runs.read_metrics(d)
    assert [r["step"] for r in hist if "loss" in r] == [1, 2, 3, 4]


def test_stop_and_cancel_requests():
    d = runs.create_run(area("runs"), {})
    assert not runs.stop_requested(d)
    runs.request_stop(d)
    assert runs.stop_requested(d) and not runs.cancel_requested(d)
    runs.request_stop(d, cancel=True)
    assert runs.cancel_requested(d)


def test_device_slot_is_exclusive_and_waits_queued():
    a = runs.create_run(area("runs"), {}, name="a")
    b = runs.create_run(area("runs"), {}, name="b")
    with runs.device_slot(a) as got:
        assert got
        runs.request_stop(b)  # b would wait forever otherwise; a stop while queued gives up the wait
        with runs.device_slot(b, poll=0.05) as got_b:
            assert got_b is False
    with runs.device_slot(b) as got_b:
        assert got_b


def test_list_and_delete_runs():
    d = runs.create_run(area("runs"), {"model": "x"}, name="one")
    runs.write_status(d, state="done")
    (area("runs") / "not-a-run").mkdir()
    names = [r.name for r in runs.list_runs(area("runs"))]
    assert names == ["one"]
    runs.delete_run(d)
    assert not d.exists()


def test_delete_refuses_an_active_run():
    d = runs.create_run(area("runs"), {})
    pid = runs.launch(d, [sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        runs.write_status(d, state="running", pid=pid)
        with pytest.raises(StudioError, match="stop it"):
            runs.delete_run(d)
    finally:
        os.kill(pid, 9)


def test_unwritable_home_fails_launch_with_a_clear_message(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # works even as root, unlike chmod
    with pytest.raises(StudioError, match="writable folder"):
        runs.create_run(blocker / "runs", {})


def test_full_disk_fails_launch_with_a_clear_message(monkeypatch):
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(runs.shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(StudioError, match="disk .* is full"):
        runs.create_run(area("runs"), {})


def test_corrupt_status_reads_as_crashed():
    d = runs.create_run(area("runs"), {})
    (d / runs.STATUS).write_text("{not json")
    assert runs.read_status(d).state == "crashed"
    assert json.loads((d / runs.CONFIG).read_text())


def test_runs_cli_lists_shows_and_deletes(capsys):
    from core.__main__ import main

    d = runs.create_run(area("runs"), {"model": "m", "data": "sample"}, name="cli-run")
    runs.write_status(d, state="done", step=7, total=7)
    assert main(["runs", "list"]) == 0
    assert "cli-run" in capsys.readouterr().out
    assert main(["runs", "status", "cli-run"]) == 0
    assert '"state": "done"' in capsys.readouterr().out
    assert main(["runs", "resume", "cli-run"]) == 2  # a finished run is not resumed
    assert "has finished" in capsys.readouterr().err
    assert main(["runs", "delete", "cli-run"]) == 0 and not d.exists()
    assert main(["runs", "status", "nope"]) == 2
