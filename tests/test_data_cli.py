"""`python -m core data ...`: stats JSON, subset folders usable as sources, one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.__main__ import main
from core.data.sources import load_source

ROOT = Path(__file__).resolve().parent.parent


def test_stats_prints_a_json_summary(shared_scienceqa, capsys):
    assert main(["data", "stats", "--source", str(shared_scienceqa / "test_qcm.jsonl")]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["total"] == 4241 and stats["by_context"] == {"TXT": 2046, "IMG": 2017, "NO": 1435}
    assert stats["by_choices"] == {"2": 2228, "3": 971, "4": 1004, "5": 38}


def test_subset_writes_a_folder_every_command_accepts_as_a_source(shared_scienceqa, tmp_path, capsys):
    out = tmp_path / "sub"
    argv = ["data", "subset", "--source", str(shared_scienceqa / "original"), "--out", str(out), "--n", "3",
            "--per", "subject", "--seed", "7", "--text-only", "drop", "--split", "train", "--split", "test"]
    assert main(argv) == 0
    qs = load_source(str(out))
    assert qs and {q.split for q in qs} == {"train", "test"} and not any(q.has_image for q in qs)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["filters"] == {"splits": ["train", "test"], "text_only": "drop"} and manifest["seed"] == 7
    assert main(["data", "subset", "--source", str(out), "--name", "again"]) == 0
    assert main(["data", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"again\t{len(qs)}\t")


def test_bad_input_is_one_line_on_stderr_with_exit_2(tmp_path, capsys):
    assert main(["data", "stats", "--source", str(tmp_path / "missing.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.jsonl does not exist" in err and err.count("\n") == 1
    assert main(["data", "subset", "--source", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not a ScienceQA folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["data", "subset", "--source", "sample", "--out", str(tmp_path / "o"), "--seed", "abc"])
    assert e.value.code == 2


def test_hub_offline_exits_2_quickly_in_a_real_process():
    r = subprocess.run([sys.executable, "-m", "core", "data", "stats", "--source", "hub"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2 and r.stderr.startswith("error: Cannot load derek-thomas/ScienceQA: HF_HUB_OFFLINE")


def test_a_bare_out_name_saves_a_named_subset_and_the_summary_says_what_was_kept(studio_home, capsys):
    from core.data.subsets import list_subsets

    assert main(["data", "subset", "--source", "sample", "--out", "my-subset", "--n", "30", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("kept 30 of the ") and "(30 in total)" in out and "saved as subset:my-subset" in out
    assert [s.name for s in list_subsets()] == ["my-subset"] and len(load_source("subset:my-subset")) == 30
    assert main(["data", "subset", "--source", "sample", "--out", "my-subset", "--n", "3"]) == 2
    assert "A subset named 'my-subset' already exists" in capsys.readouterr().err
