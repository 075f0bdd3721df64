"""Sweeps end to end on the 'xs' tiny model and a toy task: members trained in order by real workers, each
scored on the same held-out questions, the table and the corrected paired tests; kill -9 of the member
training now, then a resume of the sweep; the grid's validation and the multiple-comparison statistics."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from conftest import make_questions
from core.errors import StudioError
from core.evaluation.reports import holm, paired_sign_test, pairwise_tests
from core.jobs import runs
from core.training import sweep_folder, sweep_grid, sweep_results, sweeps


@pytest.fixture
def toy_source(tmp_path) -> Path:
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(90)))
    return path


def wait_for(pred, timeout: float = 240.0, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if value := pred():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def make(model: Path, data: Path, **kw) -> Path:
    base = dict(grid={"matrix_lr": [0.02, 0.005]}, seeds=[0], epochs=1, eval_questions=None, recipe="tiny")
    base.update(kw)
    return sweeps.create_sweep(str(model), str(data), **base)


def test_the_grid_takes_format_and_recipe_fields_and_refuses_the_rest():
    assert sweep_grid.parse_grid(["lr=1e-4,3e-4", "format=paper,nanochat", "lora=true,false"]) == {
        "lr": [1e-4, 3e-4], "format": ["paper", "nanochat"], "lora": [True, False]}
    assert len(sweep_grid.settings({"lr": [1, 2], "format": ["a", "b", "c"]})) == 6
    for bad, msg in [(["lr"], "SETTING=V1,V2"), (["colour=red"], "unknown grid setting 'colour'"),
                     (["seed=1,2"], "--seeds"), (["lr=1,1"], "twice"), ([], "empty")]:
        with pytest.raises(ValueError, match=msg):
            sweep_grid.parse_grid(bad)


def test_a_bad_value_or_format_is_refused_before_anything_is_written(tiny_model_dir, toy_source, studio_home):
    with pytest.raises(ValueError, match="unknown prompt format 'no-such-format'"):
        make(tiny_model_dir, toy_source, grid={"format": ["paper", "no-such-format"]})
    with pytest.raises(ValueError, match="matrix_lr must be in"):
        make(tiny_model_dir, toy_source, grid={"matrix_lr": [0.02, 5.0]})
    assert not (studio_home / "sweeps").exists() or not any((studio_home / "sweeps").iterdir())


def test_holm_and_the_paired_sign_test():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    a = {f"q{i}": 1.0 for i in range(30)}
    b = {f"q{i}": 0.0 if i < 20 else 1.0 for i in range(30)}
    t = paired_sign_test(a, b)
    assert (t["a_better"], t["b_better"], t["test"]) == (20, 0, "exact")
    assert t["p"] == pytest.approx(2 * 0.5 ** 20) and t["difference"] == pytest.approx(-20 / 30)
    # seeds pooled: shares per question; one comparison per pair, Holm over all three
    c = {q: 0.5 for q in a}
    rows = pairwise_tests({"a": a, "b": b, "c": c})
    assert [(r["a"], r["b"]) for r in rows] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert rows[0]["significant"] and rows[0]["p_holm"] == pytest.approx(2 * rows[0]["p"])  # the second smallest p
    assert rows[1]["p_holm"] == pytest.approx(3 * rows[1]["p"])  # a beats c on all 30: the smallest
    with pytest.raises(StudioError, match="not on the same questions"):
        paired_sign_test(a, {"x": 1.0})


@pytest.mark.slow
def test_a_sweep_trains_its_members_in_order_and_scores_them_on_the_same_held_out_questions(
        tiny_model_dir, toy_source, tmp_path):
    sweep_dir = make(tiny_model_dir, toy_source, name="lr-sweep")
    spec = sweep_folder.read_spec(sweep_dir)
    assert [m["name"] for m in spec["members"]] == ["lr-sweep-01", "lr-sweep-02"]
    held = [q.pid for q in sweep_folder.eval_questions(sweep_dir)]
    assert spec["eval"]["how"] == "the source's test split" and len(held) == 30
    assert {q.split for q in make_questions(90) if q.pid in held} == {"test"}

    assert sweeps.run_driver(sweep_dir, echo=lambda _: None) == "done"
    st = runs.read_status(sweep_dir)
    assert (st.state, st.step, st.total) == ("done", 2, 2)
    first, second = (runs.read_status(sweep_folder.member_dir(m["name"])) for m in spec["members"])
    assert first.state == second.state == "done" and first.ended <= second.started  # one after the other
    cfgs = [runs.read_config(sweep_folder.member_dir(m["name"])) for m in spec["members"]]
    assert [c["recipe"]["matrix_lr"] for c in cfgs] == [0.02, 0.005] and {c["sweep"] for c in cfgs} == {"lr-sweep"}
    evals = [sweep_folder.member_eval(sweep_dir, m["name"]) for m in spec["members"]]
    assert [[p.pid for p in e.predictions] for e in evals] == [held, held]

    res = sweep_results.results(sweep_dir)
    assert [r["setting"] for r in res["settings"]] == ["matrix_lr=0.02", "matrix_lr=0.005"]
    for r, e in zip(res["members"], evals):
        assert r["accuracy"] == e.accuracy and r["ci_low"] <= r["accuracy"] <= r["ci_high"]
        assert r["eval_loss"] is not None and r["tokens_per_s"] > 0 and r["minutes"] > 0
        assert r["answer_loss"] > 0  # the answer letter's own loss, as on the Train page
        preds = [p.pred for p in e.predictions]
        assert r["top_letter_share"] == max(preds.count(i) for i in set(preds)) / len(preds)  # counted here
    top = max(r["accuracy"] for r in res["settings"])
    if top > res["chance"] and [r["accuracy"] for r in res["settings"]].count(top) == 1:
        assert res["best"] == max(res["settings"], key=lambda r: r["accuracy"])["setting"]
    else:  # toy members may tie or score below chance: then no setting is called best, and why is said
        assert res["best"] is None and res["best_note"]
    [test] = res["tests"]
    assert (test["a"], test["b"], test["n"]) == ("matrix_lr=0.02", "matrix_lr=0.005", 30)
    assert test["p_holm"] == test["p"]  # one comparison: nothing to correct
    assert json.loads((sweep_dir / "results.json").read_text())["best"] == res["best"]
    csv_text = sweep_results.to_csv(res)
    assert csv_text.splitlines()[0].startswith("member,setting,seed,state,accuracy") and "lr-sweep-02" in csv_text
    md = sweep_results.to_markdown(res)
    assert "answer-letter loss" in md and "top letter's share" in md
    assert ("**(best)**" in md) == (res["best"] is not None) and ("No best setting" in md) == (res["best"] is None)
    assert "Holm-corrected over 1 comparison at 0.05" in md and "30 held-out questions" in md


@pytest.mark.slow
def test_kill_9_of_the_member_training_now_then_resume_of_the_sweep(tiny_model_dir, toy_source):
    sweep_dir = make(tiny_model_dir, toy_source, name="killed", epochs=3, fixed={"save_every": 1, "batch_size": 4})
    first = sweep_folder.member_dir("killed-01")
    cfg = runs.read_config(sweep_dir)  # checkpoints every 2 steps so that the kill leaves one behind
    sweeps.start_sweep(sweep_dir)
    wait_for(lambda: (first / "config.json").exists(), what="the first member")
    over = json.loads((first / "config.json").read_text())
    assert over["recipe"]["save_every"] == 1 and cfg["members"][0]["name"] == "killed-01"
    wait_for(lambda: list((first / "checkpoints").glob("step_*/trainer_state.json")), what="a checkpoint")
    pid = runs.read_status(first).pid
    os.kill(pid, signal.SIGKILL)
    st = wait_for(lambda: (s := runs.read_status(sweep_dir)).terminal and s, what="the sweep to notice")
    assert st.state == "failed" and "killed-01" in st.error and "crashed" in st.error and "Resume" in st.error
    assert runs.read_status(first).state == "crashed"
    assert not sweep_folder.member_dir("killed-02").exists()  # nothing starts after a crash

    sweeps.resume_sweep(sweep_dir)
    st = wait_for(lambda: (s := runs.read_status(sweep_dir)).terminal and s, timeout=900, what="the sweep to end")
    assert st.state == "done", (st.error, runs.log_tail(sweep_dir))
    assert any("resumed_from" in r for r in runs.read_metrics(first))  # continued from its checkpoint
    res = sweep_results.results(sweep_dir)
    assert all(r["accuracy"] is not None for r in res["members"]) and len(res["tests"]) == 1


@pytest.mark.slow
def test_stop_stops_the_member_training_now_and_the_whole_sweep(tiny_model_dir, toy_source):
    sweep_dir = make(tiny_model_dir, toy_source, name="stopped", epochs=30, fixed={"batch_size": 4})
    sweeps.start_sweep(sweep_dir)
    first = sweep_folder.member_dir("stopped-01")
    wait_for(lambda: (first / "metrics.jsonl").exists(), what="the first member to train")
    sweeps.stop_sweep(sweep_dir)
    st = wait_for(lambda: (s := runs.read_status(sweep_dir)).terminal and s, what="the sweep to stop")
    assert st.state == "stopped" and runs.read_status(first).state == "stopped"
    assert not sweep_folder.member_dir("stopped-02").exists()
    with pytest.raises(StudioError, match="stopped is still"):
        runs.write_status(sweep_dir, state="running", pid=os.getpid())
        sweeps.resume_sweep(sweep_dir)


def test_a_members_training_is_shown_as_progress_off_a_terminal(tmp_path, capsys):
    """The driver is never silent while a member trains: its steps reach the log as plain lines."""
    from core.home import area

    run_dir = runs.create_run(area("runs"), {"model": "tiny", "data": "sample"}, name="sw-01")
    runs.write_status(run_dir, state="done", step=14, total=14)
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    assert sweeps._wait(run_dir, sweep_dir, "member 1/2").state == "done"
    err = capsys.readouterr().err
    assert "member 1/2: training" in err and "14/14" in err and "\r" not in err


def test_best_is_the_one_top_setting_above_chance_never_a_tie_or_a_guess():
    rows = [{"setting": "a", "accuracy": 0.40}, {"setting": "b", "accuracy": 0.40}, {"setting": "c", "accuracy": 0.2}]
    assert sweep_results.pick_best(rows, chance=0.43) == (None, "no setting scored above chance (43.0%)")
    assert sweep_results.pick_best(rows, chance=0.25) == (None, "2 settings tie at 40.0%")
    assert sweep_results.pick_best(rows[1:], chance=0.25) == ("b", "")
    assert sweep_results.pick_best([], chance=0.25) == (None, "")


def test_the_sweep_form_grammar_lives_in_core():
    assert sweep_grid.lr_setting("default") in ("lr", "matrix_lr")
    assert sweep_grid.grid_from_choices(["paper", "tutor"], "lr", "1e-4, 3e-4", "batch_size=16,32\n") == {
        "format": ["paper", "tutor"], "lr": [1e-4, 3e-4], "batch_size": [16, 32]}
    with pytest.raises(ValueError, match="the grid is empty"):
        sweep_grid.grid_from_choices([], "lr", " ")
