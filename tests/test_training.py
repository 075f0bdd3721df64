"""The training worker as a real subprocess on the 'xs' tiny model and a toy task: it trains, it
survives kill -9 (crashed, then resume from the last checkpoint), stop, out-of-memory and bad configs.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import make_questions
from core.errors import StudioError
from core.home import area
from core.jobs import runs
from core.training.batching import IGNORE, encode, length_grouped_batches, padding_fraction, random_batches
from core.training.jobs import resume_training, start_training
from core.training.recipes import TrainConfig, build_config, config_diff, get_recipe


@pytest.fixture
def toy_source(tmp_path) -> Path:
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(150)))
    return path


def wait_for(pred, timeout: float = 60.0, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_terminal(run_dir: Path, timeout: float = 90.0) -> runs.Status:
    st = wait_for(lambda: (s := runs.read_status(run_dir)).terminal and s, timeout, "a terminal state")
    return st


def cfg(model: Path, data: Path, **over) -> TrainConfig:
    base = dict(recipe="tiny", batch_size=8, eval_every=4, save_every=4, eval_examples=20, epochs=2)
    base.update(over)
    return build_config(str(model), str(data), **base)


@pytest.mark.slow
def test_worker_trains_writes_metrics_and_a_loadable_model(tiny_model_dir, toy_source):
    from core.models.loading import load_model

    run_dir = start_training(cfg(tiny_model_dir, toy_source, eval_every=5, save_every=5))
    st = wait_terminal(run_dir, timeout=300)  # 14 steps and ~7 evaluations: ~90 s when 7 people share 2 cores
    assert st.state == "done", runs.log_tail(run_dir)
    hist = runs.read_metrics(run_dir)
    losses = [r["loss"] for r in hist if "loss" in r]
    assert len(losses) == st.step and all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]
    evals = [r["step"] for r in hist if "eval_accuracy" in r and "eval_loss" in r]
    assert len(evals) >= min(st.step, 5)  # a short run still draws several evaluation points
    assert all(k in hist[0] for k in ("epoch", "lr", "grad_norm", "tokens_per_s", "samples_per_s", "peak_memory",
                                      "elapsed", "eta"))
    assert st.extra["best_eval_loss"] is not None
    base = load_model(tiny_model_dir, device="cpu")
    tuned = load_model(run_dir / "model", device="cpu")
    changed = [n for (n, a), (_, b) in zip(base.model.named_parameters(), tuned.model.named_parameters())
               if not torch.equal(a, b)]
    assert len(changed) == len(list(base.model.parameters()))  # every tensor learned
    ck = sorted((run_dir / "checkpoints").glob("step_*"))
    assert 1 <= len(ck) <= 2  # keep_checkpoints=2
    reloaded = load_model(ck[-1], device="cpu")
    assert reloaded.model.config.hidden_size == base.model.config.hidden_size


@pytest.mark.slow
def test_kill_9_reads_as_crashed_and_resume_continues_from_the_last_checkpoint(tiny_model_dir, toy_source):
    run_dir = start_training(cfg(tiny_model_dir, toy_source, batch_size=2, epochs=20, save_every=3, eval_every=50))
    wait_for(lambda: runs.read_status(run_dir).step >= 8 and (run_dir / "checkpoints").exists()
             and any((run_dir / "checkpoints").glob("step_*")), 90, "a checkpoint")
    pid = runs.read_status(run_dir).pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not runs.pid_alive(pid), 10, "the worker to die")
    with open(run_dir / runs.METRICS, "a") as f:
        f.write('{"step": 999, "lo')  # the kill can tear the last line
    st = runs.read_status(run_dir)
    assert st.state == "crashed" and st.extra["log_tail"]
    killed_at = max(r["step"] for r in runs.read_metrics(run_dir) if "loss" in r)
    last_ck = max(int(p.name[5:]) for p in (run_dir / "checkpoints").glob("step_*"))
    assert killed_at - last_ck <= 3 + 1  # at most one checkpoint interval lost
    with open(run_dir / "config.json") as f:
        total = json.load(f)
    before = runs.read_status(run_dir).extra
    resume_training(run_dir)
    queued = runs.read_status(run_dir).extra  # progress and training time continue, never back to 0
    assert (queued["progress"], queued["elapsed"]) == (before["progress"], before["elapsed"])
    wait_for(lambda: (s := runs.read_status(run_dir)).state == "running" and s.step > last_ck + 1
             and "elapsed_at" in s.extra, 60, "resumed steps")
    resumed = runs.read_status(run_dir).extra
    assert resumed["progress"] > last_ck / killed_at * before["progress"] * 0.9
    assert resumed["elapsed"] > before["elapsed"] * last_ck / killed_at * 0.9
    runs.request_stop(run_dir, cancel=True)
    assert wait_terminal(run_dir).state == "stopped"
    reader = runs.MetricsReader(run_dir)
    reader.read_new()
    steps = [r["step"] for r in reader.history if "loss" in r]
    assert steps == list(range(1, steps[-1] + 1))  # no gap, no duplicate: continued at last_ck + 1
    assert reader.skipped == 1 and total["recipe"]["name"] == "tiny"
    assert "resumed from checkpoint step" in (run_dir / "log.txt").read_text()


@pytest.mark.slow
def test_stop_saves_a_checkpoint_and_ends_stopped(tiny_model_dir, toy_source):
    run_dir = start_training(cfg(tiny_model_dir, toy_source, batch_size=2, epochs=20, save_every=1000,
                                 eval_every=1000))
    wait_for(lambda: runs.read_status(run_dir).step >= 3, 60, "training steps")
    runs.request_stop(run_dir)
    st = wait_terminal(run_dir)
    assert st.state == "stopped"
    cks = list((run_dir / "checkpoints").glob("step_*"))
    assert len(cks) == 1 and (cks[0] / "trainer_state.json").exists()
    assert json.loads((cks[0] / "trainer_state.json").read_text())["step"] == st.step


@pytest.mark.slow
def test_a_second_job_waits_queued_for_the_device_and_out_of_memory_fails_with_a_hint(tiny_model_dir, toy_source):
    holder = runs.create_run(area("runs"), {}, name="holder")
    with runs.device_slot(holder):  # another job holds the device
        run_dir = start_training(cfg(tiny_model_dir, toy_source), env={"SQA_TEST_OOM_AT_STEP": "2"})
        wait_for(lambda: "waiting for the device" in runs.read_status(run_dir).extra.get("message", ""), 60,
                 "the queued state")
        assert runs.read_status(run_dir).state == "queued"
    st = wait_terminal(run_dir)  # the slot is free: it runs, then hits the simulated OOM at step 2
    assert st.state == "failed" and st.step == 1
    assert "Out of memory" in st.error and "gradient checkpointing" in st.error and "LoRA" in st.error


def test_invalid_config_is_refused_before_launch(tiny_model_dir, toy_source):
    with pytest.raises(ValueError, match="batch_size"):
        build_config(str(tiny_model_dir), str(toy_source), batch_size=0)
    with pytest.raises(ValueError, match="unknown recipe"):
        build_config(str(tiny_model_dir), str(toy_source), recipe="fastest")
    with pytest.raises(StudioError):
        start_training(build_config(str(tiny_model_dir), str(toy_source.with_name("missing.jsonl"))))
    d = runs.create_run(area("runs"), {**cfg(tiny_model_dir, toy_source).to_dict()})
    runs.write_status(d, state="stopped")
    bad = json.loads((d / "config.json").read_text())
    bad["recipe"]["lr"] = -1
    (d / "config.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="lr must be"):
        resume_training(d)
    assert runs.read_status(d).state == "stopped"  # nothing was launched


def test_labels_cover_only_the_assistant_turn(tiny_model_dir):
    from core.models.loading import load_tokenizer

    tok = load_tokenizer(tiny_model_dir)
    q = make_questions(3)[0]
    ex = encode(tok, q, "paper")
    target = tok.decode([t for t in ex.labels if t != IGNORE])
    assert target.startswith("The answer is ") and "Which is heavier" not in target
    assert ex.labels[0] == IGNORE and len(ex.labels) == len(ex.input_ids)


def test_the_held_out_slice_does_not_move_with_the_training_seed(tiny_model_dir, tmp_path):
    from core.models.loading import load_tokenizer
    from core.training.setup import load_data

    path = tmp_path / "unsplit.jsonl"  # no splits: the worker holds a seeded slice out itself
    path.write_text("".join(json.dumps({**q.to_dict(), "split": ""}) + "\n" for q in make_questions(60)))
    tok = load_tokenizer(tiny_model_dir)
    held = [{q.pid for q in load_data(cfg(tiny_model_dir, path, seed=seed), tok).val_questions} for seed in (0, 7)]
    assert held[0] == held[1] and len(held[0]) == 6  # runs that differ only in seed compare on one eval set


def test_length_grouping_pads_far_less_than_random_batches():
    import random

    rng = random.Random(0)
    lengths = [rng.randint(20, 400) for _ in range(2000)]
    grouped = length_grouped_batches(lengths, 16, seed=0)
    assert sorted(i for b in grouped for i in b) == list(range(2000))
    assert padding_fraction(grouped, lengths) < 0.05 < 0.3 < padding_fraction(random_batches(2000, 16, 0), lengths)


def test_recipes_validate_and_diff():
    assert get_recipe("plan").lr == 5e-5 and get_recipe("plan").effective_batch == 16
    assert get_recipe("plan").grad_checkpointing and not get_recipe("plan").group_by_length
    with pytest.raises(ValueError, match="optimizer"):
        get_recipe("default", optimizer="sgd")
    a = build_config("m", "sample").to_dict()
    b = build_config("m", "sample", lr=1e-3).to_dict()
    assert config_diff({"a": a, "b": b}) == {"recipe.lr": {"a": 8e-5, "b": 1e-3}}
    assert TrainConfig.from_dict(b) == build_config("m", "sample", lr=1e-3)
    assert get_recipe("default").compile and not get_recipe("plan").compile and not get_recipe("tiny").compile
    with pytest.raises(ValueError, match="compile must be true or false"):
        TrainConfig.from_dict({**a, "recipe": {**a["recipe"], "compile": "yes"}})


def test_cli_starts_the_tiny_model_on_its_recipe_and_format_and_keeps_explicit_choices():
    import argparse

    from core.commands import train as train_cmd

    parser = argparse.ArgumentParser()
    train_cmd.register(parser.add_subparsers())

    def config(*argv: str) -> TrainConfig:
        return train_cmd.config_from_args(parser.parse_args(["train", *argv]))

    tiny = config("--model", "tiny", "--minutes", "5")
    assert (tiny.recipe.name, tiny.format, tiny.minutes) == ("tiny", "paper", 5.0)
    other = config("--model", "./my-model")
    assert (other.recipe.name, other.format) == ("default", "paper_ale")
    chosen = config("--model", "tiny", "--recipe", "default", "--format", "nanochat", "--lr", "1e-4")
    assert (chosen.recipe.name, chosen.format, chosen.recipe.lr) == ("default", "nanochat", 1e-4)
    assert config("--model", "tiny", "--recipe", "plan").format == "paper_ale"  # the recipe's suggestion, not tiny's
    assert other.recipe.compile and not config("--model", "./my-model", "--no-compile").recipe.compile


def test_muon_matches_torch_muon_up_to_bf16_rounding():
    from core.training.muon import Muon

    torch.manual_seed(0)
    w1 = torch.nn.Parameter(torch.randn(64, 32))
    w2 = torch.nn.Parameter(w1.detach().clone())
    ours, theirs = Muon([w2], lr=0.02, weight_decay=0.1), torch.optim.Muon([w1], lr=0.02, weight_decay=0.1)
    for _ in range(3):
        g = torch.randn(64, 32)
        w1.grad, w2.grad = g.clone(), g.clone()
        theirs.step()
        ours.step()
    assert (w1 - w2).abs().max() < 2e-3  # torch runs Newton-Schulz in bf16, ours in fp32 on CPU


def test_muon_orthogonalizes_same_shape_matrices_as_one_batch_with_the_same_result():
    from core.training.muon import Muon, orthogonalize

    torch.manual_seed(0)
    stack = torch.randn(3, 48, 20)
    ortho = orthogonalize(stack)
    assert torch.allclose(ortho, torch.stack([orthogonalize(m) for m in stack]), atol=1e-5)
    sv = torch.linalg.svdvals(ortho)
    assert sv.min() > 0.5 and sv.max() < 1.5  # Newton-Schulz pushes every singular value towards 1
    ws = [torch.nn.Parameter(torch.randn(shape)) for shape in ((32, 16), (32, 16), (16, 32), (8, 8))]
    before = [w.detach().clone() for w in ws]
    grads = [torch.randn_like(w) for w in ws]
    for w, g in zip(ws, grads):
        w.grad = g
    Muon(ws, lr=0.02, momentum=0.95).step()
    for w, w0, g in zip(ws, before, grads):
        update = g.lerp(g * 0.05, 0.95)  # first step: momentum buffer (1 - 0.95) g, Nesterov
        scale = 0.02 * math.sqrt(max(1.0, w0.size(0) / w0.size(1)))
        assert torch.allclose(w.detach(), w0 - scale * orthogonalize(update), atol=1e-5)


@pytest.mark.parametrize("softcap", [15.0, None])
def test_target_loss_equals_the_models_own_loss_with_the_head_in_chunks(tiny_model_dir, softcap, monkeypatch):
    from peft import LoraConfig, get_peft_model

    from core.models.loading import load_model
    from core.training import batching
    from core.training.batching import TargetLoss

    model = load_model(tiny_model_dir, device="cpu").model
    model.config.final_logit_softcapping = softcap
    monkeypatch.setattr(batching, "HEAD_CHUNK_LOGITS", 1)  # chunks of 256 positions: several per batch
    torch.manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (3, 400))
    labels = ids.clone()
    labels[:, :50] = IGNORE  # a prompt
    labels[1, 300:] = IGNORE  # padding
    n = int((labels[:, 1:] != IGNORE).sum())
    with torch.no_grad():
        own = model(input_ids=ids, labels=labels).loss * n  # the model's forward and its mean loss
        direct = TargetLoss(model)
        via_forward = TargetLoss(model)
        via_forward.direct = False
        assert direct.direct and n > 2 * 256
        assert torch.allclose(direct(ids, labels), own, rtol=1e-5)
        assert torch.allclose(via_forward(ids, labels), own, rtol=1e-5)
        lora = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "fc1"], task_type="CAUSAL_LM"))
        assert torch.allclose(TargetLoss(lora)(ids, labels), own, rtol=1e-5)  # LoRA starts as a no-op


@pytest.mark.slow
def test_worker_with_compiled_blocks_trains_and_saves_plain_weights(tiny_model_dir, toy_source):
    from core.models.loading import load_model

    run_dir = start_training(cfg(tiny_model_dir, toy_source, compile=True, epochs=1, eval_every=3, save_every=3))
    st = wait_terminal(run_dir, timeout=240)  # the first step compiles
    assert st.state == "done", runs.log_tail(run_dir)
    assert "first step took" in runs.log_tail(run_dir, 200)
    losses = [r["loss"] for r in runs.read_metrics(run_dir) if "loss" in r]
    assert len(losses) == st.step >= 3 and all(math.isfinite(x) for x in losses)
    base, tuned = load_model(tiny_model_dir, device="cpu").model, load_model(run_dir / "model", device="cpu").model
    names = [n for n, _ in tuned.named_parameters()]
    assert names == [n for n, _ in base.named_parameters()] and not any("_orig_mod" in n for n in names)
    assert not torch.equal(base.model.layers[0].mlp.fc1.weight, tuned.model.layers[0].mlp.fc1.weight)


@pytest.mark.slow
def test_a_compiler_that_fails_leaves_the_run_training_uncompiled(tiny_model_dir, toy_source):
    env = {"CXX": "/bin/false", "TORCHINDUCTOR_FORCE_DISABLE_CACHES": "1"}  # Inductor's C++ compiler fails
    run_dir = start_training(cfg(tiny_model_dir, toy_source, compile=True, epochs=1, eval_every=100), env=env)
    st = wait_terminal(run_dir, timeout=240)
    assert st.state == "done" and st.step >= 3, runs.log_tail(run_dir)
    log = runs.log_tail(run_dir, 400)
    assert "not compiling, training uncompiled" in log and "C++ compiler" in log and "first step took" not in log


@pytest.mark.slow
def test_the_same_command_trains_under_torchrun_with_two_ranks(tiny_model_dir, toy_source, tmp_path):
    import subprocess

    out = tmp_path / "ddp-run"
    cmd = [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc_per_node", "2", "-m", "core",
           "train", "--model", str(tiny_model_dir), "--data", str(toy_source), "--out", str(out), "--recipe",
           "default", "--no-compile", "--epochs", "1", "--batch-size", "4", "--eval-examples", "10"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])
    st = runs.read_status(out)
    assert proc.returncode == 0 and st.state == "done", proc.stderr[-3000:] + runs.log_tail(out)
    # 50 examples, 2 ranks x 2 accumulation x 4: 3 steps of 16 examples per epoch
    assert st.step == 3 and (out / "model" / "config.json").exists()


def test_estimate_before_launch_gives_time_and_memory(tiny_model_dir, toy_source):
    from core.training.jobs import estimate

    est = estimate(cfg(tiny_model_dir, toy_source, epochs=2))
    assert est.examples == 50 and est.steps == math.ceil(2 * 50 / 8)
    assert est.parameters > 50_000 and est.memory_bytes > 4 * est.parameters and est.seconds > 0
    assert "GiB" in est.describe() and est.fits


def test_cpu_pretrained_recipe_validates_and_lora_replaces_its_freezing():
    r = get_recipe("cpu-pretrained")
    assert (r.optimizer, r.lr, r.freeze_fraction, r.lora) == ("adamw", 5e-5, 0.0, False)  # the screen's choice
    assert build_config("m", "sample", recipe="cpu-pretrained").recipe == r
    assert get_recipe("cpu-frozen").freeze_fraction == 0.5
    assert get_recipe("cpu-frozen", lora=True).freeze_fraction == 0.0
    with pytest.raises(ValueError, match="freeze_fraction must be in"):
        get_recipe("cpu-pretrained", freeze_fraction=1.0)
    with pytest.raises(ValueError, match="do not combine"):
        get_recipe("cpu-pretrained", lora=True, freeze_fraction=0.5)
    from core.training.recipes import RECIPE_HELP, suggested_format
    assert suggested_format("cpu-pretrained") == "paper" and "cpu-pretrained" in RECIPE_HELP


def test_cpu_frozen_recipe_trains_only_the_top_blocks(tiny_model_dir, toy_source):
    """A few worker steps with the recipe as named: the input embedding and the bottom half of the blocks
    stay exactly as loaded, every tensor of the top half learns, the loss is finite."""
    from core.models.loading import load_model

    config = build_config(str(tiny_model_dir), str(toy_source), recipe="cpu-frozen", fmt="paper",
                          eval_every=3, save_every=3, eval_examples=10, epochs=0.2)
    run_dir = start_training(config)
    st = wait_terminal(run_dir)
    assert st.state == "done" and st.step >= 2, runs.log_tail(run_dir)
    losses = [r["loss"] for r in runs.read_metrics(run_dir) if "loss" in r]
    assert losses and all(math.isfinite(x) for x in losses)
    base, tuned = load_model(tiny_model_dir, device="cpu").model, load_model(run_dir / "model", device="cpu").model
    layers = len(base.model.layers)
    assert layers >= 2 and "parameters (" in runs.log_tail(run_dir, 200)
    assert "the rest is frozen" in runs.log_tail(run_dir, 200)
    for (name, a), (_, b) in zip(base.named_parameters(), tuned.named_parameters()):
        frozen = "embed_tokens" in name or any(f"layers.{i}." in name for i in range(layers // 2))
        assert torch.equal(a, b) == frozen, name


@pytest.mark.slow
def test_sigterm_stops_a_training_worker_stopped_with_a_checkpoint_and_exit_130(tiny_model_dir, toy_source):
    import signal
    import subprocess

    from core.home import PROJECT_ROOT
    from core.jobs import runner
    from core.training.jobs import worker_argv

    run_dir = runs.create_run(area("runs"), cfg(tiny_model_dir, toy_source, epochs=50).to_dict(), "sigterm")
    proc = subprocess.Popen(worker_argv(run_dir), env=runner.child_env(), cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: runs.read_status(run_dir).step >= 2, 120, "two steps")
    proc.send_signal(signal.SIGTERM)  # graceful, like Ctrl-C: the loop saves a checkpoint and ends stopped
    assert proc.wait(120) == 130
    st = runs.read_status(run_dir)
    assert st.state == "stopped" and not st.error
    assert (runs.checkpoints_dir(run_dir) / f"step_{st.step}" / "trainer_state.json").exists()
