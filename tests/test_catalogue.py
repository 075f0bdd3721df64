"""The model catalogue: listing, resolving names to folders, the tiny preset, Hub downloads (faked here)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from test_convert import make_raw_checkpoint

from conftest import make_questions
from core.errors import StudioError
from core.home import area


@pytest.fixture
def toy_source(tmp_path, monkeypatch) -> str:
    """The tiny preset's data source pointed at a toy .jsonl file (with train/val/test splits)."""
    import core.models.catalogue as catalogue

    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_questions(90)))
    monkeypatch.setattr(catalogue, "TINY_SOURCE", str(path))
    return str(path)


def by_name(entries):
    return {e.name: e for e in entries}


def test_offline_listing_has_the_hub_models_and_a_tiny_to_create():
    from core.models.catalogue import list_models

    entries = by_name(list_models())
    assert entries["tiny"].availability == "missing" and entries["tiny"].kind == "tiny"
    for repo in ("sdobson/nanochat", "sampathchanda/nanochat-d20", "SoumilR/nanochat-rl"):
        assert entries[repo].kind == "hub-raw"
        assert entries[repo].availability == "offline"
        assert entries[repo].parameters == 560_988_160


def test_d20_parameter_count_matches_transformers():
    from transformers import NanoChatConfig, NanoChatForCausalLM

    from core.models.catalogue import nanochat_parameters

    cfg = NanoChatConfig(vocab_size=65536, hidden_size=1280, intermediate_size=5120, num_hidden_layers=20,
                         num_attention_heads=10, num_key_value_heads=10, tie_word_embeddings=False)
    with torch.device("meta"):
        model = NanoChatForCausalLM(cfg)
    assert sum(p.numel() for p in model.parameters()) == nanochat_parameters(20, 1280, 10, 10, 65536) == 560_988_160


def test_hub_model_offline_is_a_clear_error():
    from core.models.obtain import resolve_model

    with pytest.raises(StudioError, match="HF_HUB_OFFLINE.*tiny model"):
        resolve_model("sdobson/nanochat")
    with pytest.raises(StudioError, match="Unknown model"):
        resolve_model("not a model")


def test_tiny_is_created_on_first_use_then_reused(toy_source):
    from core.models.catalogue import list_models
    from core.models.obtain import resolve_model

    path = resolve_model("tiny")
    assert (path / "config.json").exists() and path == area("models") / "tiny"
    manifest = json.loads((path / "studio.json").read_text())
    assert manifest["source"].endswith(":train") and manifest["kind"] == "tiny"
    stamp = (path / "studio.json").stat().st_mtime_ns
    assert resolve_model("tiny") == path and (path / "studio.json").stat().st_mtime_ns == stamp
    tiny = by_name(list_models(check_hub=False))["tiny"]
    assert tiny.availability == "ready" and tiny.parameters == manifest["parameters"] and tiny.size_bytes > 0


def test_tiny_cli_trains_one_step_saves_and_reloads(toy_source, tmp_path):
    from core.__main__ import main
    from core.models.loading import load_model

    out = tmp_path / "tiny-cli"
    assert main(["model", "tiny", "--data", toy_source, "--out", str(out), "--size", "xs", "--seed", "3"]) == 0
    loaded = load_model(out, device="cpu", dtype=torch.float32, train=True)
    model, tok = loaded.model, loaded.tokenizer
    msgs = [{"role": "user", "content": "Which is heavier? (A) 3 kg (B) 9 kg"}, {"role": "assistant", "content": "B"}]
    enc = tok.apply_chat_template(msgs, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids = torch.tensor([enc["input_ids"]])
    labels = torch.where(torch.tensor([enc["assistant_masks"]]) == 1, ids, -100)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(input_ids=ids, labels=labels).loss.backward()
    opt.step()
    changed = [k for k, v in model.named_parameters() if not torch.equal(v, before[k])]
    assert "lm_head.weight" in changed and any("layers.0" in k for k in changed)
    model.eval()
    model.save_pretrained(tmp_path / "after")
    tok.save_pretrained(tmp_path / "after")
    again = load_model(tmp_path / "after", device="cpu", dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again.model(ids).logits)


def test_local_raw_folder_is_converted_once_and_listed(tmp_path):
    from core.models.catalogue import list_models
    from core.models.obtain import resolve_model

    make_raw_checkpoint(tmp_path / "my-run")
    out = resolve_model(str(tmp_path / "my-run"))
    assert out.parent == area("models") / "local" and (out / "config.json").exists()
    stamp = (out / "studio.json").stat().st_mtime_ns
    assert resolve_model(str(tmp_path / "my-run")) == out and (out / "studio.json").stat().st_mtime_ns == stamp
    local = [e for e in list_models(check_hub=False) if e.kind == "local"]
    assert len(local) == 1 and local[0].availability == "ready" and resolve_model(local[0].name) == out
    # a transformers-format folder is used as it is
    assert resolve_model(str(out)) == out
    (tmp_path / "junk").mkdir()
    with pytest.raises(StudioError, match="neither a transformers model folder"):
        resolve_model(str(tmp_path / "junk"))


def test_run_models_are_listed_with_their_state(tiny_model_dir):
    from core.models.catalogue import list_models
    from core.models.obtain import resolve_model

    run = area("runs") / "20260101-r1"
    shutil.copytree(tiny_model_dir, run / "model")
    (run / "status.json").write_text(json.dumps({"state": "done", "pid": None}))
    (area("runs") / "r2-no-model").mkdir()
    entry = by_name(list_models(check_hub=False))["run:20260101-r1"]
    assert entry.kind == "run" and entry.availability == "ready" and "done" in entry.note
    assert resolve_model("run:20260101-r1") == run / "model"
    assert "run:r2-no-model" not in by_name(list_models(check_hub=False))
    with pytest.raises(StudioError, match="no final model"):
        resolve_model("run:r2-no-model")


def test_hub_download_fetches_only_the_chosen_step_and_never_stores_the_token(tmp_path, monkeypatch):
    """The Hub is faked by a local folder: list_repo_files and snapshot_download are replaced."""
    import huggingface_hub

    import core.hub
    from core.models.catalogue import list_models
    from core.models.obtain import resolve_model

    repo_dir = tmp_path / "fake-repo"
    make_raw_checkpoint(repo_dir, step=100, sub="base_checkpoints/d2", seed=1)
    make_raw_checkpoint(repo_dir, step=300, sub="chatsft_checkpoints/d2")
    make_raw_checkpoint(repo_dir, step=200, sub="chatsft_checkpoints/d2")
    files = [p.relative_to(repo_dir).as_posix() for p in repo_dir.rglob("*") if p.is_file()]
    secret = "hf_test_secret_token_123"
    monkeypatch.setenv("HF_TOKEN", secret)
    monkeypatch.setattr(core.hub, "hub_reachable", lambda *a, **k: True)
    calls = []

    def list_repo_files(self, repo_id, token=None, **kw):
        assert token == secret
        return files

    def snapshot_download(repo_id, allow_patterns=None, token=None, **kw):
        calls.append(sorted(allow_patterns))
        snap = tmp_path / "hf-cache" / repo_id.replace("/", "--")
        for rel in allow_patterns:
            (snap / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(repo_dir / rel, snap / rel)
        return str(snap)

    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", list_repo_files)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    out = resolve_model("someone/nanochat-d2")
    assert calls == [["chatsft_checkpoints/d2/meta_000300.json", "chatsft_checkpoints/d2/model_000300.pt",
                      "tokenizer/tokenizer.pkl"]]
    manifest = json.loads((out / "studio.json").read_text())
    assert (manifest["source"], manifest["stage"], manifest["step"]) == ("someone/nanochat-d2", "sft", 300)
    assert resolve_model("someone/nanochat-d2") == out and len(calls) == 1  # cached
    assert by_name(list_models(check_hub=False))["someone/nanochat-d2"].availability == "cached"
    for p in Path(area("models")).rglob("*"):
        if p.is_file():
            assert secret.encode() not in p.read_bytes(), p


def test_hub_repo_in_transformers_format_is_adopted_with_the_chat_template(tiny_model_dir, tmp_path, monkeypatch):
    import huggingface_hub

    import core.hub
    from core.models.families.nanochat.template import CHAT_TEMPLATE
    from core.models.loading import load_model
    from core.models.obtain import resolve_model

    tok_cfg = tiny_model_dir / "tokenizer_config.json"
    cfg = json.loads(tok_cfg.read_text())
    cfg.pop("chat_template", None)
    tok_cfg.write_text(json.dumps(cfg))
    (tiny_model_dir / "chat_template.jinja").unlink(missing_ok=True)  # a Hub repo with its own (or no) template
    monkeypatch.setattr(core.hub, "hub_reachable", lambda *a, **k: True)
    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files",
                        lambda self, repo_id, token=None, **kw: [p.name for p in tiny_model_dir.iterdir()])
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo_id, **kw: str(tiny_model_dir))
    out = resolve_model("someone/nanochat-hf")
    assert (out / "model.safetensors").is_symlink()  # weights are linked, not copied
    loaded = load_model(out, device="cpu", dtype=torch.float32)
    assert loaded.tokenizer.chat_template == CHAT_TEMPLATE
    assert json.loads((out / "studio.json").read_text())["catalogue_kind"] == "hub-hf"


def test_model_cli_convert_list_and_estimate(tmp_path, capsys):
    from core.__main__ import main

    make_raw_checkpoint(tmp_path / "raw")
    assert main(["model", "convert", str(tmp_path / "raw"), str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "config.json").exists()
    assert main(["model", "convert", "sdobson/nanochat"]) == 2
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err
    assert main(["model", "list", "--no-hub"]) == 0
    assert "SoumilR/nanochat-rl" in capsys.readouterr().out
    assert main(["model", "estimate", "--model", str(tmp_path / "out"), "--batch", "2", "--seq-len", "64",
                 "--lora", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "| **total** |" in out and "trainable" in out


def test_local_transformers_folder_is_used_in_place_and_listed(tiny_model_dir):
    from core.models.catalogue import list_models
    from core.models.obtain import resolve_model

    assert resolve_model(str(tiny_model_dir)) == tiny_model_dir
    entry = by_name(list_models(check_hub=False))[str(tiny_model_dir.resolve())]
    assert (entry.kind, entry.availability) == ("local", "ready") and entry.parameters > 0
    shutil.rmtree(tiny_model_dir)
    assert by_name(list_models(check_hub=False))[str(tiny_model_dir.resolve())].availability == "missing"


def test_model_prepare_makes_a_catalogue_model_ready_once(capsys):
    from core.__main__ import main
    from core.models.catalogue import list_models

    assert main(["model", "prepare", "tiny"]) == 0
    folder = capsys.readouterr().out.strip().splitlines()[-1]
    assert (Path(folder) / "config.json").exists()
    assert next(m for m in list_models(check_hub=False) if m.name == "tiny").availability == "ready"
    assert main(["model", "prepare", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
