"""Where the app home keeps each model, and which folder a model name stands for.

The cache folders of the tiny model, the presets, Hub downloads and converted local folders; the registry
of local folders used in place; `local_model_folder` (a name -> its folder, if it is here: never downloads,
converts or creates) and `check_model_name` (what a visitor in public mode may name). Listing the models
is core.models.catalogue; getting one onto disk is core.models.obtain.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from core import access
from core.errors import StudioError
from core.files import read_json, write_json_atomic
from core.home import area
from core.jobs import runs
from core.models.presets import PRESETS

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_ready(folder: Path | None) -> bool:
    """A model folder that is complete enough to load (it has its config.json)."""
    return folder is not None and (folder / "config.json").exists()


def run_model(folder: Path) -> Path | None:
    """A training run's folder stands for the run's model: its `model/` folder (None if not a run folder)."""
    if runs.has_status(folder) and (runs.model_dir(folder) / "config.json").exists():
        return runs.model_dir(folder)
    return None


# ---- cache locations -----------------------------------------------------------------------------

def tiny_dir() -> Path:
    return area("models") / "tiny"


def preset_dir(name: str) -> Path:
    return area("models") / "presets" / name


def hub_cache_dir(repo: str) -> Path:
    return area("models") / "hub" / repo.replace("/", "--")


def local_cache_dir(folder: Path) -> Path:
    folder = Path(folder).resolve()
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:8]
    return area("models") / "local" / f"{folder.name}-{digest}"


def registry_path() -> Path:
    """Local transformers-format folders the user pointed at (used in place, listed in the catalogue)."""
    return area("models") / "local_folders.json"


def registered_folders() -> tuple[list[str], str]:
    """(the registered local folders, a problem to report): a damaged registry is reported and skipped."""
    try:
        known = read_json(registry_path()) if registry_path().exists() else []
    except StudioError as e:
        return [], f"The list of local model folders is damaged and was skipped ({e})."
    if not isinstance(known, list) or not all(isinstance(k, str) for k in known):
        return [], "The list of local model folders is damaged (not a list of folders) and was skipped."
    return known, ""


def register_local(folder: Path) -> None:
    folder = folder.resolve()
    inside = (area("models").resolve(), area("runs").resolve())
    if any(folder.is_relative_to(root) for root in inside):
        return
    known, _ = registered_folders()
    if str(folder) not in known:
        write_json_atomic(registry_path(), [*known, str(folder)])


# ---- resolving a name to a folder ----------------------------------------------------------------

def local_model_folder(name: str) -> Path | None:
    """The folder `name` resolves to, if it is already here (never downloads, converts or creates)."""
    name = str(name).strip()
    if name == "tiny":
        path = tiny_dir()
    elif name in PRESETS:
        path = preset_dir(name)
    elif name.startswith("run:"):
        try:
            path = runs.run_model_dir(name)
        except StudioError:
            return None
    elif Path(name).expanduser().exists():
        path = Path(name).expanduser()
        path = run_model(path) or path
        if not is_ready(path):
            path = local_cache_dir(path)
    elif HUB_ID.match(name):
        path = hub_cache_dir(name)
    else:
        return None
    return path if is_ready(path) else None


def check_model_name(name: str, actor: access.Actor | None = None) -> None:
    """Public mode: a visitor may name `tiny`, a preset, a Hub id or run:<id>, never a folder on the server
    (whether what is named may be created or downloaded is checked where that happens)."""
    name = str(name).strip()
    if name == "tiny" or name in PRESETS:
        return
    if runs.run_model_dir(name) is not None:  # a valid run:<id> (a bad id raises)
        return
    if name != "tiny" and (not HUB_ID.match(name) or Path(name).expanduser().exists()):
        access.require(actor, "Using a model folder on the server")
