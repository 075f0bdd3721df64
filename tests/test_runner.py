"""The job runner (core.jobs.runner) and the device lease (core.jobs.device), through real processes:
every ending's state and exit code, SIGTERM and Ctrl-C as `stopped` (exit 130), re-attaching to a job
still running, and one holder of the device across processes with the queue visible."""

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.home import PROJECT_ROOT, area
from core.jobs import kinds, runner, runs
from core.jobs.device import device_holder, device_lease, device_queue

# A worker whose work is chosen by argv[2]: done, slow (polls the stop request), deaf (ignores it), fail, bug.
WORKER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from core.errors import StudioError
    from core.jobs import runner

    def work(job):
        how = sys.argv[2]
        job.report(step=1, total=3, message="working")
        if how == "fail":
            raise StudioError("the data has no questions")
        if how == "bug":
            raise ZeroDivisionError("division by zero")
        (job.run_dir / "started").touch()
        while how in ("slow", "deaf"):
            if how == "slow":
                job.check_stop()
            time.sleep(0.05)
        job.final["answer"] = 42

    sys.exit(runner.run(Path(sys.argv[1]), work, holder="test job " + sys.argv[2]))
''')

# Holds the device lease until the file argv[2] appears; writes argv[3] once it holds it.
HOLDER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from core.jobs.device import device_lease

    with device_lease(sys.argv[1], poll=0.05) as held:
        Path(sys.argv[3]).write_text("held")
        while not Path(sys.argv[2]).exists():
            time.sleep(0.05)
''')


def script(tmp_path: Path, text: str, name: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def as_from_a_terminal() -> None:
    """Ctrl-C reaches a command run from a terminal; a suite started in the background (`cmd &` without job
    control) passes SIGINT down ignored, and Python then keeps ignoring it, as it should for such a command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(tmp_path: Path, how: str, config: dict | None = None) -> tuple[Path, subprocess.Popen]:
    run_dir = runs.create_run(area("runs"), config or {"kind": "test"}, name=how)
    proc = subprocess.Popen([sys.executable, str(script(tmp_path, WORKER, "worker.py")), str(run_dir), how],
                            env=runner.child_env(), cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=as_from_a_terminal)
    return run_dir, proc


def wait_for(cond, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_job_that_returns_ends_done_with_its_final_fields_and_exit_0(tmp_path):
    run_dir, proc = start(tmp_path, "done")
    assert proc.wait(60) == 0, proc.stderr.read()
    st = runs.read_status(run_dir)
    assert st.state == "done" and st.extra["answer"] == 42 and st.started and st.ended >= st.started
    assert st.step == 1 and st.message == "done"


@pytest.mark.parametrize("how", ["slow", "deaf"])
def test_sigterm_stops_a_job_stopped_with_exit_130(tmp_path, how):
    run_dir, proc = start(tmp_path, how)
    wait_for(lambda: (run_dir / "started").exists())
    proc.send_signal(signal.SIGTERM)
    if how == "deaf":  # the work never looks at the stop request: a second SIGTERM interrupts it
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 130
    st = runs.read_status(run_dir)
    assert st.state == "stopped" and st.ended and not st.error


def test_ctrl_c_stops_a_job_stopped_with_exit_130(tmp_path):
    run_dir, proc = start(tmp_path, "deaf")
    wait_for(lambda: (run_dir / "started").exists())
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130
    assert runs.read_status(run_dir).state == "stopped"


def test_the_stop_button_stops_a_job_stopped_with_exit_0(tmp_path):
    run_dir, proc = start(tmp_path, "slow")
    wait_for(lambda: (run_dir / "started").exists())
    runs.request_stop(run_dir)
    assert proc.wait(60) == 0
    assert runs.read_status(run_dir).state == "stopped"


def test_a_studio_error_fails_the_job_in_one_line_and_a_bug_with_its_traceback_in_the_log(tmp_path):
    run_dir, proc = start(tmp_path, "fail")
    assert proc.wait(60) == 1
    st = runs.read_status(run_dir)
    assert st.state == "failed" and st.error == "the data has no questions"
    run_dir, proc = start(tmp_path, "bug")
    assert proc.wait(60) == 1
    st = runs.read_status(run_dir)
    assert st.state == "failed" and st.error == "ZeroDivisionError: division by zero"
    assert "Traceback" in proc.stderr.read()


def test_a_job_waits_queued_naming_the_holder_and_runs_once_the_device_is_free(tmp_path):
    with device_lease("training other-run") as held:
        assert held
        run_dir, proc = start(tmp_path, "done")
        wait_for(lambda: runs.read_status(run_dir).waiting_for == "training other-run")
        st = runs.read_status(run_dir)
        assert st.state == "queued" and "in use by training other-run" in st.message
        assert [w.holder for w in device_queue()] == ["test job done"]
    assert proc.wait(60) == 0 and runs.read_status(run_dir).state == "done"
    assert device_queue() == [] and device_holder() is None


def test_reattach_finds_the_job_still_running_and_not_once_it_ended(tmp_path):
    run_dir = runs.create_run(area("evals"), {"kind": "eval", "key": "abc"}, name="slow-eval")
    proc = subprocess.Popen([sys.executable, str(script(tmp_path, WORKER, "worker.py")), str(run_dir), "slow"],
                            env=runner.child_env(), cwd=PROJECT_ROOT)
    wait_for(lambda: (run_dir / "started").exists())
    assert kinds.find_active("eval", lambda c: c.get("key") == "abc") == run_dir
    assert kinds.find_active("eval", lambda c: c.get("key") == "other") is None
    assert [r.name for r in kinds.list_jobs(("eval",))] == ["slow-eval"]
    runs.request_stop(run_dir)
    assert proc.wait(60) == 0
    assert kinds.find_active("eval", lambda c: c.get("key") == "abc") is None


def test_the_device_has_one_holder_across_processes_and_the_queue_is_readable(tmp_path):
    holder = script(tmp_path, HOLDER, "holder.py")
    release_a, release_b = tmp_path / "release-a", tmp_path / "release-b"
    held_a, held_b = tmp_path / "held-a", tmp_path / "held-b"
    a = subprocess.Popen([sys.executable, str(holder), "chat: Tutor page", str(release_a), str(held_a)],
                         env=runner.child_env(), cwd=PROJECT_ROOT)
    wait_for(held_a.exists)
    b = subprocess.Popen([sys.executable, str(holder), "evaluation x", str(release_b), str(held_b)],
                         env=runner.child_env(), cwd=PROJECT_ROOT)
    wait_for(lambda: [w.holder for w in device_queue()] == ["evaluation x"])
    assert device_holder().holder == "chat: Tutor page" and device_holder().pid == a.pid
    with device_lease("this test", poll=0.05, should_stop=lambda: True) as held:  # gives up while a holds it
        assert held is False
    assert not held_b.exists()  # b still waits
    release_a.touch()
    assert a.wait(60) == 0
    wait_for(held_b.exists)
    assert device_holder().holder == "evaluation x" and device_queue() == []
    release_b.touch()
    assert b.wait(60) == 0
    assert device_holder() is None


def test_two_threads_of_one_process_exclude_each_other():
    import threading

    inside, overlap = [], []

    def use(name: str) -> None:
        with device_lease(name, poll=0.01):
            inside.append(name)
            if len(inside) > 1:
                overlap.append(tuple(inside))
            time.sleep(0.2)
            inside.remove(name)

    threads = [threading.Thread(target=use, args=(f"chat {i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert overlap == [] and inside == []


@pytest.mark.slow  # ~35 s on 2 busy cores
def test_ctrl_c_in_the_eval_command_stops_its_job_with_exit_130(tiny_model_dir):
    proc = subprocess.Popen([sys.executable, "-m", "core", "eval", "--model", str(tiny_model_dir), "--data", "sample"],
                            env=runner.child_env(), cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=as_from_a_terminal)

    def evaluating() -> bool:
        jobs = kinds.list_jobs(("eval",))
        return bool(jobs) and jobs[0].status.state == "running" and jobs[0].status.step > 0

    wait_for(evaluating, 120)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130, proc.stderr.read()
    [job] = kinds.list_jobs(("eval",))
    assert job.status.state == "stopped" and not job.status.error  # not "failed", not exit 2
    assert "Traceback" not in proc.stderr.read()


def test_the_jobs_command_lists_every_kind_and_who_holds_the_device(capsys):
    from core.__main__ import main as cli_main

    runs.create_run(area("runs"), {"model": "tiny", "data": "sample", "recipe": {}}, name="a-training-run")
    runs.create_run(area("evals"), {"kind": "eval", "request": {}}, name="an-evaluation")
    runs.create_run(kinds.job_area("model"), {"kind": "model", "request": {}}, name="a-model-job")
    with device_lease("chat: Tutor page"):
        assert cli_main(["runs", "jobs"]) == 0
    out = capsys.readouterr().out
    assert "training run" in out and "a-training-run" in out and "an-evaluation" in out and "a-model-job" in out
    assert "device: in use by chat: Tutor page" in out


def test_the_class_link_is_in_the_one_list_of_jobs():
    folder = area("classroom")  # one class link at a time: its area is its job folder
    assert not kinds.list_jobs(("classlink",))
    runs.write_config(folder, {"kind": "classlink", "model": "tiny", "created": time.time()})
    runner.end(folder, "stopped", message="stopped")
    [row] = kinds.list_jobs(("classlink",))
    assert (row.kind, row.label, row.status.state) == ("classlink", "class link", "stopped")
    assert "classlink" in [r.kind for r in kinds.list_jobs()]
