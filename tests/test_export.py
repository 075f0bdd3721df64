"""GGUF export (core.models.export): a tiny llama round trip through transformers' GGUF loader, the Modelfile,
and a plain refusal for NanoChat."""

from __future__ import annotations

from pathlib import Path

import pytest

CHATML = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
          "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] }}<|im_end|>{% endgeneration %}"
          "{% else %}{{ message['content'] }}<|im_end|>{% endif %}\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def make_tiny_llama(out: Path) -> Path:
    """A 2-layer llama (grouped-query attention, tied embeddings, like SmolLM2) with a byte-level BPE
    tokenizer trained here on a few lines, and a ChatML template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    lines = ["Which is heavier, 3 kg or 5 kg? The answer is B.", "A rock is a solid. Milk is a liquid.",
             "You are a friendly science tutor for school students."] * 20
    bpe.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>")
    tok.chat_template = CHATML
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # larger weights than the 0.02 init, so logits differ clearly between tokens
        for p in model.parameters():
            if p.ndim == 2:
                p.normal_(0, 0.2)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("llama") / "model")


def _round_trip(folder: Path, gguf: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ref = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(folder)
    back = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    back_tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    ids = tok.apply_chat_template([{"role": "user", "content": "Which is heavier, 3 kg or 5 kg?"}],
                                  add_generation_prompt=True, tokenize=True, return_dict=False)
    with torch.no_grad():
        a, b = ref(torch.tensor([ids])).logits[0], back(torch.tensor([ids])).logits[0]  # (T, V)
    return a, b, tok, back_tok


@pytest.mark.parametrize("quant, tolerance", [("f32", 1e-5), ("f16", 0.02), ("q8_0", 0.1)])
def test_round_trip_through_transformers_gguf_loader(tiny_llama, tmp_path, quant, tolerance):
    from core.models.export import export_gguf

    result = export_gguf(tiny_llama, tmp_path / "out" / "tutor.gguf", quant)
    assert result.gguf.exists() and result.architecture == "llama" and result.tensors == 2 * 9 + 2
    assert not list((tmp_path / "out").glob(".*partial"))
    a, b, tok, back_tok = _round_trip(tiny_llama, result.gguf)
    scale = a.abs().max().item()
    assert (a - b).abs().max().item() <= tolerance * scale  # f32 exact: Q/K permuted there and back
    assert (a.argmax(-1) == b.argmax(-1)).float().mean().item() >= 0.9
    text = "A rock is a solid, 42 kg."
    assert back_tok.encode(text) == tok.encode(text)
    assert back_tok.eos_token == "<|im_end|>" and back_tok.bos_token == "<|im_start|>"
    assert "<|im_start|>assistant" in back_tok.chat_template and "{% generation %}" not in back_tok.chat_template


def test_files_shrink_with_quantisation(tiny_llama, tmp_path):
    from core.models.export import export_gguf

    sizes = {q: export_gguf(tiny_llama, tmp_path / q / "m.gguf", q).bytes for q in ("f32", "f16", "q8_0")}
    assert sizes["f32"] > sizes["f16"] > sizes["q8_0"]


def test_modelfile_has_template_stop_token_and_sampling(tiny_llama, tmp_path):
    from core.models.export import export_gguf
    from core.serving.chat import ChatSettings

    result = export_gguf(tiny_llama, tmp_path / "tutor.gguf", "q8_0")
    text = result.modelfile.read_text()
    assert text.startswith("FROM ./tutor.gguf\n")
    assert 'TEMPLATE """' in text and "{{ .Content }}<|im_end|>" in text
    assert text.index('PARAMETER stop "<|im_end|>"') < text.index('PARAMETER stop "<|im_start|>"')  # the family's end of turn first
    assert f"PARAMETER temperature {ChatSettings().temperature}" in text and "PARAMETER top_p" in text
    assert 'SYSTEM """' in text


def test_nanochat_is_refused_plainly_with_its_safetensors_folder(tiny_model_dir, tmp_path):
    from core.errors import StudioError
    from core.models.export import export_gguf

    with pytest.raises(StudioError, match="llama.cpp has no nanochat architecture") as e:
        export_gguf(tiny_model_dir, tmp_path / "x.gguf")
    assert str(tiny_model_dir) in str(e.value)
    assert not (tmp_path / "x.gguf").exists()


def test_bad_requests_are_one_line_errors(tiny_llama, tmp_path):
    from core.errors import StudioError
    from core.models.export import export_gguf

    with pytest.raises(StudioError, match="q4"):
        export_gguf(tiny_llama, tmp_path / "x.gguf", "q4")
    with pytest.raises(StudioError, match=r"\.gguf"):
        export_gguf(tiny_llama, tmp_path / "x.bin")
    with pytest.raises(StudioError, match="not a model folder"):
        export_gguf(tmp_path, tmp_path / "x.gguf")


def test_export_command(tiny_llama, tmp_path, capsys):
    from core.__main__ import main

    out = tmp_path / "cli" / "tutor.gguf"
    assert main(["--quiet", "export", str(tiny_llama), "--gguf", str(out), "--quant", "q8_0"]) == 0
    printed = capsys.readouterr()
    assert out.exists() and (out.parent / "Modelfile").exists()
    assert str(out) in printed.out and "ollama create" in printed.out and printed.err == ""
    assert main(["export", str(tmp_path / "missing"), "--gguf", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
