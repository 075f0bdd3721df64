"""Import a GGUF file (llama.cpp's format) as a transformers model folder the whole app can use.

transformers reads GGUF (`from_pretrained(folder, gguf_file=...)`, with the `gguf` package) and
dequantizes the weights to fp32, which is what fine-tuning needs. This module checks the file first
(its header names the architecture; only architectures a family imports are accepted, in one line
otherwise), then writes safetensors, the tokenizer with its family's chat template, and a manifest
with the source file and its sha256.

    python -m core model import SmolLM2-135M-Instruct.Q4_1.gguf models/smollm2
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from core.errors import StudioError
from core.files import atomic_dir
from core.models.manifest import Manifest, write_manifest

Progress = Callable[[str], None]


def gguf_architecture(path: Path) -> tuple[str, dict]:
    """(general.architecture, a few header fields) from a GGUF file's header; StudioError if it is not one."""
    import gguf

    path = Path(path)
    if not path.is_file():
        raise StudioError(f"{path} is not a file.")
    try:
        reader = gguf.GGUFReader(path)
        fields = {k: reader.fields[k].contents() for k in ("general.architecture", "general.name",
                                                          "general.license", "general.file_type")
                  if k in reader.fields}
    except (ValueError, OSError, KeyError, IndexError, TypeError) as e:
        raise StudioError(f"{path} is not a readable GGUF file ({type(e).__name__}: {str(e)[:120]}).") from e
    arch = fields.get("general.architecture")
    if not isinstance(arch, str):
        raise StudioError(f"{path} is a GGUF file without general.architecture; it cannot be imported.")
    return arch, fields


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def import_gguf(path: Path, out: Path, source: str | None = None, progress: Progress | None = None,
                overwrite: bool = False, extra: dict | None = None) -> Path:
    """`path` (a .gguf file) -> a transformers folder `out` (fp32 safetensors, tokenizer, manifest)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core import access
    from core.models.families import all_families, family_for_gguf

    access.require(None, "Importing a model file")
    say = progress or (lambda _m: None)
    path, out = Path(path), Path(out)
    arch, header = gguf_architecture(path)
    family = family_for_gguf(arch)
    if family is None:
        known = sorted({a for f in all_families() for a in f.gguf_architectures})
        raise StudioError(f"{path.name} is a '{arch}' model; GGUF import supports {', '.join(known)}.")
    if out.exists() and not overwrite:
        raise StudioError(f"{out} already exists.")
    say(f"Checking {path.name} (sha256)...")
    digest = sha256_of(path)
    say(f"Reading {path.name} ({arch}, {path.stat().st_size / 2**20:.0f} MB) and dequantizing its weights...")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    except (ValueError, OSError, KeyError, RuntimeError, NotImplementedError) as e:
        raise StudioError(f"Could not import {path.name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from e
    # the weights are plain fp32 tensors now; transformers still marks the model as "gguf-quantized",
    # which save_pretrained refuses: the mark goes, the tensors stay
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    config = model.config.to_dict()
    fixes = family.fix_tokenizer(tokenizer, config)
    if tokenizer.eos_token_id is not None:
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    say(f"Writing the {family.name} model to {out}...")
    with atomic_dir(out, overwrite=overwrite) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp, Manifest(
            kind="gguf", source=source or str(path.resolve()), family=family.name, pretrained=True,
            parameters=sum(p.numel() for p in model.parameters()),
            extra={"source_file": path.name, "sha256": digest, "architecture": arch,
                   "gguf_name": header.get("general.name"), "licence": header.get("general.license"),
                   "fixes": fixes, **(extra or {})}))
    return out
