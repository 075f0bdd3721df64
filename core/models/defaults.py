"""Which model each page proposes on a fresh start, so the first thing a teacher sees is the product:
a pretrained chat model (the `smollm2-135m` preset), fine-tuned, compared with its base, tutoring.

- Train: the pretrained preset where its package is installed, else `tiny`.
- Compare: the preset against the newest run trained from it; else the newest run against its base.
- Tutor: the newest run fine-tuned from a pretrained model; else the preset; never a model trained from
  scratch unless the user picks it (or nothing else is here).
What a run was trained from, and whether that was pretrained, is read from its model's manifest.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.home import area
from core.models.manifest import Manifest, read_manifest

PRESET = "smollm2-135m"


def default_base_model() -> str:
    """The model a new run starts from: the pretrained preset where it is installed or imported, else tiny."""
    from core.models.locations import is_ready, preset_dir
    from core.models.presets import PRESETS, preset_file

    preset = PRESETS[PRESET]
    return PRESET if is_ready(preset_dir(PRESET)) or preset_file(preset) is not None else "tiny"


def finished_runs() -> Iterator[tuple[str, str, Manifest | None]]:
    """(run:<id>, the model it was trained from, its model's manifest) for runs with a final model, newest first."""
    from core.jobs import runs

    for run in runs.list_runs(area("runs")):
        if run.model_path is None:
            continue
        manifest = read_manifest(run.model_path)
        base = (manifest.base_model if manifest and manifest.base_model else None) or str(run.config.get("model", ""))
        yield f"run:{run.name}", base, manifest


def compare_pair(names: list[str]) -> tuple[str, str | None]:
    """(base, fine-tuned) for the Compare page; the fine-tuned one is None before any run has finished (never
    a model that is not fine-tuned, such as a tiny model not even created yet)."""
    base = default_base_model()
    newest = None
    for run, trained_from, _ in finished_runs():
        if trained_from == base:
            return base, run
        newest = newest or (trained_from, run)
    if newest and newest[0]:
        return newest
    return base, newest[1] if newest else None


def tutor_model(names: list[str]) -> str:
    """The model the Tutor page starts with."""
    for run, _, manifest in finished_runs():
        if manifest is not None and manifest.pretrained and run in names:
            return run
    base = default_base_model()
    if base != "tiny":
        return base
    return next((run for run, _, _ in finished_runs() if run in names), "tiny")
