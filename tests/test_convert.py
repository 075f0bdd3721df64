"""Raw nanochat checkpoints -> transformers folders: exact logits, exact tokens, refusals, atomic cache.

Every checkpoint here is built in the test: a small random nanochat state dict with nanochat's key
names, a meta json, and a pickled `tiktoken.Encoding` with nanochat's split pattern and special tokens.
The reference forward pass below follows nanochat's gpt.py, independently of transformers.
"""

from __future__ import annotations

import json
import os
import pickle
from collections import Counter
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from core.errors import StudioError
from core.models.families.nanochat.template import SPECIAL_TOKENS
from core.models.tiny import SPLIT_PATTERN

CFG = dict(sequence_len=64, vocab_size=0, n_layer=2, n_head=4, n_kv_head=2, n_embd=32)
CORPUS = ("The answer is B. Which is heavier? 12 kg is more than 7 kg. Solids keep their shape. "
          "Options: (A) milk (B) rock (C) steam. The the the answer answer is is B B.\n\n  Context: N/A ") * 3


def make_encoding(n_merges: int = 60):
    """A tiny byte-level BPE: 256 byte tokens + `n_merges` merges trained on CORPUS + nanochat's specials."""
    import regex
    import tiktoken

    ranks = {bytes([i]): i for i in range(256)}
    words = [[bytes([b]) for b in w.encode()] for w in regex.findall(SPLIT_PATTERN, CORPUS)]
    for _ in range(n_merges):
        pairs = Counter((a, b) for w in words for a, b in zip(w, w[1:]))
        if not pairs:
            break
        (a, b), _n = pairs.most_common(1)[0]
        ranks[a + b] = len(ranks)
        merged = []
        for w in words:
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged.append(out)
        words = merged
    special = {name: len(ranks) + i for i, name in enumerate(SPECIAL_TOKENS)}
    return tiktoken.Encoding(name="rustbpe", pat_str=SPLIT_PATTERN, mergeable_ranks=ranks, special_tokens=special)


def make_state_dict(cfg: dict, seed: int = 0, prefix: str = "") -> dict:
    g = torch.Generator().manual_seed(seed)
    h, hd = cfg["n_embd"], cfg["n_embd"] // cfg["n_head"]
    r = lambda *s, std=0.3: torch.randn(*s, generator=g) * std  # noqa: E731
    sd = {"transformer.wte.weight": r(cfg["vocab_size"], h, std=1.0), "lm_head.weight": r(cfg["vocab_size"], h, std=4.0)}
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        sd[p + "attn.c_q.weight"] = r(cfg["n_head"] * hd, h)
        sd[p + "attn.c_k.weight"] = r(cfg["n_kv_head"] * hd, h)
        sd[p + "attn.c_v.weight"] = r(cfg["n_kv_head"] * hd, h)
        sd[p + "attn.c_proj.weight"] = r(h, h)
        sd[p + "mlp.c_fc.weight"] = r(4 * h, h)
        sd[p + "mlp.c_proj.weight"] = r(h, 4 * h)
    return {prefix + k: v for k, v in sd.items()}


def make_raw_checkpoint(root: Path, step: int = 5, sub: str = "chatsft_checkpoints/d2", prefix: str = "",
                        enc=None, seed: int = 0, meta_extra: dict | None = None, sd_extra: dict | None = None) -> dict:
    """Write nanochat's layout under `root`: <sub>/model_<step>.pt, <sub>/meta_<step>.json, tokenizer/tokenizer.pkl."""
    enc = enc or make_encoding()
    cfg = {**CFG, "vocab_size": enc.n_vocab, **(meta_extra or {})}
    folder = root / sub
    folder.mkdir(parents=True, exist_ok=True)
    sd = make_state_dict({**CFG, "vocab_size": enc.n_vocab}, seed, prefix)
    sd.update(sd_extra or {})
    torch.save(sd, folder / f"model_{step:06d}.pt")
    (folder / f"meta_{step:06d}.json").write_text(json.dumps({"step": step, "model_config": cfg}))
    (root / "tokenizer").mkdir(exist_ok=True)
    with open(root / "tokenizer" / "tokenizer.pkl", "wb") as f:
        pickle.dump(enc, f)
    return {"sd": {k.removeprefix("_orig_mod."): v for k, v in sd.items()}, "enc": enc, "cfg": cfg}


def reference_logits(sd: dict, cfg: dict, idx: torch.Tensor) -> torch.Tensor:
    """nanochat's GPT.forward (gpt.py), fp32: norm(wte) -> blocks -> norm -> lm_head -> 15 tanh(x/15)."""
    B, T = idx.shape
    H, KV, D = cfg["n_head"], cfg["n_kv_head"], cfg["n_embd"] // cfg["n_head"]
    norm = lambda x: F.rms_norm(x, (x.size(-1),))  # noqa: E731
    inv_freq = 1.0 / (10000 ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    cos, sin = freqs.cos()[None, :, None, :], freqs.sin()[None, :, None, :]  # (1, T, 1, D/2)

    def rotary(x):  # (B, T, heads, D); nanochat rotates the two halves, not interleaved pairs
        x1, x2 = x[..., : D // 2], x[..., D // 2:]
        return torch.cat([x1 * cos + x2 * sin, x1 * (-sin) + x2 * cos], 3)

    x = norm(sd["transformer.wte.weight"][idx])
    for i in range(cfg["n_layer"]):
        w = lambda n: sd[f"transformer.h.{i}.{n}.weight"]  # noqa: E731
        y = norm(x)
        q = (y @ w("attn.c_q").T).view(B, T, H, D)
        k = (y @ w("attn.c_k").T).view(B, T, KV, D)
        v = (y @ w("attn.c_v").T).view(B, T, KV, D)
        q, k = norm(rotary(q)), norm(rotary(k))  # rotary first, then QK norm
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)  # GQA
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + att.transpose(1, 2).reshape(B, T, H * D) @ w("attn.c_proj").T
        x = x + F.relu(norm(x) @ w("mlp.c_fc").T).square() @ w("mlp.c_proj").T
    logits = norm(x) @ sd["lm_head.weight"].T
    return 15 * torch.tanh(logits / 15)


def convert(root: Path, out: Path, **kw) -> Path:
    from core.models.families.nanochat.convert import convert_checkpoint

    return convert_checkpoint(root, out, **kw)


@pytest.mark.parametrize("prefix", ["", "_orig_mod."])
def test_converted_logits_equal_nanochat_reference(tmp_path, prefix):
    from core.models.loading import load_model

    raw = make_raw_checkpoint(tmp_path / "raw", prefix=prefix)
    out = convert(tmp_path / "raw", tmp_path / "hf")
    loaded = load_model(out, device="cpu", dtype=torch.float32)
    cfg = loaded.model.config
    assert (cfg.intermediate_size, cfg.tie_word_embeddings, cfg.final_logit_softcapping) == (128, False, 15.0)
    assert cfg.num_key_value_heads == 2 and cfg.pad_token_id is None
    assert cfg.bos_token_id == raw["enc"]._special_tokens["<|bos|>"]
    assert cfg.eos_token_id == raw["enc"]._special_tokens["<|assistant_end|>"]
    idx = torch.randint(0, raw["cfg"]["vocab_size"], (2, 24), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = loaded.model(idx).logits
    want = reference_logits(raw["sd"], raw["cfg"], idx)
    assert want.abs().max() > 10  # the soft-cap is exercised
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    manifest = json.loads((out / "studio.json").read_text())
    assert manifest["step"] == 5 and manifest["stage"] == "sft"
    assert manifest["parameters"] == sum(p.numel() for p in loaded.model.parameters())


TEXTS = ["Hello world! The answer is B.", "  leading spaces\tand\ttabs\n\nnew lines\r\n",
         "numbers 1234567 3.14159 and 12kg", "unicode: café naïve 日本語 🤖 ümlaut",
         "it's they're we'll I'VE", "x<|bos|> y", ""]


def test_tokenizer_matches_tiktoken(tmp_path):
    from core.models.loading import load_tokenizer

    raw = make_raw_checkpoint(tmp_path / "raw")
    tok = load_tokenizer(convert(tmp_path / "raw", tmp_path / "hf"))
    enc = raw["enc"]
    for text in TEXTS + [CORPUS]:
        # special-token strings inside text are special tokens for the HF tokenizer (tiktoken's encode())
        assert tok.encode(text, add_special_tokens=False) == enc.encode(text, allowed_special="all"), text
        assert tok.decode(enc.encode_ordinary(text)) == text
    for name, i in enc._special_tokens.items():
        assert tok.convert_tokens_to_ids(name) == i
        assert tok.encode(name, add_special_tokens=False) == [i]  # special tokens are atomic
    assert len(tok) == enc.n_vocab


def test_chat_template_reproduces_nanochat_rendering(tmp_path):
    from core.models.loading import load_tokenizer

    raw = make_raw_checkpoint(tmp_path / "raw")
    tok = load_tokenizer(convert(tmp_path / "raw", tmp_path / "hf"))
    enc, sp = raw["enc"], raw["enc"]._special_tokens
    conv = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Which is heavier? 12 kg"},
            {"role": "assistant", "content": "The answer is B."}, {"role": "user", "content": "Why?"},
            {"role": "assistant", "content": "12 kg is more than 7 kg."}]
    # nanochat's render_conversation, written out from its tokenizer.py
    ids, mask = [sp["<|bos|>"]], [0]
    msgs = [{"role": "user", "content": "Be brief.\n\nWhich is heavier? 12 kg"}] + conv[2:]
    for m in msgs:
        body = enc.encode_ordinary(m["content"])
        if m["role"] == "user":
            part = [sp["<|user_start|>"], *body, sp["<|user_end|>"]]
            ids, mask = ids + part, mask + [0] * len(part)
        else:
            ids += [sp["<|assistant_start|>"], *body, sp["<|assistant_end|>"]]
            mask += [0] + [1] * (len(body) + 1)
    out = tok.apply_chat_template(conv, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    assert out["input_ids"] == ids
    assert out["assistant_masks"] == mask


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/sqa_pickle_pwned",))


def test_pickle_that_runs_code_is_refused(tmp_path):
    from core.models.families.nanochat.safe_pickle import load_tiktoken_encoding

    marker = Path("/tmp/sqa_pickle_pwned")
    marker.unlink(missing_ok=True)
    bad = tmp_path / "tokenizer.pkl"
    bad.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(StudioError, match="not allowed"):
        load_tiktoken_encoding(bad)
    assert not marker.exists()
    # the same attack inside a checkpoint folder stops the conversion
    make_raw_checkpoint(tmp_path / "raw")
    (tmp_path / "raw" / "tokenizer" / "tokenizer.pkl").write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(StudioError, match="Refused"):
        convert(tmp_path / "raw", tmp_path / "hf")
    assert not marker.exists() and not (tmp_path / "hf").exists()


def test_weights_pickle_with_code_is_refused(tmp_path):
    make_raw_checkpoint(tmp_path / "raw")
    model = next((tmp_path / "raw").rglob("model_*.pt"))
    torch.save({"x": _Evil()}, model)
    with pytest.raises(StudioError, match="Refused|more than tensors"):
        convert(tmp_path / "raw", tmp_path / "hf")


def test_newer_architecture_is_refused(tmp_path):
    make_raw_checkpoint(tmp_path / "raw", sd_extra={"resid_lambdas": torch.ones(2), "x0_lambdas": torch.zeros(2)})
    with pytest.raises(StudioError, match="newer nanochat architecture"):
        convert(tmp_path / "raw", tmp_path / "hf")
    make_raw_checkpoint(tmp_path / "raw2", meta_extra={"window_pattern": "SSSL"})
    with pytest.raises(StudioError, match="newer nanochat architecture"):
        convert(tmp_path / "raw2", tmp_path / "hf")


def test_truncated_weights_give_a_clear_error(tmp_path):
    make_raw_checkpoint(tmp_path / "raw")
    model = next((tmp_path / "raw").rglob("model_*.pt"))
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with pytest.raises(StudioError, match="truncated or corrupt"):
        convert(tmp_path / "raw", tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


def test_vocab_mismatch_gives_a_clear_error(tmp_path):
    make_raw_checkpoint(tmp_path / "raw")
    with open(tmp_path / "raw" / "tokenizer" / "tokenizer.pkl", "wb") as f:
        pickle.dump(make_encoding(n_merges=20), f)
    with pytest.raises(StudioError, match="Vocabulary mismatch"):
        convert(tmp_path / "raw", tmp_path / "hf")


def test_folder_without_checkpoint_gives_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(StudioError, match="No nanochat checkpoint"):
        convert(tmp_path / "empty", tmp_path / "hf")


def test_latest_step_and_preferred_stage_are_chosen():
    from core.models.families.nanochat.convert import select_checkpoint

    files = ["base_checkpoints/d20/model_021400.pt", "base_checkpoints/d20/meta_021400.json",
             "chatsft_checkpoints/d20/model_000650.pt", "chatsft_checkpoints/d20/meta_000650.json",
             "chatsft_checkpoints/d20/model_000700.pt", "chatsft_checkpoints/d20/meta_000700.json",
             "tokenizer/tokenizer.pkl", "tokenizer/token_bytes.pt", "README.md"]
    ck = select_checkpoint(files)
    assert (ck.stage, ck.step, ck.model, ck.tokenizer) == (
        "sft", 700, "chatsft_checkpoints/d20/model_000700.pt", "tokenizer/tokenizer.pkl")
    assert select_checkpoint(files, stage="base").meta == "base_checkpoints/d20/meta_021400.json"
    assert select_checkpoint(files, step=650).step == 650
    with pytest.raises(StudioError, match="No 'rl' checkpoint"):
        select_checkpoint(files, stage="rl")
    flat = select_checkpoint(["model_000650.pt", "meta_000650.json", "tokenizer.pkl", "token_bytes.pt"])
    assert (flat.stage, flat.step, flat.tokenizer) == (None, 650, "tokenizer.pkl")


def test_interrupted_conversion_leaves_no_half_folder(tmp_path, monkeypatch):
    from transformers import PreTrainedTokenizerFast

    make_raw_checkpoint(tmp_path / "raw")
    out = tmp_path / "models" / "hf"

    def crash(self, *a, **k):
        raise KeyboardInterrupt("simulated crash while writing the tokenizer")

    monkeypatch.setattr(PreTrainedTokenizerFast, "save_pretrained", crash)
    with pytest.raises(KeyboardInterrupt):
        convert(tmp_path / "raw", out)
    assert list((tmp_path / "models").iterdir()) == []  # no target, no leftover temp folder
    monkeypatch.undo()
    assert (convert(tmp_path / "raw", out) / "model.safetensors").exists()


# ---- gaps found by reading real Hub layouts (simulated here) --------------------------------------

def test_an_explicit_stage_on_a_root_layout_repo_is_taken_on_trust():
    from core.models.families.nanochat.convert import select_checkpoint

    root = ["model_000650.pt", "meta_000650.json", "tokenizer.pkl", "token_bytes.pt"]  # sdobson/nanochat
    ck = select_checkpoint(root, stage="sft")
    assert (ck.stage, ck.step, ck.model, ck.stage_from_layout) == ("sft", 650, "model_000650.pt", False)
    assert select_checkpoint(root, prefer="sft").stage == "sft"  # the catalogue's stage for that repo
    staged = ["chatsft_checkpoints/d20/model_000650.pt", "chatsft_checkpoints/d20/meta_000650.json", "tokenizer.pkl"]
    with pytest.raises(StudioError, match="No 'rl' checkpoint here; found: sft"):
        select_checkpoint(staged, stage="rl")  # where the layout names stages, a missing one is still refused


def test_model_pt_and_meta_json_without_a_step_are_found_and_converted(tmp_path):
    from core.models.families.nanochat.convert import is_raw_nanochat, select_checkpoint
    from core.models.loading import load_model
    from core.models.manifest import read_manifest
    from core.models.obtain import resolve_model

    ck = select_checkpoint(["model.pt", "meta.json", "tokenizer.pkl"])
    assert (ck.model, ck.meta) == ("model.pt", "meta.json")
    both = select_checkpoint(["model.pt", "meta.json", "model_000010.pt", "meta_000010.json", "tokenizer.pkl"])
    assert both.step == 10  # a numbered checkpoint before a plain one
    raw = tmp_path / "repo"
    make_raw_checkpoint(raw, step=7, sub="weights")
    (raw / "weights" / "model_000007.pt").rename(raw / "weights" / "model.pt")
    (raw / "weights" / "meta_000007.json").rename(raw / "weights" / "meta.json")
    assert is_raw_nanochat(raw)
    out = resolve_model(str(raw))
    assert read_manifest(out).get("step") is None and load_model(out, device="cpu").model is not None


def test_sft_and_base_folders_pick_sft_not_base():
    from core.models.families.nanochat.convert import select_checkpoint

    files = ["base/model_021400.pt", "base/meta_021400.json", "sft/model_000650.pt", "sft/meta_000650.json",
             "tokenizer/tokenizer.pkl"]
    ck = select_checkpoint(files)
    assert (ck.stage, ck.model, ck.tokenizer) == ("sft", "sft/model_000650.pt", "tokenizer/tokenizer.pkl")
    assert select_checkpoint(files, stage="base").step == 21400


def test_the_catalogue_calls_nanochat_d32_raw():
    from core.models.catalogue import KNOWN_HUB

    d32 = next(m for m in KNOWN_HUB if m.repo == "karpathy/nanochat-d32")
    assert d32.kind == "hub-raw" and "transformers" not in d32.note


def test_a_transformers_nanochat_with_class_default_token_ids_is_fixed_on_adoption(tiny_model_dir, tmp_path):
    from core.models.families.nanochat.template import ASSISTANT_END, BOS
    from core.models.loading import load_model
    from core.models.obtain import adopt_transformers_folder

    cfg = json.loads((tiny_model_dir / "config.json").read_text())
    cfg.update(bos_token_id=0, eos_token_id=1, pad_token_id=1)  # NanoChatConfig's defaults: byte tokens here
    (tiny_model_dir / "config.json").write_text(json.dumps(cfg))
    (tiny_model_dir / "generation_config.json").write_text(json.dumps({"bos_token_id": 0, "eos_token_id": 1,
                                                                        "pad_token_id": 1}))
    out = adopt_transformers_folder(tiny_model_dir, tmp_path / "adopted", source="someone/nanochat-hf")
    loaded = load_model(out, device="cpu")
    tok = loaded.tokenizer
    assert loaded.model.config.eos_token_id == tok.convert_tokens_to_ids(ASSISTANT_END) != 1
    assert loaded.model.config.bos_token_id == tok.convert_tokens_to_ids(BOS)
    assert loaded.model.config.pad_token_id is None
    assert loaded.model.generation_config.eos_token_id == loaded.model.config.eos_token_id


def test_remote_code_is_refused(tiny_model_dir, tmp_path):
    from core.models.obtain import adopt_transformers_folder, resolve_model

    cfg = json.loads((tiny_model_dir / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"}
    (tiny_model_dir / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(StudioError, match="never runs code from a model repository"):
        adopt_transformers_folder(tiny_model_dir, tmp_path / "adopted", source="someone/evil")
    with pytest.raises(StudioError, match="never runs code"):
        resolve_model(str(tiny_model_dir))
    assert not (tmp_path / "adopted").exists()


@pytest.mark.parametrize("field,value", [("n_head", 0), ("n_kv_head", 0), ("n_embd", -32), ("n_layer", "two"),
                                         ("vocab_size", [2]), ("n_layer", 2.5), ("sequence_len", None),
                                         ("n_layer", True)])
def test_sizes_that_are_zero_negative_or_not_numbers_are_refused_naming_the_file_and_field(tmp_path, capsys,
                                                                                          field, value):
    from core.__main__ import main

    make_raw_checkpoint(tmp_path / "raw", meta_extra={field: value})
    rc = main(["model", "convert", str(tmp_path / "raw"), str(tmp_path / "hf")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "unexpected" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error: ") and err.count("error: ") == 1
    assert "meta_000005.json" in last and f"model_config.{field}" in last
    assert not (tmp_path / "hf").exists()


def test_sizes_that_do_not_divide_are_refused_naming_the_file_and_fields(tmp_path):
    make_raw_checkpoint(tmp_path / "raw", meta_extra={"n_kv_head": 3})
    with pytest.raises(StudioError, match=r"meta_000005.json: model_config.n_head \(4\) is not a multiple of "
                                          r"model_config.n_kv_head \(3\)"):
        convert(tmp_path / "raw", tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


def test_a_plain_pickle_as_weights_is_one_line_with_no_torch_warning_before_it(tmp_path, capsys):
    import warnings

    from core.__main__ import main

    make_raw_checkpoint(tmp_path / "raw")
    model = next((tmp_path / "raw").rglob("model_*.pt"))
    model.write_bytes(pickle.dumps({"a": 1}, protocol=4))  # torch warns about the protocol, then refuses
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc = main(["model", "convert", str(tmp_path / "raw"), str(tmp_path / "hf")])
    err = capsys.readouterr().err
    assert rc == 2 and not [str(w.message) for w in caught]  # nothing would reach stderr before the error
    last = err.splitlines()[-1]
    assert last.startswith("error: Refused to load") and model.name in last and err.count("error: ") == 1
    assert len(last) < 400  # torch's paragraph of advice is not repeated
    assert not (tmp_path / "hf").exists()
