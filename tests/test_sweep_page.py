"""AppTest of the Train page's sweep parts over a sweep folder and member runs written directly: the results
table with the best setting marked, the corrected paired tests, the exports; launching and stopping a sweep."""

from __future__ import annotations

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.evaluation.scoring import EvalResult, Prediction
from core.files import write_json_atomic
from core.jobs import runs
from core.training import sweep_folder, sweep_grid, sweeps

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "3_Train.py")


def write_sweep(state: str = "done") -> Path:
    d = sweeps.create_sweep("tiny", "sample", {"matrix_lr": [0.02, 0.005]}, seeds=[0], minutes=1,
                            eval_questions=40, name="demo")
    qs = sweep_folder.eval_questions(d)
    spec = sweep_folder.read_spec(d)
    for i, m in enumerate(spec["members"]):
        cfg = sweep_grid.member_config(spec, m["setting"], m["seed"], "demo")
        r = runs.create_run(sweep_folder.member_dir(m["name"]).parent, cfg.to_dict(), m["name"])
        for step in range(1, 5):
            runs.append_metrics(r, {"step": step, "loss": 3.0 / step + i, "tokens_per_s": 1000.0 + i, "elapsed": step,
                                    **({"eval_loss": 1.0 + i, "eval_accuracy": 0.6 - 0.2 * i} if step % 2 == 0 else {})})
        runs.write_status(r, state="done", started=1.0e9, ended=1.0e9 + 60, elapsed=60.0, step=4, total=4)
        right = 36 if i == 0 else 12  # the first setting is clearly better
        preds = [Prediction(pid=q.pid, gold=q.answer, pred=q.answer if k < right else (q.answer + 1) % len(q.choices),
                            correct=k < right, n_choices=len(q.choices), groups=[]) for k, q in enumerate(qs)]
        write_json_atomic(d / sweep_folder.EVALS / f"{m['name']}.json",
                          EvalResult(method="categorical", fmt=cfg.format, model=m["name"], predictions=preds).to_dict())
    runs.write_status(d, state=state, pid=os.getpid(), step=2, total=2, started=1.0e9)
    return d


def test_the_sweep_view_shows_the_table_the_best_setting_and_the_significant_difference():
    write_sweep()
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "setting" in df.value.columns and "95% CI" in df.value.columns)
    assert list(table["setting"]) == ["matrix_lr=0.02", "matrix_lr=0.005"]
    assert list(table[""]) == ["★ best", ""] and list(table["accuracy %"]) == [90.0, 30.0]
    assert list(table["tokens/s"]) == [1000, 1001] and list(table["eval loss"]) == [1.0, 2.0]
    md = " ".join(m.value for m in at.markdown)
    assert "matrix_lr=0.005 vs matrix_lr=0.02: -60.0 points" in md and "demo" in md
    assert any("same 40 held-out questions" in c.value for c in at.caption)
    assert len(at.get("download_button")) == 2  # the table as CSV, the model-card section


def test_an_active_sweep_can_be_stopped_and_a_stopped_one_resumed(monkeypatch):
    d = write_sweep(state="running")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    next(b for b in at.button if b.label == "Stop sweep").click().run()
    assert not at.exception and runs.stop_requested(d)
    runs.write_status(d, state="stopped")
    calls = []
    monkeypatch.setattr(sweeps, "resume_sweep", lambda sweep_dir, actor=None: calls.append(Path(sweep_dir).name) or 1)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    next(b for b in at.button if b.label == "Resume sweep").click().run()
    assert not at.exception and calls == ["demo"]


def test_the_sweep_form_launches_a_sweep_of_formats_and_learning_rates(monkeypatch):
    started = []
    monkeypatch.setattr(sweeps, "start_sweep", lambda d, actor=None: started.append(Path(d)) or 1)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.multiselect(key="sw_formats").set_value(["paper", "nanochat"]).run()
    at.text_input(key="sw_lrs").input("0.02, 0.01").run()
    assert any(c.value.startswith("4 runs of 3 min") for c in at.caption)
    at.button(key="sw_launch").click().run()
    assert not at.exception and not at.error
    [d] = started
    spec = sweep_folder.read_spec(d)
    assert spec["grid"] == {"format": ["paper", "nanochat"], "matrix_lr": [0.02, 0.01]}
    assert len(spec["members"]) == 4 and spec["minutes"] == 3.0
