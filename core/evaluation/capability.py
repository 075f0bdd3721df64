"""What a model can do, from facts: how it was made (its manifest), the format it was trained in, what
it measured, and whether its answers are degenerate.

- `trained_format(name)`: the prompt format a model was fine-tuned with here (its manifest's `format`),
  the default wherever that model is evaluated, compared or chatted with; `default_format(name)` falls
  back to the app's default for a model never fine-tuned here.
- `capability_note(name)`: one line for a teacher (Tutor page, class link): pretrained or from scratch,
  trained format (letters only / answer + why / tutor), measured accuracy when an evaluation exists, with
  chance beside it ("45% right on 478 questions, guessing gets 43%").
- `degenerate_note(predictions)`: a model that gives the same letter to nearly every question has learnt
  the answer format, not the questions; said with what to do.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from core.data.prompts import DEFAULT_FORMAT, FORMATS
from core.data.records import LETTERS
from core.errors import StudioError

# What each format teaches, in a teacher's words.
FORMAT_KIND = {"paper": "letters only", "nanochat": "letters only", "paper_ale": "answer + why", "tutor": "tutor"}
FORMAT_CAN = {
    "letters only": "answer multiple-choice questions with a letter, without explaining",
    "answer + why": "answer multiple-choice questions with the letter and why",
    "tutor": "answer multiple-choice questions with the letter and why, and open questions in sentences",
}
DEGENERATE_SHARE = 0.9  # one letter for at least this share of the questions ...
DEGENERATE_EXCESS = 0.25  # ... and this much more often than it is the right answer
DEGENERATE_MIN = 10  # too few questions say nothing


@dataclass(frozen=True)
class Measured:
    accuracy: float
    n: int
    where: str  # "on 478 questions of sample (test)" or "on 100 held-out questions during training"
    chance: float | None = None  # guessing on the same questions, where known


def model_folder(name: str) -> Path | None:
    """The local folder a model name stands for (a run folder means its model), None if not here."""
    from core.models.locations import local_model_folder

    try:
        return local_model_folder(name)
    except (OSError, ValueError):
        return None


def trained_format(name: str) -> str | None:
    """The prompt format `name` was fine-tuned with here, from its manifest; None if never (or unknown)."""
    from core.models.manifest import read_manifest

    m = read_manifest(model_folder(name))
    return m.format if m and m.format in FORMATS else None


def model_family(name: str) -> str | None:
    """The model's family from its manifest ('nanochat', 'llama', ...); None where unknown."""
    from core.models.manifest import read_manifest

    m = read_manifest(model_folder(name))
    return m.family if m else None


def default_format(name: str | None) -> str:
    """The format to evaluate, compare and chat with `name` in: the one it was trained with, else the app's."""
    return (trained_format(name) if name else None) or DEFAULT_FORMAT


def measured(folder: Path) -> Measured | None:
    """The newest categorical accuracy measured for the model in `folder`: a finished evaluation job, else
    (for a run's model) the last evaluation during its training."""
    from core.home import area

    folder = folder.resolve()
    from core.jobs import runs

    for job_dir in runs.finished_results(area("evals"))[:100]:
        try:  # the small config first: only a job of this model has its results read
            req = runs.read_config(job_dir)["request"]
            other = model_folder(str(req["model"]))
            if other is None or other.resolve() != folder or req.get("method", "categorical") != "categorical":
                continue
            summary = runs.read_results(job_dir)["summary"]
            if summary.get("n"):
                split = f" ({req['split']})" if req.get("split") else ""
                chance = summary.get("chance")
                return Measured(float(summary["accuracy"]), int(summary["n"]),
                                f"on {summary['n']} questions of {req['data']}{split}",
                                float(chance) if isinstance(chance, (int, float)) else None)
        except (OSError, ValueError, KeyError, TypeError, StudioError):
            continue  # a damaged or foreign job folder says nothing
    if runs.has_metrics(folder.parent):
        from core.jobs.runs import read_metrics

        evals = [r for r in read_metrics(folder.parent) if isinstance(r.get("eval_accuracy"), (int, float))]
        if evals:
            n = evals[-1].get("eval_n") or evals[-1].get("eval_questions")
            return Measured(float(evals[-1]["eval_accuracy"]), int(n) if isinstance(n, int) else 0,
                            "on held-out questions during training")
    return None


def capability_note(name: str) -> str:
    """One line for a teacher on what the model `name` can do, from its manifest and measurements."""
    from core.models.manifest import read_manifest

    folder = model_folder(name)
    if folder is None:
        return "Not downloaded yet: nothing is known about what it can do."
    m = read_manifest(folder)
    if m is None:
        return "A model from elsewhere (no studio.json): how it was trained is unknown."
    if m.format:
        kind = FORMAT_KIND.get(m.format, m.format)
        origin = "Pretrained chat model fine-tuned here" if m.pretrained else "Model trained from scratch here"
        text = f"{origin} in the {kind} format, which teaches it to {FORMAT_CAN.get(kind, 'answer as it was trained')}"
    elif m.pretrained:
        text = "Pretrained chat model, not fine-tuned on ScienceQA: it answers in its own words, often without a letter"
    else:
        text = "Model trained from scratch, not fine-tuned for the tutor: expect little"
    got = measured(folder)
    if got:
        text += f"; measured {100 * got.accuracy:.0f}% right {got.where}"
        if got.chance is not None:
            text += f", guessing gets {100 * got.chance:.0f}%"
            if got.accuracy <= got.chance:
                text += ": no better than guessing"
    elif m.format or m.pretrained:
        text += "; not evaluated yet (Compare page)"
    return text + "." + (f" {warning}" if (warning := run_warning(folder)) else "")


def run_warning(model_dir) -> str:
    """What a finished training run said about itself when it ended, for the model folder inside it: a run
    too short to learn ("Only 25 optimizer steps: ...", core.training.progress.learning_note, written by
    the worker); '' for any other model. The app home is untrusted and this note reaches the class link,
    so only a plain sentence of that shape is repeated."""
    import re

    from core.jobs import runs

    if model_dir.name != "model" or not (model_dir.parent / "status.json").is_file():
        return ""
    st = runs.read_status(model_dir.parent)
    warning = st.extra.get("warning")
    if st.state != "done" or not isinstance(warning, str):
        return ""
    return warning if re.fullmatch(r"Only \d+ optimizer steps?: [A-Za-z0-9 ,.:'()-]{1,300}", warning) else ""


def degenerate_note(predictions: list) -> str:
    """Why a model's predictions look degenerate (one letter for nearly every question), or ''."""
    answered = [p for p in predictions if p.pred is not None]
    if len(answered) < DEGENERATE_MIN:
        return ""
    letter, count = Counter(p.pred for p in answered).most_common(1)[0]
    share = count / len(answered)
    gold = sum(1 for p in answered if p.gold == letter) / len(answered)
    if share < DEGENERATE_SHARE or share - gold < DEGENERATE_EXCESS:
        return ""
    return (f"Degenerate: it answers ({LETTERS[letter]}) to {100 * share:.0f}% of the questions, though "
            f"({LETTERS[letter]}) is right for {100 * gold:.0f}%: it has learnt the answer format, not the questions. "
            f"Train longer, or lower the learning rate.")
