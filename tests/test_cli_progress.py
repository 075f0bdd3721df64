"""Progress on the command line (core.progress): plain lines off a terminal, a bar on one (a real pty),
nothing with --quiet; and the long commands use it."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from core import progress
from core.progress import Bar

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(autouse=True)
def _not_quiet():
    progress.set_quiet(False)
    yield
    progress.set_quiet(False)


def test_off_a_terminal_one_line_every_interval_then_a_final_line():
    out, clock = io.StringIO(), Clock()
    with Bar("evaluating", total=100, unit="question", stream=out, every=5, clock=clock) as bar:
        for _ in range(20):  # 20 updates of 5 questions, one second apart
            clock.t += 1
            bar.update(5)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 5  # at 5, 10, 15, 20 s, and the final line
    assert lines[0] == "evaluating: 25/100 questions (25%), 5.00 questions/s, ETA 0:15"
    assert lines[-1] == "evaluating: 100/100 questions (100%), 5.00 questions/s, done in 0:20"


def test_unknown_total_and_a_changing_estimate():
    out, clock = io.StringIO(), Clock()
    bar = Bar("training", unit="step", stream=out, every=0, clock=clock)
    clock.t += 2
    bar.set(4, postfix="loss 2.100")
    clock.t += 2
    bar.set(8, total=16, postfix="loss 1.900")
    bar.close()
    bar.close()  # closing twice writes nothing more
    assert out.getvalue().splitlines() == [
        "training: 4 steps, 2.00 steps/s, loss 2.100",
        "training: 8/16 steps (50%), 2.00 steps/s, ETA 0:04, loss 1.900",
        "training: 8/16 steps (50%), 2.00 steps/s, done in 0:04, loss 1.900",
    ]


def test_quiet_writes_nothing_and_say_is_silenced(capsys):
    progress.set_quiet(True)
    out = io.StringIO()
    with Bar("evaluating", total=3, stream=out, every=0) as bar:
        bar.update(3)
    progress.say("loading the model")
    progress.echo("a log line")  # logs and results are not progress: they still print
    assert out.getvalue() == ""
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == "a log line\n"


def test_download_lines_off_a_terminal(monkeypatch):
    monkeypatch.setenv("SQA_PROGRESS_SECONDS", "0")
    out = io.StringIO()
    cls = progress.tqdm_class(out)
    assert cls is not None
    bar = cls(total=2048, desc="Downloading", unit="B", unit_scale=True, disable=True)  # the Hub passes disable
    bar.update(1024)
    bar.update(1024)
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 2
    assert lines[0].startswith("Downloading:  50%") and lines[1].startswith("Downloading: 100%")
    progress.set_quiet(True)
    assert progress.tqdm_class(out) is None  # quiet: the Hub's own (disabled) bar, so nothing


def _run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a command with stderr (and stdout) on a pseudo-terminal; return (exit code, what it drew)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 rows, 120 columns
    proc = subprocess.Popen(args, cwd=ROOT, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    return {**env, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}


def test_on_a_terminal_a_bar_with_count_rate_and_eta():
    code = ("from core.progress import Bar, say\n"
            "with Bar('evaluating', total=10, unit='question') as bar:\n"
            "    for i in range(10):\n"
            "        bar.update(1)\n"
            "        if i == 4: say('halfway')\n")
    rc, drawn = _run_in_pty([sys.executable, "-c", code], _env())
    assert rc == 0, drawn
    assert "\r" in drawn  # redrawn in place, not one line per update
    assert "evaluating: 100%" in drawn and "10/10" in drawn and "question/s" in drawn
    assert "halfway" in drawn
    final = drawn.replace("\r\n", "\n").split("\n")
    # the message on its own line (the bar was wiped with a carriage return first, then redrawn below)
    assert any(line.split("\r")[-1] == "halfway" for line in final), drawn


def _write_questions(path: Path, n: int) -> Path:
    import json
    from dataclasses import asdict

    from tests.conftest import make_questions

    path.write_text("".join(json.dumps(asdict(q)) + "\n" for q in make_questions(n)))
    return path


@pytest.mark.slow
def test_eval_command_prints_progress_lines_in_a_log_and_nothing_with_quiet(tiny_model_dir, tmp_path):
    data = _write_questions(tmp_path / "q.jsonl", 12)
    env = {**_env(), "SQA_STUDIO_HOME": str(tmp_path / "home"), "SQA_PROGRESS_SECONDS": "0"}
    cmd = [sys.executable, "-m", "core", "eval", "--model", str(tiny_model_dir), "--data", str(data),
           "--batch-size", "4", "--no-cache"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr  # no library bar drawn into the log
    lines = [x for x in r.stderr.splitlines() if x.startswith("evaluating (categorical): ")]
    assert lines[0].startswith("evaluating (categorical): 4/12 questions (33%)")
    assert "done in" in lines[-1] and "12/12" in lines[-1]
    assert "categorical accuracy" in r.stdout
    q = subprocess.run(cmd + ["--quiet"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert q.returncode == 0 and q.stderr == ""
    assert "categorical accuracy" in q.stdout


@pytest.mark.slow
def test_eval_command_on_a_terminal_draws_one_bar_after_loading(tiny_model_dir, tmp_path):
    data = _write_questions(tmp_path / "q.jsonl", 8)
    env = {**_env(), "SQA_STUDIO_HOME": str(tmp_path / "home")}
    rc, drawn = _run_in_pty([sys.executable, "-m", "core", "eval", "--model", str(tiny_model_dir), "--data",
                             str(data), "--batch-size", "4", "--no-cache"], env)
    assert rc == 0, drawn
    assert "evaluating (categorical): 100%" in drawn and "8/8" in drawn
    loading = drawn.rfind("Loading weights")
    assert loading == -1 or loading < drawn.find("evaluating (categorical)")  # never drawn over our bar


def test_library_bars_only_on_a_terminal():
    from huggingface_hub.utils import are_progress_bars_disabled

    assert progress.library_bars(io.StringIO()) is False  # a log file: off
    assert are_progress_bars_disabled()
    progress.set_quiet(True)
    assert progress.library_bars(io.StringIO()) is False


def test_library_bars_with_datasets_imported():
    import datasets  # noqa: F401 - imported, so its own switch is the one used
    from datasets.utils.tqdm import are_progress_bars_disabled

    assert progress.library_bars(io.StringIO()) is False
    assert are_progress_bars_disabled()
