"""bench.first_hour measures the run a teacher gets: the config it launches is the one the Train page's
Launch builds when nothing is changed, for the model the page proposes and for the tiny preset."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.home import area
from core.jobs import runs

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "3_Train.py")


@pytest.mark.parametrize("model", [None, "tiny"])  # None: whichever model the page proposes
def test_the_bench_launches_the_train_pages_default_run(monkeypatch, model):
    import core.training.jobs as jobs
    from bench.first_hour import page_config

    launched = []

    def start_without_a_worker(cfg, name=None, root=None, env=None, actor=None):  # the folder, no worker
        launched.append(cfg)
        return runs.create_run(area("runs"), cfg.to_dict(), "the-run")

    monkeypatch.setattr(jobs, "start_training", start_without_a_worker)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    if model is not None:
        at.selectbox(key="tr_model").select(model).run()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.exception and len(launched) == 1
    cfg = launched[0]
    assert cfg.data == "sample" and cfg.minutes == 5.0 and cfg.model == (model or cfg.model)
    assert page_config(cfg.model, 5.0).to_dict() == cfg.to_dict()
    assert page_config(cfg.model, 5.0, label="x").to_dict() != cfg.to_dict()  # the comparison can fail


def test_the_bench_table_reads_the_figures_it_wrote():
    from bench.first_hour import table

    res = {"model": "tiny", "busy": "python -c 'while True: pass'", "load": "load 1.0",
           "stop": {"minutes": 0.5, "trials": [{"state": "stopped", "seconds": 1.5}, {"state": "stopped", "seconds": 2.5},
                                               {"state": "done", "seen_evaluating": False}],
                    "stopped": 2, "median_seconds": 2.0, "max_seconds": 2.5}}
    text = table(res)
    assert "median 2.0 s, max 2.5 s (2 of 3 stops inside an evaluation" in text
