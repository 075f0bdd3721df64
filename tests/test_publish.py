"""core.evaluation.publish: the model card and upload folder offline; the upload with HfApi replaced at the boundary."""

from __future__ import annotations

import argparse
import shutil

import pytest

from core import hub
from core.commands import publish as publish_cmd
from core.errors import StudioError
from core.evaluation.jobs import EvalRequest, run_eval
from core.evaluation.publish import build_model_card, push_run, run_folder, stage_upload
from core.home import area
from core.jobs import runs

CANARY = "hf_CANARY_do_not_leak_123456"


@pytest.fixture
def finished_run(tiny_model_dir, studio_home):
    run_dir = runs.create_run(area("runs"), {
        "model": "/some/local/path/tiny", "data": "sample", "format": "paper_ale",
        "system_prompt": "You are a friendly science tutor.", "minutes": 5,
        "recipe": {"name": "tiny", "optimizer": "muon", "lr": 0.004, "batch_size": 32, "epochs": 3.0,
                   "max_seq_len": 1024, "lora": False, "seed": 0}}, name="r1")
    shutil.copytree(tiny_model_dir, run_dir / "model")
    runs.write_status(run_dir, state="done", step=10, best_eval_loss=1.25, best_eval_accuracy=0.5)
    return run_dir


def test_model_card_has_config_evaluation_licence_and_no_local_paths(finished_run):
    run_eval(EvalRequest(model="run:r1", data="sample", split="test", limit=10))
    card = build_model_card(finished_run, "teacher/tutor")
    assert card.startswith("---\nlicense: cc-by-nc-sa-4.0\n")
    assert "derek-thomas/ScienceQA" in card and "CC BY-NC-SA 4.0" in card and "non-commercial" in card
    assert "| optimizer | muon |" in card and "| prompt format | paper_ale |" in card
    assert "Accuracy: **" in card and "n = 10" in card  # the evaluation table from the eval job
    assert "| 1.25 | 50.00% |" in card  # in-training validation
    assert "/some/local/path" not in card and "| base model | tiny |" in card
    assert 'AutoTokenizer.from_pretrained("teacher/tutor")' in card and "apply_chat_template" in card


def test_card_says_when_a_run_was_never_evaluated(finished_run):
    runs.write_status(finished_run, state="done", best_eval_loss=None, best_eval_accuracy=None)
    assert "Not evaluated yet" in build_model_card(finished_run, "teacher/tutor")


def test_upload_folder_holds_weights_tokenizer_template_card_and_config(finished_run, tmp_path):
    out = stage_upload(finished_run, tmp_path / "up", "teacher/tutor")
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "README.md",
            "training_config.json"} <= names
    from core.models.loading import load_tokenizer

    assert "<|assistant_start|>" in load_tokenizer(out).chat_template


def test_push_without_a_token_says_how_to_get_one(finished_run, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(hub, "get_token", lambda: None)
    with pytest.raises(StudioError, match="No Hugging Face token: set the HF_TOKEN"):
        push_run(finished_run, "teacher/tutor")


def test_push_creates_the_repo_and_uploads_the_folder(finished_run, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", CANARY)
    monkeypatch.setattr(hub, "hub_reachable", lambda *a, **k: True)
    calls = []

    class FakeApi:
        def __init__(self, token=None):
            calls.append(("init", token))

        def create_repo(self, repo_id, repo_type, private, exist_ok):
            calls.append(("create", repo_id, private, exist_ok))
            return f"https://huggingface.co/{repo_id}"

        def upload_folder(self, folder_path, repo_id, repo_type, commit_message):
            from pathlib import Path

            files = sorted(p.name for p in Path(folder_path).iterdir())
            calls.append(("upload", repo_id, files, Path(folder_path).joinpath("README.md").read_text()))

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    assert push_run("run:r1", "teacher/tutor") == "https://huggingface.co/teacher/tutor"
    assert calls[0] == ("init", CANARY) and calls[1] == ("create", "teacher/tutor", True, True)
    assert calls[2][0] == "upload" and "model.safetensors" in calls[2][2] and "README.md" in calls[2][2]
    assert CANARY not in calls[2][3]
    assert not (area("cache") / "publish" / "r1").exists()  # the staging folder is cleaned up


def test_push_offline_with_a_token_is_a_clear_error(finished_run, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", CANARY)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(StudioError, match="HF_HUB_OFFLINE is set") as e:
        push_run(finished_run, "teacher/tutor")
    assert CANARY not in str(e.value)


def test_bad_repo_ids_and_unfinished_runs_are_refused(finished_run, studio_home):
    with pytest.raises(StudioError, match="not a Hub repo id"):
        push_run(finished_run, "no slash")
    unfinished = runs.create_run(area("runs"), {"model": "tiny"}, name="r2")
    with pytest.raises(StudioError, match="no finished model"):
        run_folder(unfinished)
    assert run_folder("r1") == run_folder("run:r1") == finished_run


def test_publish_command_dry_run_writes_the_folder(finished_run, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    publish_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["publish", "run:r1", "--repo", "teacher/tutor", "--dry-run", str(tmp_path / "out")])
    assert args.func(args) == 0
    assert (tmp_path / "out" / "README.md").exists() and "nothing was uploaded" in capsys.readouterr().out


def test_model_card_carries_the_report_card_against_the_base_when_both_were_evaluated(tiny_model_dir, studio_home):
    shutil.copytree(tiny_model_dir, studio_home / "models" / "tiny")
    run_dir = runs.create_run(area("runs"), {"model": "tiny", "data": "sample", "format": "paper_ale"}, name="r2")
    shutil.copytree(tiny_model_dir, run_dir / "model")
    runs.write_status(run_dir, state="done")
    run_eval(EvalRequest(model="run:r2", data="sample", split="test", limit=8))
    assert "Report card" not in build_model_card(run_dir, "teacher/tutor")  # the base not evaluated yet
    run_eval(EvalRequest(model="tiny", data="sample", split="test", limit=8))
    run_eval(EvalRequest(model="tiny", data="sample", split="test", limit=8, method="shuffled"))
    card = build_model_card(run_dir, "teacher/tutor")
    assert "### Report card against the base model (tiny)" in card and "#### By skill" in card
    assert "On 8 questions: fine-tuned" in card and "Not measured with the options shuffled yet." in card
