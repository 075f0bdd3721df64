"""The model catalogue: every model the app can use, where it comes from, and whether it is here.

Lists the models (the tiny and pretrained presets, known Hub checkpoints, converted caches, registered
local folders, finished runs), the names a page offers, and the one name a model is shown by
(`display_name`). Where each model's folder is and what a visitor may name is core.models.locations;
getting a named model onto disk (creating, importing, downloading, converting) is core.models.obtain.

    python -m core model list
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core import access
from core.errors import StudioError
from core.files import read_json
from core.home import area
from core.jobs import runs
from core.models import presets as _presets
from core.models.locations import (
    check_model_name,
    hub_cache_dir,
    is_ready,
    preset_dir,
    registered_folders,
    tiny_dir,
)
from core.models.manifest import Manifest, read_manifest
from core.models.presets import PRESETS, Preset

KINDS = ("hub-raw", "hub-hf", "local", "run", "tiny", "preset")
# installed: shipped by an installed package, imported into the app home on first use (a preset)
AVAILABILITY = ("ready", "cached", "installed", "downloadable", "offline", "missing")
TINY_SOURCE = "sample"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class HubModel:
    repo: str
    kind: str  # 'hub-raw' (nanochat files) or 'hub-hf' (transformers format)
    parameters: int
    note: str
    stage: str | None = None  # which nanochat stage to take where a repo holds several
    shape: dict = field(default_factory=lambda: dict(D20))


D20 = dict(n_layer=20, hidden=1280, n_head=10, n_kv_head=10, vocab=65536, intermediate=5120)
D32 = dict(n_layer=32, hidden=2048, n_head=16, n_kv_head=16, vocab=65536, intermediate=8192)
# All d20 (20 layers, width 1280, 10 heads, vocab 65,536) unless noted; stage = the checkpoint used.
KNOWN_HUB = [
    HubModel("sdobson/nanochat", "hub-raw", 560_988_160, "d20 chat model (base -> mid -> SFT), latest step", "sft"),
    HubModel("sampathchanda/nanochat-d20", "hub-raw", 560_988_160, "d20, chat SFT stage, latest step", "sft"),
    HubModel("SoumilR/nanochat-rl", "hub-raw", 560_988_160, "d20 after RL on GSM8K, latest step", "rl"),
    # its main branch holds raw nanochat files (a transformers copy sits at revision refs/pr/1)
    HubModel("karpathy/nanochat-d32", "hub-raw", 1_879_048_192, "d32 (32 layers, width 2048), raw nanochat files",
             shape=D32),
]


@dataclass
class ModelEntry:
    name: str
    label: str
    kind: str
    source: str
    parameters: int | None
    availability: str
    path: Path | None
    note: str = ""
    size_bytes: int | None = None
    family: str = ""  # core.models.families name ('' where unknown)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind '{self.kind}'")
        if self.availability not in AVAILABILITY:
            raise ValueError(f"unknown availability '{self.availability}'")


def model_shape(entry: ModelEntry):
    """The shape (core.models.memory.ModelShape) of a catalogue entry, without downloading anything."""
    from core.models.memory import ModelShape

    if is_ready(entry.path):
        try:
            return ModelShape.from_folder(entry.path)
        except (StudioError, KeyError, TypeError):
            return None
    if entry.name in PRESETS:
        return ModelShape(**PRESETS[entry.name].shape)
    known = next((m for m in KNOWN_HUB if m.repo == entry.name), None)
    if known is None:
        return None
    return ModelShape(**known.shape)


def nanochat_parameters(n_layer: int, n_embd: int, n_head: int, n_kv_head: int, vocab_size: int,
                        intermediate: int | None = None) -> int:
    """Parameters of a nanochat-shaped model (core.models.memory.ModelShape's defaults)."""
    from core.models.memory import ModelShape

    return ModelShape(n_layer, n_embd, n_head, n_kv_head, vocab_size, intermediate or 4 * n_embd).parameters


def parameters_of(folder: Path) -> int | None:
    """From studio.json, else from config.json (no weights loaded)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is not None and manifest.parameters is not None:
        return manifest.parameters
    if not (folder / "config.json").exists():
        return None
    try:
        c = read_json(folder / "config.json")
    except StudioError:
        return None
    if not isinstance(c, dict):
        return None
    from core.models.memory import ModelShape

    try:
        return ModelShape.from_config(c).parameters
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def size_on_disk(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


# ---- listing -------------------------------------------------------------------------------------

def list_models(check_hub: bool = True) -> list[ModelEntry]:
    """tiny, the known Hub models, converted caches, and finished runs' models."""
    from core.hub import hub_reachable

    online = check_hub and hub_reachable()
    entries = [_tiny_entry(), *(_preset_entry(p) for p in PRESETS.values())]
    known = {m.repo for m in KNOWN_HUB}
    for m in KNOWN_HUB:
        path = hub_cache_dir(m.repo)
        avail = "cached" if is_ready(path) else ("downloadable" if online else "offline")
        entries.append(ModelEntry(
            name=m.repo, label=m.repo, kind=m.kind, source=f"https://huggingface.co/{m.repo}",
            parameters=parameters_of(path) if is_ready(path) else m.parameters, availability=avail,
            path=path if is_ready(path) else None, note=_cached_note(path) or m.note,
            size_bytes=size_on_disk(path) if is_ready(path) else None))
    for sub, kind in (("hub", "hub-raw"), ("local", "local")):
        root = area("models") / sub
        for path in sorted(root.glob("*")) if root.exists() else []:
            if not is_ready(path) or path.name.startswith("."):
                continue
            manifest = read_manifest(path) or Manifest(kind="unknown", source=str(path))
            source = manifest.source or str(path)
            if sub == "hub" and source in known:
                continue
            entries.append(ModelEntry(
                name=source if sub == "hub" else str(path), label=source,
                kind=manifest.get("catalogue_kind") if manifest.get("catalogue_kind") in KINDS else kind, source=source,
                parameters=parameters_of(path), availability="cached" if sub == "hub" else "ready", path=path,
                note=_manifest_note(manifest), size_bytes=size_on_disk(path)))
    for folder in registered_folders()[0]:
        path = Path(folder)
        entries.append(ModelEntry(str(path), path.name, "local", str(path), parameters_of(path) if is_ready(path) else None,
                                  "ready" if is_ready(path) else "missing", path if is_ready(path) else None,
                                  note="local folder (used in place)" if is_ready(path) else "folder no longer exists",
                                  size_bytes=size_on_disk(path) if is_ready(path) else None))
    entries.extend(_run_entries())
    for e in entries:
        e.family = e.family or _family_name(e)
    return entries


def _family_name(entry: ModelEntry) -> str:
    from core.models.families import GENERIC, family_of

    if is_ready(entry.path):
        family = family_of(entry.path)
        return "" if family is GENERIC else family.name
    if entry.name in PRESETS:
        return PRESETS[entry.name].family
    return "nanochat" if entry.kind in ("hub-raw", "tiny") or any(m.repo == entry.name for m in KNOWN_HUB) else ""


def _cached_note(path: Path) -> str:
    manifest = read_manifest(path) if is_ready(path) else None
    return _manifest_note(manifest) if manifest is not None else ""


def _manifest_note(manifest: Manifest) -> str:
    if manifest.kind == "converted":
        return f"converted from nanochat {manifest.get('stage') or 'checkpoint'} step {manifest.get('step')}"
    if manifest.kind == "gguf":
        return f"imported from {manifest.get('source_file') or 'a GGUF file'} (gguf)"
    return manifest.kind if manifest.kind != "unknown" else ""


def _tiny_entry() -> ModelEntry:
    path = tiny_dir()
    if is_ready(path):
        manifest = read_manifest(path)
        spec = manifest.get("spec") if manifest is not None else None
        spec = spec if isinstance(spec, dict) else {}
        return ModelEntry("tiny", "tiny (offline preset)", "tiny", f"trained here on the {TINY_SOURCE} train split",
                          parameters_of(path), "ready", path,
                          note=f"width {spec.get('hidden_size', '?')}, {spec.get('num_layers', '?')} layers",
                          size_bytes=size_on_disk(path))
    return ModelEntry("tiny", "tiny (offline preset)", "tiny", f"trained here on the {TINY_SOURCE} train split",
                      None, "missing", None, note="not created yet; created offline on first use (seconds)")


def _preset_entry(preset: Preset) -> ModelEntry:
    path = preset_dir(preset.name)
    if is_ready(path):
        return ModelEntry(preset.name, preset.label, "preset", preset.source, parameters_of(path), "ready", path,
                          note=f"{preset.note}; licence {preset.licence}", size_bytes=size_on_disk(path))
    file = _presets.preset_file(preset)
    if file is None:
        return ModelEntry(preset.name, preset.label, "preset", preset.source, preset.parameters, "missing", None,
                          note=f"not installed: {preset.install}; licence {preset.licence}")
    return ModelEntry(preset.name, preset.label, "preset", preset.source, preset.parameters, "installed", None,
                      note=f"{preset.note}; licence {preset.licence}; imported on first use (a minute)",
                      size_bytes=file.stat().st_size)


def _run_entries() -> list[ModelEntry]:
    from core.jobs.runs import read_status

    root = area("runs")
    out = []
    for run in sorted(root.iterdir()) if root.exists() else []:
        model = runs.model_dir(run)
        if not run.is_dir() or not is_ready(model):
            continue
        state = read_status(run).state if runs.has_status(run) else "unknown"
        out.append(ModelEntry(f"run:{run.name}", f"run {run.name}", "run", str(run), parameters_of(model),
                              "ready", model, note=f"training run ({state})", size_bytes=size_on_disk(model)))
    return out


def offered_models(actor: access.Actor | None = None) -> list[str]:
    """The names a page offers for evaluation and chat: models here, or prepared by their first use (a
    preset, the tiny model); for a visitor in public mode, never a folder on the server."""
    names = []
    for m in list_models(check_hub=False):
        if m.availability not in ("ready", "cached", "installed") and m.kind != "tiny":
            continue
        try:
            check_model_name(m.name, actor)
        except StudioError:
            continue
        names.append(m.name)
    return names


def tokenizer_folders() -> dict[str, Path]:
    """Model folders with a tokenizer (label -> folder), for the Data page's token view: the catalogue's
    local models, then any other folder of area('models') that holds a tokenizer.json."""
    found: dict[Path, str] = {}  # folder -> label
    for m in list_models(check_hub=False):
        if m.path is not None and (Path(m.path) / "tokenizer.json").exists():
            found.setdefault(Path(m.path).resolve(), m.label or m.name)
    models = area("models")
    for tok in sorted(models.glob("*/tokenizer.json")) + sorted(models.glob("*/*/tokenizer.json")):
        found.setdefault(tok.parent.resolve(), str(tok.parent.relative_to(models)))
    return {label: path for path, label in found.items()}


# ---- the one name a model is shown by --------------------------------------------------------------

def display_name(name: str) -> str:
    """How a model is named on every page (Compare, Many models, Tutor, Models, Home): for a training run
    the name typed on Train with its id, the model it was fine-tuned from and the prompt format,
    "magnets (run:20261206-045636) · from smollm2-135m · tutor format"; any other model by its own name."""
    name = str(name)
    if not name.startswith("run:"):
        return name
    try:
        folder = runs.run_model_dir(name)
    except StudioError:
        return name
    if folder is None:
        return name
    try:
        config = runs.read_config(folder.parent)
    except (StudioError, OSError, ValueError):
        config = {}
    label = str(config.get("label") or "").strip()
    manifest = read_manifest(folder) if is_ready(folder) else None
    base = (manifest.base_model if manifest and manifest.base_model else None) or str(config.get("model") or "")
    fmt = (manifest.format if manifest and manifest.format else None) or str(config.get("format") or "")
    parts = [f"{label} ({name})" if label else name]
    if base:  # a folder on the server is named by its last part only
        parts.append(f"from {Path(base).name if Path(base).is_absolute() else base}")
    if fmt:
        parts.append(f"{fmt} format")
    return " · ".join(parts)
