"""GGUF export: a model folder (a fine-tuned run's `model/`, a local llama-family model) -> one `.gguf`
file that llama.cpp, Ollama and LM Studio load, with the chat template in its metadata, and an Ollama
`Modelfile` beside it (template, stop token, the tutor's sampling defaults and system prompt).

llama.cpp's own converter (`convert_hf_to_gguf.py`) is not published on PyPI; its `gguf` package is.
This module writes the file the way that converter does for the `llama` architecture, with gguf's
`GGUFWriter` and tensor-name map: Q and K rows permuted to llama.cpp's rotary layout, 1-D tensors
(norms) kept in f32, the rest in f16 or q8_0, a byte-level BPE vocabulary with its merges and token
types. NanoChat has no llama.cpp architecture: exporting one raises a StudioError that says so and
points at its safetensors folder, which transformers loads as it is.

    python -m core export run:20260101-120000 --gguf tutor.gguf --quant q8_0
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import StudioError
from core.models.families import Family, family_for_config

QUANTS = ("f16", "q8_0", "f32")
ARCHITECTURES = {"llama": "llama"}  # transformers model_type -> llama.cpp architecture
GENERATION_MARKERS = re.compile(r"\{%-?\s*(end)?generation\s*-?%\}")  # transformers-only template tags


@dataclass
class ExportResult:
    gguf: Path
    modelfile: Path
    architecture: str
    quant: str
    tensors: int
    bytes: int


def check_exportable(folder: Path) -> dict:
    """The folder's config.json, or a StudioError saying why llama.cpp cannot run this model."""
    from core.files import read_json

    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise StudioError(f"{folder} is not a model folder (no config.json).")
    config = read_json(folder / "config.json")
    kind = config.get("model_type")
    if family_for_config(config).name == "nanochat":
        raise StudioError(f"llama.cpp has no nanochat architecture, so a NanoChat model cannot become a GGUF. "
                          f"Use its safetensors folder instead ({folder}): transformers loads it as it is, and "
                          "`python -m core publish` pushes it to the Hub.")
    if kind not in ARCHITECTURES:
        raise StudioError(f"GGUF export covers the {', '.join(ARCHITECTURES)} family; this model is "
                          f"'{kind}'. Use its safetensors folder ({folder}).")
    return config


def _permute(w, n_head: int):  # noqa: ANN001, ANN202 - torch tensors
    """HF's rotary layout (halves) -> llama.cpp's (interleaved pairs), as convert_hf_to_gguf.py does."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _pre_tokenizer(spec: dict | None) -> str:
    """llama.cpp's name for how text is split before BPE (tokenizer.ggml.pre)."""
    parts = spec.get("pretokenizers", [spec]) if spec else []
    types = [p.get("type") for p in parts]
    if types == ["ByteLevel"] and parts[0].get("use_regex", True):
        return "gpt-2"  # llama.cpp's name (llama-vocab.cpp); "gpt2" is refused on load
    if types == ["Digits", "ByteLevel"] and parts[0].get("individual_digits"):
        return "smollm"  # SmolLM's: digits one by one, then GPT-2's split
    raise StudioError(f"This tokenizer splits text as {types}; GGUF export covers GPT-2-style byte-level "
                      "tokenizers (SmolLM2's, GPT-2's) for now.")


def tokenizer_metadata(tokenizer, vocab_size: int) -> dict:
    """tokens, token types, merges and pre-tokenizer of a byte-level BPE tokenizer, in llama.cpp's terms."""
    import gguf

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    if model.get("type") != "BPE":
        raise StudioError(f"GGUF export covers byte-level BPE tokenizers; this one is {model.get('type')}.")
    pre = _pre_tokenizer(spec.get("pre_tokenizer"))
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [gguf.TokenType.UNUSED] * vocab_size
    for token, i in model["vocab"].items():
        if i < vocab_size:
            tokens[i], types[i] = token, gguf.TokenType.NORMAL
    for added in spec.get("added_tokens", []):
        if added["id"] < vocab_size:
            tokens[added["id"]] = added["content"]
            types[added["id"]] = gguf.TokenType.CONTROL if added["special"] else gguf.TokenType.USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    return {"tokens": tokens, "types": types, "merges": merges, "pre": pre}


def gguf_chat_template(template: str) -> str:
    """The chat template without transformers' `{% generation %}` markers (llama.cpp's Jinja has no such tag)."""
    return GENERATION_MARKERS.sub("", template)


def modelfile_text(gguf_name: str, family: Family, eos_token: str = "") -> str:
    """An Ollama Modelfile: the GGUF, the family's chat format as a Go template, its stop tokens (the
    family's end of turn first), the tutor's sampling defaults and system prompt."""
    from core.data.prompts import DEFAULT_SYSTEM_PROMPT, TUTOR_TEMPERATURE, TUTOR_TOP_P

    lines = [f"FROM ./{gguf_name}", ""]
    if family.end_of_turn == "<|im_end|>":  # ChatML (SmolLM2): Ollama needs it as a Go template
        lines += ['TEMPLATE """{{- if .System }}<|im_start|>system',
                  "{{ .System }}<|im_end|>",
                  "{{ end }}{{- range .Messages }}<|im_start|>{{ .Role }}",
                  "{{ .Content }}<|im_end|>",
                  '{{ end }}<|im_start|>assistant', '"""']
    else:  # Ollama reads the Jinja template in the GGUF's metadata and guesses the format
        lines += ["# chat format: the template stored in the GGUF's tokenizer.chat_template"]
    stops = dict.fromkeys([t for t in (family.end_of_turn, *family.stop_tokens, eos_token) if t])
    lines += [f"PARAMETER stop {json.dumps(t)}" for t in stops]
    lines += [f"PARAMETER temperature {TUTOR_TEMPERATURE}", f"PARAMETER top_p {TUTOR_TOP_P}",
              f'SYSTEM """{DEFAULT_SYSTEM_PROMPT}"""', ""]
    return "\n".join(lines)


def export_gguf(folder: Path, out: Path, quant: str = "f16",
                progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Write `out` (.gguf) from the transformers model in `folder`, and `Modelfile` beside it."""
    import gguf
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM

    from core.files import write_text_atomic
    from core.models.loading import load_tokenizer

    if quant not in QUANTS:
        raise StudioError(f"Unknown quantisation {quant!r}; choose one of {', '.join(QUANTS)}.")
    folder, out = Path(folder), Path(out)
    if out.suffix != ".gguf":
        raise StudioError(f"The output file must end in .gguf (got {out.name}).")
    config = check_exportable(folder)
    arch = ARCHITECTURES[config["model_type"]]
    tokenizer = load_tokenizer(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    cfg = model.config
    n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    vocab = tokenizer_metadata(tokenizer, cfg.vocab_size)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    state = {k: v for k, v in model.state_dict().items()
             if not (k == "lm_head.weight" and cfg.tie_word_embeddings)}  # tied: llama.cpp reuses token_embd
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    writer = gguf.GGUFWriter(tmp, arch)
    writer.add_name(folder.name)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_rope_dimension_count(head_dim)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_rope_freq_base(float(getattr(cfg, "rope_theta", None) or cfg.rope_parameters["rope_theta"]))
    writer.add_vocab_size(cfg.vocab_size)
    writer.add_file_type({"f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
                          "f32": gguf.LlamaFileType.ALL_F32}[quant])
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(vocab["pre"])
    writer.add_token_list(vocab["tokens"])
    writer.add_token_types(vocab["types"])
    writer.add_token_merges(vocab["merges"])
    for key, tid in (("bos", tokenizer.bos_token_id), ("eos", tokenizer.eos_token_id),
                     ("pad", tokenizer.pad_token_id)):
        if tid is not None:
            getattr(writer, f"add_{key}_token_id")(tid)
    writer.add_add_bos_token(False)  # the chat template writes any start token itself
    writer.add_chat_template(gguf_chat_template(tokenizer.chat_template))
    qtype = {"f16": gguf.GGMLQuantizationType.F16, "q8_0": gguf.GGMLQuantizationType.Q8_0,
             "f32": gguf.GGMLQuantizationType.F32}[quant]
    for i, (name, tensor) in enumerate(state.items()):
        if name.endswith("q_proj.weight"):
            tensor = _permute(tensor, n_head)
        elif name.endswith("k_proj.weight"):
            tensor = _permute(tensor, n_kv)
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise StudioError(f"No GGUF name for the tensor {name}; this model has a layout llama.cpp does not.")
        data = tensor.detach().numpy().astype(np.float32)
        kind = gguf.GGMLQuantizationType.F32 if data.ndim == 1 else qtype  # norms stay f32, as llama.cpp keeps them
        if kind == gguf.GGMLQuantizationType.Q8_0 and data.shape[-1] % 32:
            kind = gguf.GGMLQuantizationType.F16  # rows that do not split into q8_0 blocks of 32
        if kind == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(new, data)
        elif kind == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(new, data.astype(np.float16))
        else:
            writer.add_tensor(new, gguf.quants.quantize(data, kind), raw_dtype=kind)
        if progress:
            progress(i + 1, len(state))
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)  # atomic: a crash never leaves a half-written .gguf under the real name
    modelfile = out.parent / "Modelfile"
    write_text_atomic(modelfile, modelfile_text(out.name, family_for_config(config), tokenizer.eos_token or ""))
    return ExportResult(gguf=out, modelfile=modelfile, architecture=arch, quant=quant, tensors=len(state),
                        bytes=out.stat().st_size)


def export_to_home(folder: Path, label: str, quant: str = "q8_0",
                   progress: Callable[[int, int], None] | None = None, actor=None) -> ExportResult:
    """Export into the app home (`exports/<label>-<quant>/`, its own folder so each Modelfile stays beside
    its GGUF): what the Models page offers for download (the admin only, in public mode)."""
    from core import access
    from core.home import area

    access.require(actor, "Exporting a model")
    label = label.rstrip("/").rsplit("/", 1)[-1]  # a folder or owner/name: its last part
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.") or "model"
    return export_gguf(folder, area("exports") / f"{safe}-{quant}" / f"{safe}-{quant}.gguf", quant, progress)
