"""`python -m core model ...`: list the catalogue, convert a nanochat checkpoint, import a GGUF file,
create a tiny model, estimate memory.

    python -m core model list
    python -m core model convert SRC [OUT] [--stage sft] [--step N] [--dtype bfloat16]
    python -m core model import FILE.gguf OUT [--overwrite]
    python -m core model prepare NAME            # a catalogue model made ready once (smollm2-135m, tiny, a Hub id)
    python -m core model tiny --data sample --out DIR [--size xs|small|medium] [--seed 0]
    python -m core model estimate --model tiny --batch 8 --seq-len 512 [--grad-ckpt] [--lora] [--optimizer muon]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:  # noqa: ANN001 - argparse's private type
    p = subparsers.add_parser("model", help="model catalogue, conversion, tiny preset, memory estimate")
    sub = p.add_subparsers(dest="model_command", required=True)

    ls = sub.add_parser("list", help="the model catalogue")
    ls.add_argument("--no-hub", action="store_true", help="do not check whether the Hub is reachable")
    ls.set_defaults(func=cmd_list)

    cv = sub.add_parser("convert", help="convert a raw nanochat checkpoint (Hub repo id or local folder)")
    cv.add_argument("src", help="Hub repo id (owner/name) or a local folder")
    cv.add_argument("out", nargs="?", help="output folder (default: the app's model cache)")
    cv.add_argument("--stage", choices=["sft", "rl", "mid", "base"], help="which nanochat stage, if several")
    cv.add_argument("--step", type=int, help="which step (default: the latest)")
    cv.add_argument("--dtype", choices=["float32", "bfloat16"], help="default: bfloat16 if the checkpoint is")
    cv.add_argument("--overwrite", action="store_true")
    cv.set_defaults(func=cmd_convert)

    im = sub.add_parser("import", help="import a GGUF file (llama, qwen2) as a transformers model folder")
    im.add_argument("file", help="a .gguf file")
    im.add_argument("out", help="output folder")
    im.add_argument("--overwrite", action="store_true")
    im.set_defaults(func=cmd_import)

    pr = sub.add_parser("prepare", help="make a catalogue model ready once: import a preset (smollm2-135m), "
                                         "create tiny, download or convert a Hub model")
    pr.add_argument("name", help="a catalogue name (`model list`), a Hub repo id or run:<id>")
    pr.set_defaults(func=cmd_prepare)

    tn = sub.add_parser("tiny", help="create a tiny random-init nanochat model with a tokenizer trained on the data")
    tn.add_argument("--data", default="sample", help="data source (sample, hub, a folder, a file, subset:NAME)")
    tn.add_argument("--out", help="output folder (default: the catalogue's 'tiny')")
    tn.add_argument("--size", choices=["xs", "small", "medium"], default="small")
    tn.add_argument("--seed", type=int, default=0)
    tn.add_argument("--overwrite", action="store_true")
    tn.set_defaults(func=cmd_tiny)

    es = sub.add_parser("estimate", help="memory a training (and inference) configuration needs")
    es.add_argument("--model", default="tiny", help="catalogue name or folder (its config.json is read)")
    es.add_argument("--batch", type=int, default=8)
    es.add_argument("--seq-len", type=int, default=512)
    es.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], default="bfloat16")
    es.add_argument("--optimizer", choices=["adamw", "muon", "sgd"], default="adamw")
    es.add_argument("--grad-ckpt", action="store_true", help="gradient checkpointing")
    es.add_argument("--lora", action="store_true")
    es.add_argument("--lora-rank", type=int, default=16)
    es.add_argument("--device", default="auto", help="cuda, mps, cpu or auto (CUDA adds its context)")
    es.set_defaults(func=cmd_estimate)


def _fmt_params(n: int | None) -> str:
    return "?" if n is None else (f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k")


def cmd_list(args: argparse.Namespace) -> int:
    from core.models.catalogue import list_models

    rows = list_models(check_hub=not args.no_hub)
    print(f"{'name':40} {'kind':8} {'params':>8} {'availability':12} note")
    for e in rows:
        print(f"{e.name:40} {e.kind:8} {_fmt_params(e.parameters):>8} {e.availability:12} {e.note}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from core.errors import StudioError
    from core.models.families import named
    from core.models.locations import HUB_ID, local_cache_dir
    from core.models.obtain import fetch_hub_model
    from core.progress import Bar, say

    raw = named("nanochat").checkpoints
    src = Path(args.src).expanduser()
    if src.exists():
        if not raw.is_raw_nanochat(src):
            raise StudioError(f"{src} is not a raw nanochat checkpoint folder (no model_<step>.pt, or it already "
                              "has a config.json).")
        out = Path(args.out) if args.out else local_cache_dir(src)
        ckpt = raw.local_checkpoint(src, args.stage, args.step)
        say(f"Converting {ckpt.model} (step {ckpt.step}) ...")
        with Bar("converting", total=len(raw.CONVERT_STAGES), unit="stage") as bar:
            done = raw.convert_checkpoint(src, out, ckpt=ckpt, source=str(src.resolve()), dtype=args.dtype,
                                          overwrite=args.overwrite or not args.out,
                                          on_stage=lambda name: bar.set(raw.CONVERT_STAGES.index(name), postfix=name))
            bar.set(len(raw.CONVERT_STAGES), postfix="done")
    elif HUB_ID.match(args.src):
        cached = fetch_hub_model(args.src, stage=args.stage, step=args.step, progress=say)
        done = cached
        if args.out:
            import shutil

            from core.files import atomic_dir

            with atomic_dir(Path(args.out), overwrite=args.overwrite) as tmp:
                shutil.copytree(cached, tmp, dirs_exist_ok=True)
            done = Path(args.out)
    else:
        raise StudioError(f"{args.src} is neither an existing folder nor a Hub repo id (owner/name).")
    print(done)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from core.models.importing import import_gguf
    from core.models.locations import register_local
    from core.progress import say

    out = import_gguf(Path(args.file).expanduser(), Path(args.out).expanduser(), overwrite=args.overwrite,
                      progress=say)
    register_local(out)  # listed in the catalogue and usable by its path
    print(out)
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from core.models.obtain import resolve_model
    from core.progress import say

    print(resolve_model(args.name, progress=say))
    return 0


def cmd_tiny(args: argparse.Namespace) -> int:
    from core.data.sources import load_source, source_splits
    from core.files import check_output
    from core.models.locations import tiny_dir
    from core.models.tiny import create_tiny

    out = check_output(Path(args.out), folder=True) if args.out else tiny_dir()
    split = "train" if "train" in source_splits(args.data) else None
    questions = load_source(args.data, split=split)
    create_tiny(questions, out, size=args.size, seed=args.seed, source=f"{args.data}:{split or 'all'}",
                overwrite=args.overwrite or not args.out)
    print(out)
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    from core.models.devices import pick_device
    from core.models.loading import check_model_config
    from core.models.memory import GiB, ModelShape, TrainSetup, estimate_inference, estimate_training
    from core.models.obtain import resolve_model

    folder = resolve_model(args.model)
    check_model_config(folder)
    shape = ModelShape.from_folder(folder)
    setup = TrainSetup(batch=args.batch, seq_len=args.seq_len, dtype=args.dtype, optimizer=args.optimizer,
                       grad_checkpointing=args.grad_ckpt, lora=args.lora, lora_rank=args.lora_rank)
    cuda = pick_device(args.device).type == "cuda"
    train = estimate_training(shape, setup, cuda=cuda)
    infer = estimate_inference(shape, batch=args.batch, seq_len=args.seq_len, dtype=args.dtype, cuda=cuda)
    print(f"model {args.model}: {shape.parameters:,} parameters, trainable {train.trainable:,}")
    print("| component | training GiB | inference GiB |\n|---|---:|---:|")
    for key in dict.fromkeys([*train.parts, *infer.parts]):
        t, i = train.parts.get(key), infer.parts.get(key)
        print(f"| {key} | {'' if t is None else f'{t / GiB:.3f}'} | {'' if i is None else f'{i / GiB:.3f}'} |")
    print(f"| **total** | **{train.total / GiB:.3f}** | **{infer.total / GiB:.3f}** |")
    return 0
