"""Getting a named model onto disk, once: a ready transformers folder for core.models.loading.

Names understood by `resolve_model` (each gives a local transformers folder for core.models.loading):
- `tiny`: the offline preset, created on first use from the sample's train split (area("models")/tiny);
- `smollm2-135m` (core.models.presets): a pretrained chat model shipped by a Python package, imported
  once from its GGUF file into area("models")/presets/<name>;
- a `.gguf` file: imported once into area("models")/local/<name>-<hash> (core.models.importing);
- a Hub repo id (`sdobson/nanochat`): raw nanochat files are downloaded (only the chosen step) and
  converted once into area("models")/hub/<owner>--<name>; a repo already in transformers format is
  downloaded and given nanochat's chat template;
- a local folder: transformers format is used as is; a raw nanochat folder is converted once into
  area("models")/local/<name>-<hash>;
- `run:<run_id>`: the final model of a training run, area("runs")/<run_id>/model.
Every folder this module writes carries `studio.json` (what it is, from where, how many parameters).

    python -m core model prepare NAME
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
from collections.abc import Iterator
from pathlib import Path

from core import access
from core.errors import StudioError
from core.files import atomic_dir, read_json, write_json_atomic
from core.jobs import runs
from core.models import catalogue
from core.models import presets as _presets
from core.models.catalogue import KNOWN_HUB, Progress, parameters_of
from core.models.locations import (
    HUB_ID,
    check_model_name,
    hub_cache_dir,
    is_ready,
    local_cache_dir,
    preset_dir,
    register_local,
    run_model,
    tiny_dir,
)
from core.models.manifest import Manifest, read_manifest, write_manifest
from core.models.presets import PRESETS


@contextlib.contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """One builder per cached folder across processes (a page and a training worker may both ask)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released by the OS if this process dies
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def resolve_model(name: str, progress: Progress | None = None, stage: str | None = None,
                  actor: access.Actor | None = None) -> Path:
    """A local transformers-format folder for `name` (creating, downloading or converting it once).

    `stage` picks a nanochat stage (sft, rl, mid, base) in a raw checkpoint holding several; a cached
    conversion of another stage is replaced. A visitor in public mode gets only models already here.
    """
    with access.acting(actor):
        return _resolve_model(name, progress, stage)


def _resolve_model(name: str, progress: Progress | None, stage: str | None) -> Path:
    name = str(name).strip()
    check_model_name(name)
    say = progress or (lambda _msg: None)
    if not name:
        raise StudioError("No model given: use 'tiny', 'smollm2-135m', a Hub repo id, a local folder or run:<id>.")
    if name == "tiny":
        return ensure_tiny(progress=say)
    if name in PRESETS:
        return ensure_preset(name, progress=say)
    model = runs.run_model_dir(name)
    if model is not None:
        if not is_ready(model):
            raise StudioError(f"Run '{name[4:]}' has no final model yet: it may still be training, or it failed.")
        return model
    path = Path(name).expanduser()
    if path.exists():
        return run_model(path) or resolve_local(path, progress=say, stage=stage)
    if HUB_ID.match(name):
        return fetch_hub_model(name, stage=stage, progress=say)
    raise StudioError(f"Unknown model '{name}': not 'tiny', not run:<id>, not an existing folder, "
                      "not a Hub repo id (owner/name).")


def ensure_tiny(size: str = "small", seed: int = 0, progress: Progress | None = None,
                overwrite: bool = False, actor: access.Actor | None = None) -> Path:
    """The tiny preset under area("models")/tiny, created from the sample's train split if absent."""
    from core.data.sources import load_source
    from core.models.tiny import create_tiny

    path = tiny_dir()
    if is_ready(path) and not overwrite:
        return path
    access.require(actor, "Creating the tiny model")
    with _build_lock(path), access.acting(actor):
        if is_ready(path) and not overwrite:
            return path  # another process created it while we waited
        (progress or (lambda _m: None))(f"Creating the tiny model ({size}) from the {catalogue.TINY_SOURCE} train split...")
        questions = load_source(catalogue.TINY_SOURCE, split="train")
        return create_tiny(questions, path, size=size, seed=seed, source=f"{catalogue.TINY_SOURCE}:train", overwrite=True)


def ensure_preset(name: str, progress: Progress | None = None) -> Path:
    """The preset's folder under area("models")/presets, imported from its package's GGUF file if absent."""
    from core.models.importing import import_gguf

    preset = PRESETS[name]
    path = preset_dir(name)
    if is_ready(path):
        return path
    access.require(None, f"Importing {preset.label.split(' (')[0]}")
    file = _presets.preset_file(preset)
    if file is None:
        raise StudioError(f"{preset.label.split(' (')[0]} is not installed: run `{preset.install}`.")
    with _build_lock(path):
        if is_ready(path):
            return path
        (progress or (lambda _m: None))(f"Importing {file.name} from {preset.source} (once; about a minute)...")
        return import_gguf(file, path, source=preset.source, progress=progress, overwrite=True,
                           extra={"preset": name, "licence": preset.licence})


def import_gguf_once(file: Path, progress: Progress | None = None) -> Path:
    """A GGUF file given as a model: imported once into area("models")/local/<name>-<hash>."""
    from core.models.importing import import_gguf

    cached = local_cache_dir(file)
    with _build_lock(cached):
        if is_ready(cached):
            return cached
        (progress or (lambda _m: None))(f"Importing {Path(file).name}...")
        return import_gguf(file, cached, progress=progress, overwrite=True)


def _cached(folder: Path, stage: str | None) -> bool:
    """A finished conversion, of the requested stage if one is requested."""
    if not is_ready(folder):
        return False
    manifest = read_manifest(folder)
    if stage is None or manifest is None:
        return True
    return manifest.get("stage") == stage


def resolve_local(folder: Path, progress: Progress | None = None, stage: str | None = None) -> Path:
    from core.models.families import named

    access.require(None, "Using a model folder on the server")
    nanochat = named("nanochat")
    folder = Path(folder).expanduser()
    if is_ready(folder):
        refuse_remote_code(read_json(folder / "config.json"), str(folder))
        register_local(folder)
        return folder
    if folder.suffix == ".gguf" and folder.is_file():
        return import_gguf_once(folder, progress=progress)
    if not nanochat.checkpoints.is_raw_nanochat(folder):
        raise StudioError(f"{folder} is neither a transformers model folder (config.json) nor a raw nanochat "
                          "checkpoint (model_<step>.pt + meta_<step>.json + tokenizer.pkl).")
    cached = local_cache_dir(folder)
    with _build_lock(cached):
        if _cached(cached, stage):
            return cached
        (progress or (lambda _m: None))(f"Converting the nanochat checkpoint in {folder}...")
        return nanochat.convert(folder, cached, stage=stage, source=str(folder.resolve()), overwrite=True)


def fetch_hub_model(repo: str, stage: str | None = None, step: int | None = None,
                    progress: Progress | None = None) -> Path:
    """Download (only the chosen step's files) and convert a Hub model once; later calls use the cache."""
    from core.hub import require_hub

    cached = hub_cache_dir(repo)
    if _cached(cached, stage):
        return cached
    say = progress or (lambda _m: None)
    access.require(None, f"Downloading {repo}")
    require_hub(f"download {repo}")
    with _build_lock(cached):
        if _cached(cached, stage):
            return cached
        return _download_and_convert(repo, cached, stage, step, say)


def _download_and_convert(repo: str, cached: Path, stage: str | None, step: int | None, say: Progress) -> Path:
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    from core.hub import get_token
    from core.models.families import named
    from core.progress import tqdm_class  # a plain line every few seconds off a terminal, the Hub's bar on one

    nanochat = named("nanochat")
    token = get_token()  # passed to the hub client only; never printed, logged or stored
    prefer = next((m.stage for m in KNOWN_HUB if m.repo == repo), None)
    try:
        files = HfApi().list_repo_files(repo, token=token)
        if "config.json" in files and not any(f.endswith(".pt") for f in files):
            say(f"Downloading {repo} (transformers format)...")
            snap = snapshot_download(repo, token=token, tqdm_class=tqdm_class(), allow_patterns=[
                "*.json", "*.safetensors", "*.jinja", "tokenizer*", "*.txt", "*.model"])
            return adopt_transformers_folder(Path(snap), cached, source=repo)
        ckpt = nanochat.checkpoints.select_checkpoint(files, stage=stage, step=step, prefer=prefer)
        say(f"Downloading {repo}: {', '.join(ckpt.files)}...")
        snap = snapshot_download(repo, token=token, tqdm_class=tqdm_class(), allow_patterns=ckpt.files)
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as e:
        raise StudioError(f"Could not download {repo}: {type(e).__name__}: {str(e).splitlines()[0]}. "
                          "Check the repo id, your connection, and (for private or gated repos) HF_TOKEN.") from e
    say(f"Converting {repo} step {ckpt.step} to transformers format...")
    return nanochat.convert(Path(snap), cached, ckpt=ckpt, source=repo, overwrite=True)


def adopt_transformers_folder(src: Path, out: Path, source: str) -> Path:
    """Cache a transformers-format chat model with its family's chat template and fixes (weights linked,
    not copied). A model no family claims is kept with its own chat template (it must have one)."""
    from transformers import AutoTokenizer

    from core.models.families import GENERIC, family_for_config

    access.require(None, "Importing a model")
    config = read_json(src / "config.json")
    if not isinstance(config, dict):
        raise StudioError(f"{source}: config.json is not a JSON object.")
    refuse_remote_code(config, source)
    family = family_for_config(config)
    tokenizer = AutoTokenizer.from_pretrained(src)
    fixes = family.fix_tokenizer(tokenizer, config) + family.fix_config(config, tokenizer)
    if not tokenizer.chat_template:
        raise StudioError(f"{source} is a '{config.get('model_type')}' model without a chat template, of a family "
                          "this app does not know: it cannot be used as a chat model here.")
    with atomic_dir(out, overwrite=True) as tmp:
        for f in src.iterdir():
            if f.suffix == ".safetensors":
                (tmp / f.name).symlink_to(f.resolve())
            elif f.name == "model.safetensors.index.json":
                shutil.copyfile(f, tmp / f.name)
            elif f.name == "generation_config.json":  # its token ids follow the (fixed) config's
                gen = read_json(f)
                if isinstance(gen, dict):
                    gen.update({k: config[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id")
                                if k in gen and k in config})
                    write_json_atomic(tmp / f.name, gen)
        write_json_atomic(tmp / "config.json", config)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp, Manifest(kind="transformers", source=source,
                                     family=None if family is GENERIC else family.name, pretrained=True,
                                     parameters=parameters_of(src),
                                     extra={"catalogue_kind": "hub-hf", "fixes": fixes}))
    return out


def refuse_remote_code(config: dict, source: str) -> None:
    """A config with `auto_map` asks to run the repository's own Python code: never done here."""
    if isinstance(config, dict) and config.get("auto_map"):
        raise StudioError(f"{source} needs its own Python code to load (auto_map / trust_remote_code); "
                          "this app never runs code from a model repository.")
