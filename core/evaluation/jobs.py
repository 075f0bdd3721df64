"""Evaluation as a background job, and the cache that makes a result open instantly the second time.

A job is a job folder (core.jobs.runs) under area("evals"): config.json holds the `EvalRequest`, the worker
(`python -m core.evaluation.jobs RUN_DIR`) writes status.json (step/total = questions scored) and, when done,
results.json ({request, key, summary, result}). The cache key is (model identity: folder + its weight
files' size and mtime; data content hash; prompt format; method; the settings that change answers);
area("cache")/evals/<key>.json points at the job folder that holds the result. Its states (queued, running,
done, failed, stopped) are written by core.jobs.runner, like every job's.

    python -m core.evaluation.jobs RUN_DIR          # the worker (launched by `start_eval`)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core import access
from core.data.prompts import DEFAULT_FORMAT, get_format
from core.data.records import Question, content_hash
from core.errors import StudioError
from core.evaluation import methods
from core.evaluation.scoring import EvalResult, EvalSettings, evaluate
from core.files import read_json, write_json_atomic
from core.home import area
from core.jobs import kinds, runner, runs
from core.models import locations, obtain
from core.progress import Bar
from core.progress import say as say_progress

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
# Everything else in a model folder that changes answers: hashed by content (they are small).
ANSWER_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "added_tokens.json", "chat_template.jinja", "chat_template.json",
                "tokenizer.model", "vocab.json", "merges.txt", "tokenizer.pkl", "model.safetensors.index.json")


@dataclass
class EvalRequest:
    model: str  # a catalogue name: tiny, a Hub id, a folder, run:<id>
    data: str  # a source spec (core.data.sources): sample, hub, a folder, a file, subset:NAME
    split: str | None = None
    method: str = "categorical"
    fmt: str = DEFAULT_FORMAT
    limit: int | None = None  # the first N questions only
    batch_size: int = 16
    max_new_tokens: int = 48
    seed: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        methods.get_method(self.method)  # a ValueError names the methods there are
        get_format(self.fmt)
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be at least 1 (or None for every question)")
        self.split = self.split or None
        if self.device not in (None, "", "auto", "cpu", "cuda", "mps") and not re.fullmatch(r"cuda:\d+", str(self.device)):
            raise ValueError(f"device must be cpu, cuda, cuda:N or mps, not {self.device!r}")
        EvalSettings(batch_size=self.batch_size, max_new_tokens=self.max_new_tokens, seed=self.seed)

    def settings(self) -> EvalSettings:
        return EvalSettings(batch_size=self.batch_size, max_new_tokens=self.max_new_tokens, seed=self.seed)


@dataclass
class EvalJob:
    run_dir: Path
    key: str | None
    cached: bool  # the result was already there: nothing was launched


# ---- identities and the cache ----------------------------------------------------------------------

def model_identity(folder: Path) -> str:
    """The model folder, its weight files' names, sizes and modification times, and the content of every
    other file that changes answers (config, tokenizer files, chat template)."""
    folder = Path(folder).resolve()
    parts = [str(folder)]
    for f in sorted(folder.iterdir()):
        if f.suffix in WEIGHT_SUFFIXES:
            st = f.stat()
            parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
        elif f.name in ANSWER_FILES and f.is_file():
            parts.append(f"{f.name}:{hashlib.sha256(f.read_bytes()).hexdigest()[:16]}")
    return "|".join(parts)


def cache_key(identity: str, data_hash: str, req: EvalRequest) -> str:
    answers_depend_on = {"model": identity, "data": data_hash, "fmt": req.fmt, "method": req.method,
                         **methods.get_method(req.method).cache_key_part(req)}
    return hashlib.sha256(json.dumps(answers_depend_on, sort_keys=True).encode()).hexdigest()[:20]


def select_questions(req: EvalRequest) -> list[Question]:
    from core.data.sources import load_source

    questions = load_source(req.data, req.split)
    questions = questions[: req.limit] if req.limit else questions
    if not questions:
        raise StudioError(f"No questions in {req.data}" + (f" (split {req.split})" if req.split else "") + ".")
    return questions


def _pointer(key: str) -> Path:
    return area("cache") / "evals" / f"{key}.json"


def request_key(req: EvalRequest, questions: list[Question] | None = None) -> str | None:
    """The cache key of a request, or None while its model is not here yet (it cannot be identified)."""
    folder = locations.local_model_folder(req.model)
    if folder is None:
        return None
    return cache_key(model_identity(folder), content_hash(questions or select_questions(req)), req)


def find_cached(req: EvalRequest, questions: list[Question] | None = None) -> Path | None:
    """The job folder holding this request's result, or None (also None while the model is not local)."""
    key = request_key(req, questions)
    return _lookup(key) if key else None


def _lookup(key: str) -> Path | None:
    pointer = _pointer(key)
    if not pointer.exists():
        return None
    try:  # an untrusted file: damaged, or pointing outside the evaluations area, it is no hit
        run_dir = Path(read_json(pointer)["run_dir"]).resolve()
    except (StudioError, KeyError, TypeError, OSError):
        return None
    if not run_dir.is_relative_to(area("evals").resolve()):
        return None
    return run_dir if runs.has_results(run_dir) else None


def find_running(req: EvalRequest, questions: list[Question] | None = None) -> Path | None:
    """The job folder of the same evaluation still queued or running (to re-attach after a page reload)."""
    key = request_key(req, questions)
    return _find_active(key) if key else None


def _find_active(key: str) -> Path | None:
    for job in runs.list_runs(area("evals")):
        if job.config.get("key") == key and job.status.active:
            return job.run_dir
    return None


def load_for_eval(name: str, device: str | None = None):
    """Resolve a catalogue name and load it; running out of memory becomes a StudioError with a hint."""
    import torch

    from core.models.loading import load_model
    from core.models.obtain import resolve_model

    try:
        return load_model(resolve_model(name), device=device)
    except torch.OutOfMemoryError as e:
        raise StudioError(f"{name} does not fit in memory on this device ({e}). Pick a smaller model or free "
                          "the device (stop a training run).") from e


def load_results(run_dir: Path) -> tuple[EvalResult, dict[str, Any]]:
    """(result, summary) of a finished job."""
    data = runs.read_results(run_dir)
    return EvalResult.from_dict(data["result"]), data["summary"]


# ---- launching -------------------------------------------------------------------------------------

def start_eval(req: EvalRequest, questions: list[Question] | None = None,
               actor: access.Actor | None = None, spend: bool = True) -> EvalJob:
    """Use the cached result, attach to the same evaluation already running, or launch a new job.

    In public mode a visitor may evaluate only models and data already offered, a few new ones an hour.
    """
    from core.data.sources import check_source

    check_source(req.data, actor)
    locations.check_model_name(req.model, actor)
    if req.device not in (None, "", "auto"):
        access.require(actor, "Choosing the device")
    key = request_key(req, questions)
    if key is not None:
        if (hit := _lookup(key)) is not None:
            return EvalJob(hit, key, cached=True)
        if (running := _find_active(key)) is not None:
            return EvalJob(running, key, cached=False)
    else:
        access.require(actor, f"Evaluating {req.model}, which is not downloaded yet,")
    if spend:  # False: the caller spent the visitor's budget for a whole request (core.evaluation.comparison)
        access.spend(actor, "evaluation")
    run_dir = runs.create_run(area("evals"), {"kind": "eval", "request": asdict(req), "key": key},
                              name=time.strftime("%Y%m%d-%H%M%S") + f"-{req.method}")
    runner.launch(run_dir, runner.module_argv("core.evaluation.jobs", run_dir))
    return EvalJob(run_dir, key, cached=False)


def _submit(req: EvalRequest, name: str | None, actor: access.Actor | None) -> kinds.Submitted:
    job = start_eval(req, actor=actor)
    return kinds.Submitted(job.run_dir, "eval", reused=job.cached)


kinds.register("eval", EvalRequest, _submit)  # submit(EvalRequest): the cached result, the same job running, or a new one


def run_eval(req: EvalRequest, use_cache: bool = True) -> tuple[Path, bool]:
    """Evaluate in this process (the command line): (job folder with results.json, whether cached).

    Every input is checked before the device is waited for (data, model, device); when another job holds
    the device it says so at once on stderr."""
    from core.models.devices import pick_device

    questions = select_questions(req)
    if use_cache and (hit := find_cached(req, questions)) is not None:
        return hit, True
    pick_device(req.device)  # an unavailable device fails now, not after the wait
    folder = obtain.resolve_model(req.model, progress=lambda m: print(m, file=sys.stderr, flush=True))
    from core.models.loading import check_model_config

    check_model_config(folder)  # a nonsensical config fails now, in one line
    if holder := runs.device_holder():
        print(f"waiting for the device, in use by {holder}", file=sys.stderr, flush=True)
    run_dir = runs.create_run(area("evals"), {"kind": "eval", "request": asdict(req), "key": None},
                              name=time.strftime("%Y%m%d-%H%M%S") + f"-{req.method}")
    code = run_job(run_dir, echo=True)
    if code == runner.EXIT_INTERRUPTED:
        raise KeyboardInterrupt  # Ctrl-C: the job is recorded `stopped`; the command exits 130
    if code != 0:
        raise StudioError(runs.read_status(run_dir).error or f"the evaluation in {run_dir} failed")
    return run_dir, False


# ---- the worker ------------------------------------------------------------------------------------

def run_job(run_dir: Path, echo: bool = False) -> int:
    """Do the evaluation a job folder asks for, its states written by the runner (core.jobs.runner): returns
    0 when done or stopped by request, 130 when interrupted (Ctrl-C, SIGTERM), 1 when it failed."""
    from core.evaluation.reports import summarize
    from core.models.loading import load_model
    from core.models.obtain import resolve_model

    run_dir = Path(run_dir)
    try:
        req = EvalRequest(**runs.read_config(run_dir)["request"])
    except (KeyError, TypeError, ValueError, StudioError) as e:
        runner.end(run_dir, "failed", pid=os.getpid(), error=f"Invalid config: {e}")
        return 1

    bar: Bar | None = None  # echo (the command line): count, rate and ETA on stderr (core.progress)

    def work(job: runner.Job) -> None:
        def say(message: str) -> None:
            job.say(message)
            if echo:
                say_progress(message)

        def progress(done: int, total: int) -> None:
            nonlocal bar
            job.check_stop()
            job.report(step=done, total=total, message=f"{done}/{total} questions")
            if echo:
                bar = bar or Bar(f"evaluating ({req.method})", total=total, unit="question")
                bar.set(done, total)

        questions = select_questions(req)
        folder = resolve_model(req.model, progress=say)
        key = cache_key(model_identity(folder), content_hash(questions), req)
        say(f"loading {folder.name}")
        loaded = load_model(folder, device=req.device)
        job.report(step=0, total=len(questions), message="evaluating")
        result = evaluate(loaded, questions, req.fmt, req.method, progress=progress, settings=req.settings())
        runs.write_results(run_dir, {"request": asdict(req), "key": key, "summary": summarize(result, req.split),
                                     "result": result.to_dict()})
        write_json_atomic(_pointer(key), {"run_dir": str(run_dir.resolve())})
        job.final.update(step=len(questions), total=len(questions), key=key, accuracy=result.accuracy)

    try:
        return runner.run(run_dir, work, holder=f"evaluation {run_dir.name}", message="waiting for the device",
                          quiet_traceback=echo,
                          oom_hint="The model does not fit in memory on this device. Use a smaller model, a smaller "
                                   "batch size, or another device.")
    finally:
        if bar is not None:
            bar.close()


def main(argv: list[str] | None = None) -> int:
    access.act_as_local()  # launched by an entry point that checked who asked
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m core.evaluation.jobs RUN_DIR", file=sys.stderr)
        return 2
    from core.progress import library_bars

    library_bars()  # the job's log.txt is not a terminal: no library bars drawn into it
    return run_job(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main())



def time_estimate(n_questions: int, method: str, models: int = 2) -> float:
    """Rough seconds to evaluate `models` models on `n_questions`: the median pace of this app's finished
    evaluations with the same method (status started/ended over total), else the method's CPU figure."""
    paces = sorted((j.status.ended - j.status.started) / j.status.total for j in runs.list_runs(area("evals"))
                   if j.status.state == "done" and j.status.started and j.status.ended and j.status.total
                   and j.config.get("request", {}).get("method") == method)
    pace = paces[len(paces) // 2] if paces else methods.get_method(method).seconds_per_question
    return pace * n_questions * models
