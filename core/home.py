"""The app's home folder: where subsets, models, runs and evaluations live.

One environment variable, `SQA_STUDIO_HOME`, moves it (tests point it at a temporary folder);
the default is `.studio/` in the project root, so a fresh clone keeps its state beside itself.
This module owns the top-level layout; each area owns what is inside its folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import StudioError

ENV_VAR = "SQA_STUDIO_HOME"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS = PROJECT_ROOT / "assets"


def home() -> Path:
    """The home folder (created on first use)."""
    path = Path(os.environ.get(ENV_VAR) or PROJECT_ROOT / ".studio").expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StudioError(f"Cannot create the app's home folder {path}: {e.strerror}. "
                          f"Set {ENV_VAR} to a writable folder.") from e
    return path


def area(name: str) -> Path:
    """A top-level area of the home folder: 'subsets', 'models', 'runs', 'evals', 'cache'."""
    path = home() / name
    if path.exists() and not path.is_dir():
        raise StudioError(f"{path} is not a folder: the app keeps its {name} there. Move that file away.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StudioError(f"Cannot create {path}: {e.strerror}.") from e
    return path
