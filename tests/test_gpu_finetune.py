"""The prepared GPU fine-tuning command: it refuses at once without a GPU, and (allowed on a CPU) runs
end to end on a tiny model: trains, scores every epoch's checkpoint and names the best."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import make_questions


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_stops_at_once_with_one_line(capsys, tmp_path):
    from bench import gpu_finetune

    assert gpu_finetune.main(["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no CUDA GPU here")
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.slow
def test_it_picks_the_checkpoint_by_held_out_accuracy(tiny_model_dir, tmp_path, capsys):
    from bench import gpu_finetune

    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(90)))
    out = tmp_path / "out"
    assert gpu_finetune.main(["--allow-cpu", "--model", str(tiny_model_dir), "--data", str(data), "--epochs", "2",
                              "--batch-size", "8", "--lr", "1e-3", "--format", "paper", "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert len(res["rows"]) >= 2  # one checkpoint per epoch
    best = max(res["rows"], key=lambda r: r["accuracy"])
    assert res["best"] == best["checkpoint"]
    text = capsys.readouterr().out
    assert "## gpu_finetune" in text and "(best)" in text and "always the most common training letter" in text
