"""`python -m core export`: a model as one GGUF file for llama.cpp, Ollama and LM Studio (+ an Ollama Modelfile).

    python -m core export run:20260101-120000 --gguf tutor.gguf              # f16
    python -m core export runs/demo --gguf out/tutor.gguf --quant q8_0       # a run folder: its model/
    ollama create scienceqa-tutor -f out/Modelfile                            # then: ollama run scienceqa-tutor

llama-family models only (SmolLM2 and its fine-tuned runs); a NanoChat model gets a one-line explanation.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from core.models.export import QUANTS

    p = subparsers.add_parser("export", help="export a model to GGUF (llama.cpp, Ollama, LM Studio)")
    p.add_argument("model", help="run:<id> | a run folder | a model folder | a catalogue name")
    p.add_argument("--gguf", type=Path, required=True, help="the .gguf file to write (a Modelfile goes beside it)")
    p.add_argument("--quant", choices=QUANTS, default="f16", help="f16 (default), q8_0 (half the size), f32")
    p.set_defaults(func=run)


def model_folder(name: str) -> Path:
    """A run folder means its final model; anything else goes through the catalogue."""
    from core.models.obtain import resolve_model

    path = Path(name).expanduser()
    from core.jobs import runs

    if (runs.model_dir(path) / "config.json").exists():
        return runs.model_dir(path)
    return resolve_model(name)


def run(args: argparse.Namespace) -> int:
    from core.models.export import export_gguf
    from core.progress import Bar, say

    folder = model_folder(args.model)
    say(f"Exporting {folder} to {args.gguf} ({args.quant}) ...")
    with Bar("exporting", unit="tensor") as bar:
        result = export_gguf(folder, args.gguf, args.quant, progress=bar.callback())
    print(f"{result.gguf} ({result.bytes / 2**20:.1f} MiB, {result.architecture}, {result.quant}, "
          f"{result.tensors} tensors)\n{result.modelfile}: ollama create scienceqa-tutor -f {result.modelfile}")
    return 0
