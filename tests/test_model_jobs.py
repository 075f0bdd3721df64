"""Model work as background jobs (core.models.jobs): a request is checked whole before anything is written,
and a submitted job ends done with its result (a real worker process)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core import access
from core.errors import StudioError
from core.jobs import kinds, runs
from core.models.jobs import ModelRequest, done_message, result_of


def job_folders() -> list[str]:
    return [r.name for r in kinds.list_jobs(("model",))]


def test_a_bad_or_refused_request_writes_nothing(tiny_model_dir, monkeypatch):
    with pytest.raises(StudioError, match="Give the path of a .gguf file"):
        ModelRequest("import", "/tmp/notes.txt")
    with pytest.raises(ValueError, match="size must be one of"):
        ModelRequest("tiny", size="huge")
    with pytest.raises(StudioError, match="no nanochat architecture"):  # a NanoChat model cannot become a GGUF
        kinds.submit(ModelRequest("export", str(tiny_model_dir)))
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    with pytest.raises(StudioError, match="needs the admin password"):
        kinds.submit(ModelRequest("tiny", size="xs"), actor=access.Actor(address="1.2.3.4"))
    assert job_folders() == []


def test_a_submitted_tiny_model_job_ends_done_with_the_model_folder():
    job = kinds.submit(ModelRequest("tiny", size="xs", seed=1))
    assert job.kind == "model" and job_folders() == [job.run_dir.name]
    deadline = time.monotonic() + 120
    while runs.read_status(job.run_dir).active:
        assert time.monotonic() < deadline, runs.log_tail(job.run_dir)
        time.sleep(0.2)
    st = runs.read_status(job.run_dir)
    assert st.state == "done", st.error + runs.log_tail(job.run_dir)
    folder = result_of(job.run_dir)["folder"]
    assert (Path(folder) / "config.json").exists()
    assert done_message(job.run_dir).startswith("Tiny model (xs) ready in ")
