"""Converting a nanochat checkpoint at real size (d20: 560,988,160 parameters, 65,536-token vocab).

Builds a raw nanochat d20 checkpoint offline (random bf16 weights; a synthetic 65,536-token tiktoken
vocabulary: 256 bytes + 65,271 merges + nanochat's 9 special tokens), then measures, side by side:
- conversion time vs the baseline of just `torch.load`-ing the raw weights;
- the converted model's logits vs nanochat's forward pass computed from the raw weights
  (tests/test_convert.py's reference), fp32, max |difference|;
- the converted fast tokenizer vs tiktoken on the embedded sample (identical ids? speed ratio);
- the memory estimate vs the bytes autograd saves, for three small shapes;
- creating the tiny preset from the sample's train split vs its one-minute budget.

    python -m bench.models_bench            # prints a markdown table (about a minute on 2 cores)
"""

from __future__ import annotations

import json
import pickle
import random
import tempfile
import time
from pathlib import Path

import torch

from core.models.families.nanochat.template import SPECIAL_TOKENS
from core.models.tiny import SPLIT_PATTERN

D20 = dict(sequence_len=2048, vocab_size=65536, n_layer=20, n_head=10, n_kv_head=10, n_embd=1280)
SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "sample" / "scienceqa_sample.jsonl"


def synthetic_encoding(n_vocab: int = 65536, seed: int = 0):
    """Byte tokens + random merges of existing tokens (each decomposable, like a trained BPE)."""
    import tiktoken

    rng = random.Random(seed)
    toks = [bytes([i]) for i in range(256)]
    ranks = {t: i for i, t in enumerate(toks)}
    common = [bytes([c]) for c in b"etaoinshrdlu cmfwypvbgk.,\n"]
    while len(ranks) < n_vocab - len(SPECIAL_TOKENS):
        a = toks[rng.randrange(len(toks))] if rng.random() < 0.7 else rng.choice(common)
        b = rng.choice(common) if rng.random() < 0.8 else toks[rng.randrange(len(toks))]
        if len(a + b) <= 16 and a + b not in ranks:
            ranks[a + b] = len(ranks)
            toks.append(a + b)
    special = {n: len(ranks) + i for i, n in enumerate(SPECIAL_TOKENS)}
    return tiktoken.Encoding(name="rustbpe", pat_str=SPLIT_PATTERN, mergeable_ranks=ranks, special_tokens=special)


def write_raw_d20(root: Path, enc) -> dict:
    from tests.test_convert import make_state_dict

    sd = make_state_dict(D20, seed=0)
    sd["lm_head.weight"] *= 5 / D20["n_embd"] ** 0.5 / 4  # logits of a few units, not saturated by the soft-cap
    sd = {k: v.to(torch.bfloat16) for k, v in sd.items()}
    folder = root / "chatsft_checkpoints" / "d20"
    folder.mkdir(parents=True)
    torch.save({"_orig_mod." + k: v for k, v in sd.items()}, folder / "model_000650.pt")
    (folder / "meta_000650.json").write_text(json.dumps({"step": 650, "model_config": D20}))
    (root / "tokenizer").mkdir()
    (root / "tokenizer" / "tokenizer.pkl").write_bytes(pickle.dumps(enc))
    return sd


def measure_saved_bytes(model, ids) -> int:
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, labels=ids)
    return sum(saved.values())


def memory_rows() -> list[tuple[str, str, str, str]]:
    from transformers import NanoChatConfig, NanoChatForCausalLM

    from core.models.memory import ModelShape, TrainSetup, estimate_training

    rows = []
    for name, (h, layers, heads, kv, vocab) in {"h128 L2 MHA": (128, 2, 2, 2, 512), "h256 L4 GQA": (256, 4, 4, 2, 4096),
                                                "h384 L6 MHA": (384, 6, 6, 6, 8192)}.items():
        torch.manual_seed(0)
        model = NanoChatForCausalLM(NanoChatConfig(vocab_size=vocab, hidden_size=h, intermediate_size=4 * h,
                                                   num_hidden_layers=layers, num_attention_heads=heads,
                                                   num_key_value_heads=kv, pad_token_id=None))
        ids = torch.randint(0, vocab, (4, 256))
        measured = measure_saved_bytes(model, ids)
        est = estimate_training(ModelShape.from_config(model.config.to_dict()),
                                TrainSetup(batch=4, seq_len=256, dtype="float32"), cuda=False)
        predicted = est.parts["activations"] + est.parts["logits"]
        rows.append((f"memory estimate, {name}, batch 4 x 256", f"{predicted / 2**20:.1f} MiB",
                     f"{measured / 2**20:.1f} MiB saved by autograd", f"{predicted / measured:.2f}"))
    return rows


def tiny_row() -> tuple[str, str, str, str]:
    """The offline preset must be created in under a minute on 2 CPU cores."""
    from core.data.sources import load_source
    from core.models.tiny import create_tiny

    questions = load_source("sample", split="train")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        create_tiny(questions, Path(tmp) / "tiny", size="small")
        took = time.perf_counter() - t0
    return (f"create tiny 'small' from the sample train split ({len(questions):,} questions, "
            f"{torch.get_num_threads()} threads)", f"{took:.1f} s", "60 s budget", f"{took / 60:.2f}")


def main() -> None:
    from transformers import NanoChatForCausalLM, PreTrainedTokenizerFast  # noqa: F401 - imported before timing
    from transformers.utils import logging as hf_logging

    from core.models.families.nanochat.convert import convert_checkpoint, load_state_dict
    from core.models.loading import load_model
    from tests.test_convert import reference_logits

    hf_logging.disable_progress_bar()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "raw", Path(tmp) / "hf"
        enc = synthetic_encoding()
        raw = write_raw_d20(root, enc)
        t0 = time.perf_counter()
        load_state_dict(root / "chatsft_checkpoints" / "d20" / "model_000650.pt")
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        convert_checkpoint(root, out)
        t_convert = time.perf_counter() - t0
        rows.append(("convert d20 (raw -> transformers, bf16)", f"{t_convert:.1f} s", f"{t_load:.1f} s torch.load only",
                     f"{t_convert / t_load:.1f}x"))
        loaded = load_model(out, device="cpu", dtype=torch.float32)
        n = sum(p.numel() for p in loaded.model.parameters())
        rows.append(("parameters after conversion", f"{n:,}", "560,988,160 (published d20)", "=" if n == 560_988_160 else "DIFFERENT"))
        ids = torch.randint(0, D20["vocab_size"], (1, 32), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            got = loaded.model(ids).logits
            want = reference_logits({k: v.float() for k, v in raw.items()}, D20, ids)
        rows.append(("d20 logits vs nanochat reference (fp32)", f"max |diff| {float((got - want).abs().max()):.2e}",
                     f"logit range ±{float(want.abs().max()):.1f}", ""))
        text = SAMPLE.read_text()[:400_000]
        tok = loaded.tokenizer
        t0 = time.perf_counter()
        ids_hf = tok.encode(text, add_special_tokens=False)
        t_hf = time.perf_counter() - t0
        t0 = time.perf_counter()
        ids_tt = enc.encode_ordinary(text)
        t_tt = time.perf_counter() - t0
        rows.append((f"tokenize {len(text):,} chars of the sample", f"{t_hf * 1000:.0f} ms (fast tokenizer)",
                     f"{t_tt * 1000:.0f} ms (tiktoken)", f"{t_hf / t_tt:.1f}x, ids {'identical' if ids_hf == ids_tt else 'DIFFER'}"))
    rows.append(tiny_row())
    rows += memory_rows()
    print("| measure | this app | baseline | ratio |\n|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
