"""Model work as background jobs: prepare (import a preset, download, convert a nanochat checkpoint, import
a GGUF file), create the tiny model, export to GGUF. The Models page and commands `submit` a ModelRequest
(core.jobs.kinds) and render the job; nothing long runs in the page's script thread.

A job folder under area("model-jobs") holds the request (config.json), status and log (core.jobs.runner
writes its states) and, when done, its result (results.json: the model folder, or the exported files).
The request is checked whole before anything is written (access, the name, a .gguf path, exportability).

    python -m core.models.jobs RUN_DIR          # the worker (launched by `submit`)
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core import access
from core.errors import StudioError
from core.jobs import kinds, runner, runs

ACTIONS = {"prepare": "Preparing a model", "import": "Importing a model file", "tiny": "Creating the tiny model",
           "export": "Exporting a model"}
TINY_SIZES = ("xs", "small", "medium")


@dataclass
class ModelRequest:
    action: str  # prepare (preset, Hub id, folder to convert), import (a .gguf file), tiny, export
    model: str = ""  # the catalogue name (prepare, import, export)
    stage: str | None = None  # a nanochat stage for prepare: sft, rl, mid, base (None: auto)
    size: str = "small"  # tiny
    seed: int = 0  # tiny
    quant: str = "q8_0"  # export

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown model action {self.action!r}; one of {', '.join(ACTIONS)}")
        self.model = str(self.model).strip()
        if self.action != "tiny" and not self.model:
            raise StudioError("Give a model: a Hub repo id, a folder or a file.")
        if self.action == "import" and not self.model.endswith(".gguf"):
            raise StudioError("Give the path of a .gguf file.")
        if self.action == "tiny" and self.size not in TINY_SIZES:
            raise ValueError(f"size must be one of {', '.join(TINY_SIZES)}")
        if self.stage in ("", "auto"):
            self.stage = None

    @property
    def title(self) -> str:
        return {"prepare": f"Preparing {self.model}", "import": f"Importing {self.model}",
                "tiny": f"Creating the tiny model ({self.size})", "export": f"Exporting {self.model}"}[self.action]


def check(req: ModelRequest, actor: access.Actor | None = None) -> None:
    """Everything cheap that would fail in the background: who asks, the name, exportability."""
    from core.models.locations import check_model_name, local_model_folder

    access.require(actor, ACTIONS[req.action])
    if req.action == "tiny":
        return
    check_model_name(req.model, actor)
    if req.action == "export":
        from core.models.export import QUANTS, check_exportable

        if req.quant not in QUANTS:
            raise StudioError(f"Unknown quantisation {req.quant!r}; choose one of {', '.join(QUANTS)}.")
        folder = local_model_folder(req.model)
        if folder is None:
            raise StudioError(f"{req.model} is not on this machine yet: prepare it first.")
        check_exportable(folder)


def _submit(req: ModelRequest, name: str | None, actor: access.Actor | None) -> kinds.Submitted:
    check(req, actor)
    run_dir = runs.create_run(kinds.job_area("model"), {"kind": "model", "request": asdict(req)},
                              name=name or time.strftime("%Y%m%d-%H%M%S") + f"-{req.action}")
    runner.launch(run_dir, runner.module_argv("core.models.jobs", run_dir))
    return kinds.Submitted(run_dir, "model")


kinds.register("model", ModelRequest, _submit)


def latest(action: str | None = None) -> runs.RunInfo | None:
    """The newest model job (of one action), to show the page's current work after a reload."""
    for row in kinds.list_jobs(("model",)):
        if action is None or row.run.config.get("request", {}).get("action") == action:
            return row.run
    return None


def request_of(run_dir: Path) -> ModelRequest:
    return ModelRequest(**runs.read_config(run_dir)["request"])


def result_of(run_dir: Path) -> dict[str, Any]:
    """A done job's result: {"folder": ...} or {"gguf": ..., "modelfile": ...}; {} otherwise."""
    return runs.read_results(run_dir) if runs.has_results(run_dir) else {}


def done_message(run_dir: Path) -> str:
    """What a finished model job made, in one sentence (paths as they are: the page hides them from visitors)."""
    req, result = request_of(run_dir), result_of(run_dir)
    if req.action == "tiny":
        return f"Tiny model ({req.size}) ready in {result.get('folder')}."
    if req.action == "export":
        return f"{Path(result.get('gguf', '')).name} is ready in {Path(result.get('gguf', '')).parent}."
    return f"{req.model} is ready: {result.get('folder')}"


def exportable_first(names: list[str]) -> list[str]:
    """Model names for the export picker: those GGUF export covers first (NanoChat cannot be exported)."""
    from core.models.export import check_exportable
    from core.models.locations import local_model_folder

    def ok(name: str) -> bool:
        try:
            folder = local_model_folder(name)
            return folder is not None and bool(check_exportable(folder) or True)
        except (StudioError, OSError, ValueError):
            return False

    return sorted(names, key=lambda n: not ok(n))


def work(req: ModelRequest, job: runner.Job) -> dict[str, Any]:
    from core.models.obtain import ensure_tiny, resolve_model

    if req.action == "tiny":
        return {"folder": str(ensure_tiny(size=req.size, seed=req.seed, overwrite=True, progress=job.say))}
    folder = resolve_model(req.model, progress=job.say, stage=req.stage)
    if req.action != "export":
        return {"folder": str(folder)}
    from core.models.export import export_to_home

    def progress(done: int, total: int) -> None:
        job.check_stop()
        job.report(step=done, total=total, message="writing tensors")

    result = export_to_home(folder, req.model, req.quant, progress=progress)
    return {"folder": str(folder), "gguf": str(result.gguf), "modelfile": str(result.modelfile)}


def run_job(run_dir: Path) -> int:
    run_dir = Path(run_dir)
    try:
        req = request_of(run_dir)
    except (KeyError, TypeError, ValueError, StudioError) as e:
        runner.end(run_dir, "failed", error=f"Invalid request: {e}")
        return 1

    def job_work(job: runner.Job) -> None:
        job.say(req.title)
        runs.write_results(run_dir, work(req, job))

    return runner.run(run_dir, job_work, holder=f"model {run_dir.name}", device=False, message=req.title)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m core.models.jobs RUN_DIR", file=sys.stderr)
        return 2
    from core.progress import library_bars

    library_bars()  # the job's log.txt is not a terminal: no library bars drawn into it
    access.act_as_local()  # launched by `submit`, which checked who asked
    return run_job(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main())
