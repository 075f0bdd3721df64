"""Evaluation jobs: the cache, a real background worker, failures recorded in the job folder."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conftest import make_questions
from core.errors import StudioError
from core.evaluation.jobs import EvalRequest, find_cached, load_results, run_eval, run_job, start_eval
from core.home import area
from core.jobs import runs


def write_jsonl(path: Path, n: int = 8) -> Path:
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(n)))
    return path


def test_second_identical_evaluation_is_a_cache_hit(tiny_model_dir, tmp_path):
    req = EvalRequest(model=str(tiny_model_dir), data=str(write_jsonl(tmp_path / "q.jsonl")), fmt="paper")
    first, cached = run_eval(req)
    assert not cached and runs.read_status(first).state == "done"
    again, cached = run_eval(req)
    assert cached and again == first
    result, summary = load_results(again)
    assert result.n == 8 and summary["n"] == 8
    # Another method, or changed weights, is another result.
    assert find_cached(EvalRequest(**{**req.__dict__, "method": "plan"})) is None
    weights = tiny_model_dir / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    assert find_cached(req) is None


def test_background_job_reports_progress_and_results(tiny_model_dir, tmp_path):
    req = EvalRequest(model=str(tiny_model_dir), data=str(write_jsonl(tmp_path / "q.jsonl", 6)), fmt="nanochat",
                      batch_size=2)
    job = start_eval(req)
    assert not job.cached
    deadline = time.time() + 90
    while runs.read_status(job.run_dir).active and time.time() < deadline:
        time.sleep(0.5)
    status = runs.read_status(job.run_dir)
    assert status.state == "done", runs.log_tail(job.run_dir)
    assert (status.step, status.total) == (6, 6)
    assert start_eval(req).cached and start_eval(req).run_dir == job.run_dir


def test_a_failing_job_records_a_clear_error(tmp_path):
    run_dir = runs.create_run(area("evals"), {"request": {"model": str(tmp_path / "nowhere"),
                                                          "data": str(write_jsonl(tmp_path / "q.jsonl"))}})
    assert run_job(run_dir) == 1
    status = runs.read_status(run_dir)
    assert status.state == "failed" and "nowhere" in status.error


def test_an_empty_selection_is_refused_before_launch(tiny_model_dir, tmp_path):
    data = str(write_jsonl(tmp_path / "q.jsonl"))
    with pytest.raises(StudioError, match="nosuch"):
        start_eval(EvalRequest(model=str(tiny_model_dir), data=data, split="nosuch"))
    assert runs.list_runs(area("evals")) == []


def test_eval_command_writes_results_and_prints_a_summary(tiny_model_dir, tmp_path, capsys):
    from core.__main__ import main

    data, out = write_jsonl(tmp_path / "q.jsonl", 5), tmp_path / "results.json"
    argv = ["eval", "--model", str(tiny_model_dir), "--data", str(data), "--format", "nanochat", "--out", str(out),
            "--csv", str(tmp_path / "r.csv"), "--markdown", str(tmp_path / "card.md")]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved["summary"]["n"] == 5 and len(saved["result"]["predictions"]) == 5
    assert f"categorical accuracy: {100 * saved['summary']['accuracy']:.2f}%" in printed
    assert (tmp_path / "r.csv").read_text().count("\n") == 6 and "## ScienceQA" in (tmp_path / "card.md").read_text()
    assert main(argv) == 0 and "cached result" in capsys.readouterr().out
    assert main(["eval", "--model", str(tiny_model_dir), "--data", str(tmp_path / "missing.jsonl")]) == 2


def test_eval_against_a_base_prints_the_paired_verdict_counted_from_both_results(tiny_model_dir, tmp_path, capsys):
    from core.__main__ import main
    from core.models.tiny import create_tiny

    other = create_tiny(make_questions(120), tmp_path / "other", size="xs", seed=1)
    data = str(write_jsonl(tmp_path / "q.jsonl", 12))
    common = ["--data", data, "--format", "nanochat"]
    assert main(["eval", "--model", str(other), *common, "--out", str(tmp_path / "base.json")]) == 0
    assert main(["eval", "--model", str(tiny_model_dir), *common, "--out", str(tmp_path / "tuned.json"),
                 "--against", str(other)]) == 0
    printed = capsys.readouterr().out
    right = {name: {p["pid"]: p["correct"] for p in json.loads((tmp_path / f"{name}.json").read_text())
                    ["result"]["predictions"]} for name in ("base", "tuned")}
    fixed = sum(right["tuned"][q] and not right["base"][q] for q in right["base"])
    broke = sum(right["base"][q] and not right["tuned"][q] for q in right["base"])
    points = 100 * (sum(right["tuned"].values()) - sum(right["base"].values())) / 12
    assert f"paired, 12 questions: {points:+.1f} points" in printed
    assert f"fixed {fixed}, broke {broke}; McNemar p = " in printed
    assert "out of 100 correctly than" in printed or "about as many questions correctly" in printed
