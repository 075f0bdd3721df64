"""Memory estimates: exact parameter arithmetic, the right direction for every knob, and activations
close to what autograd really keeps (measured with saved-tensor hooks on a tiny model)."""

from __future__ import annotations

import pytest
import torch

from core.models.memory import (
    GiB,
    ModelShape,
    TrainSetup,
    check_training_fits,
    estimate_inference,
    estimate_training,
    lora_parameters,
)

D20 = ModelShape(n_layer=20, hidden=1280, n_head=10, n_kv_head=10, vocab=65536, intermediate=5120)


def test_d20_shape_has_the_published_parameter_count():
    assert D20.parameters == 560_988_160


def test_each_knob_moves_the_estimate_the_right_way():
    base = estimate_training(D20, TrainSetup(batch=8, seq_len=1024))
    ckpt = estimate_training(D20, TrainSetup(batch=8, seq_len=1024, grad_checkpointing=True))
    lora = estimate_training(D20, TrainSetup(batch=8, seq_len=1024, lora=True))
    muon = estimate_training(D20, TrainSetup(batch=8, seq_len=1024, optimizer="muon"))
    fp32 = estimate_training(D20, TrainSetup(batch=8, seq_len=1024, dtype="float32"))
    big = estimate_training(D20, TrainSetup(batch=16, seq_len=1024))
    assert ckpt.parts["activations"] < base.parts["activations"] / 5
    assert lora.trainable == lora_parameters(D20, 16) < D20.parameters / 50
    assert lora.parts["gradients"] < base.parts["gradients"] / 20 and lora.parts["optimizer"] < base.parts["optimizer"] / 20
    assert muon.parts["optimizer"] < base.parts["optimizer"]
    assert fp32.parts["weights"] == 2 * base.parts["weights"]
    assert big.parts["activations"] == 2 * base.parts["activations"] and big.total > base.total
    # full fine-tuning of a d20 in bf16 with AdamW: 2 + 2 + 4 bytes per parameter before activations
    assert base.parts["weights"] + base.parts["gradients"] + base.parts["optimizer"] == 8 * D20.parameters


def test_inference_needs_less_than_training_and_grows_with_the_kv_cache():
    short = estimate_inference(D20, batch=1, seq_len=512)
    long = estimate_inference(D20, batch=1, seq_len=2048)
    assert long.parts["kv cache"] == 4 * short.parts["kv cache"]
    assert short.total < estimate_training(D20, TrainSetup(batch=1, seq_len=512)).total
    assert 1.0 < short.total / GiB < 2.0  # 1.1 GB of bf16 weights + context + cache


@pytest.mark.parametrize("bad", [dict(batch=0), dict(dtype="int8"), dict(optimizer="lion"),
                                 dict(lora=True, lora_rank=0), dict(lora_targets=("mlp",))])
def test_invalid_setups_are_refused(bad):
    with pytest.raises(ValueError):
        TrainSetup(**bad)


def test_activation_estimate_is_close_to_what_autograd_saves(tiny_model_dir):
    """Count the bytes autograd keeps for backward (distinct storages) in one fp32 forward with a loss."""
    from core.models.loading import load_model

    loaded = load_model(tiny_model_dir, device="cpu", dtype=torch.float32, train=True)
    shape = ModelShape.from_config(loaded.model.config.to_dict())
    batch, seq = 4, 128
    ids = torch.randint(0, shape.vocab, (batch, seq), generator=torch.Generator().manual_seed(0))
    params = {p.untyped_storage().data_ptr() for p in loaded.model.parameters()}
    saved: dict[int, int] = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            saved[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loaded.model(input_ids=ids, labels=ids).loss
    measured = sum(saved.values())
    est = estimate_training(shape, TrainSetup(batch=batch, seq_len=seq, dtype="float32"), cuda=False)
    predicted = est.parts["activations"] + est.parts["logits"]
    assert 0.75 < predicted / measured < 1.33, (predicted, measured)


def test_check_training_fits_reports_need_and_free_memory(tiny_model_dir):
    ok, msg, est = check_training_fits(tiny_model_dir, TrainSetup(batch=2, seq_len=64, dtype="float32"), device="cpu")
    assert ok and "GiB" in msg and est.total > 0
    ok, msg, _ = check_training_fits(tiny_model_dir, TrainSetup(batch=100_000, seq_len=100_000), device="cpu")
    assert not ok and "gradient checkpointing" in msg


SMOLLM2_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576,
                  "intermediate_size": 1536, "num_attention_heads": 9, "num_hidden_layers": 30,
                  "num_key_value_heads": 3, "head_dim": 64, "vocab_size": 49152, "tie_word_embeddings": True,
                  "attention_bias": False, "mlp_bias": False, "hidden_act": "silu", "rms_norm_eps": 1e-5,
                  "max_position_embeddings": 8192}


def test_the_shape_formula_counts_smollm2_as_the_real_model_does():
    """One formula (ModelShape, from the family's shape) gives the real num_parameters() of SmolLM2-135M:
    grouped-query attention, the gated MLP, norm weights and the tied head all counted."""
    from transformers import LlamaConfig, LlamaForCausalLM

    with torch.device("meta"):  # the real module tree, no memory
        model = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in SMOLLM2_CONFIG.items() if k != "architectures"}))
    assert model.num_parameters() == 134_515_008
    assert ModelShape.from_config(SMOLLM2_CONFIG).parameters == 134_515_008
    assert D20.parameters == 560_988_160


def test_the_train_estimate_uses_the_shape_formula(tiny_model_dir):
    from core.models.loading import load_model
    from core.training.jobs import estimate
    from core.training.recipes import build_config

    est = estimate(build_config(str(tiny_model_dir), "sample", recipe="tiny", fmt="paper", epochs=1))
    real = sum(p.numel() for p in load_model(tiny_model_dir, device="cpu").model.parameters())
    assert est.parameters == ModelShape.from_folder(tiny_model_dir).parameters == real
    assert not est.measured and est.step_seconds > 0  # nothing ran here yet: the FLOPs figure


def test_a_measured_step_time_drives_the_estimate(tiny_model_dir):
    from core.training import machine
    from core.training.jobs import estimate
    from core.training.recipes import build_config

    cfg = build_config(str(tiny_model_dir), "sample", recipe="tiny", fmt="paper", minutes=5)
    machine.record_step_time(cfg.model, cfg.recipe, cfg.format, "cpu", [1.5, 1.5, 1.5])
    est = estimate(cfg)
    assert est.measured and est.step_seconds == 1.5 and est.budget_steps == 200
    assert "measured here" in est.describe()
