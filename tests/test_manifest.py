"""core.models.manifest: the typed studio.json every model folder carries, read tolerantly."""

import json

import pytest

from core.models.manifest import FILENAME, Manifest, read_manifest, write_manifest


def test_round_trip_keeps_typed_fields_and_extras_flat(tmp_path):
    m = Manifest(kind="run", source="tiny", parameters=123, family="nanochat", format="paper", pretrained=False,
                 base_model="tiny", recipe="tiny", extra={"run": "r1", "lora": False})
    write_manifest(tmp_path, m)
    raw = json.loads((tmp_path / FILENAME).read_text())
    assert raw["run"] == "r1" and raw["format"] == "paper" and raw["kind"] == "run"  # flat, one object
    back = read_manifest(tmp_path)
    assert back == m and back.get("run") == "r1" and back.get("format") == "paper" and back.get("nope", 7) == 7


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", "\xff\xfe", "null"])
def test_missing_or_damaged_manifest_reads_as_none(tmp_path, text):
    assert read_manifest(tmp_path) is None and read_manifest(None) is None
    (tmp_path / FILENAME).write_bytes(text.encode("latin-1"))
    assert read_manifest(tmp_path) is None


def test_ill_typed_fields_fall_back_to_defaults(tmp_path):
    (tmp_path / FILENAME).write_text(json.dumps({"kind": 3, "parameters": "many", "pretrained": "yes",
                                                 "format": ["x"], "family": "llama", "stage": "sft"}))
    m = read_manifest(tmp_path)
    assert (m.kind, m.parameters, m.pretrained, m.format, m.family, m.get("stage")) == \
        ("unknown", None, False, None, "llama", "sft")


def test_every_writer_records_family_and_pretrained(tiny_model_dir):
    m = read_manifest(tiny_model_dir)
    assert (m.kind, m.family, m.pretrained, m.format) == ("tiny", "nanochat", False, None) and m.parameters > 0


def test_a_damaged_manifest_does_not_break_the_catalogue(tiny_model_dir, monkeypatch):
    from core.home import area
    from core.models.catalogue import list_models, parameters_of

    (tiny_model_dir / FILENAME).write_text("{broken")
    assert parameters_of(tiny_model_dir) > 0  # from config.json instead
    local = area("models") / "local" / "x-1"
    local.parent.mkdir(parents=True)
    tiny_model_dir.rename(local)
    (local / FILENAME).write_text(json.dumps({"kind": "run", "catalogue_kind": "evil", "source": 5}))
    entry = next(e for e in list_models(check_hub=False) if e.path == local)
    assert entry.kind == "local" and entry.parameters > 0


def test_a_runs_final_model_inherits_family_and_pretrained_from_its_base(tiny_model_dir, tmp_path):
    from core.models.loading import load_model
    from core.training.recipes import RECIPES, TrainConfig
    from core.training.setup import save_final_model

    base = read_manifest(tiny_model_dir)
    base.pretrained = True  # as if it were a pretrained chat model
    write_manifest(tiny_model_dir, base)
    loaded = load_model(tiny_model_dir, device="cpu")
    cfg = TrainConfig(model=str(tiny_model_dir), data="sample", recipe=RECIPES["tiny"], format="paper")
    out = save_final_model(tmp_path / "run1", loaded.model, loaded.tokenizer, cfg)
    m = read_manifest(out)
    assert (m.kind, m.family, m.pretrained, m.format, m.base_model, m.recipe, m.get("run")) == \
        ("run", "nanochat", True, "paper", str(tiny_model_dir), "tiny", "run1")
