"""Which model a teacher should use: the one function Home ("Chat with ... and share it") and the Tutor
page's first choice both call, so they always name the same model.

`recommended_model(names)`: among the models offered, those measured (a finished categorical evaluation)
on the same questions, the set of questions that most of them share (the newest set on a tie); the most
accurate there, then the newest. A model at or below chance is still named where nothing better is
measured, but `Pick.below_chance` is set and the note says so. With nothing measured, the old first
choice (core.models.defaults.tutor_model: the newest fine-tuned pretrained model, else the preset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import StudioError
from core.home import area


@dataclass(frozen=True)
class Pick:
    model: str
    accuracy: float | None = None  # measured; None: not evaluated
    chance: float | None = None  # guessing on the same questions
    n: int = 0
    where: str = ""  # "on 478 questions of sample (test)"

    @property
    def below_chance(self) -> bool:
        return self.accuracy is not None and self.chance is not None and self.accuracy <= self.chance

    def note(self) -> str:
        """'45% right on 478 questions of sample (test), guessing gets 43%' (and a warning at or below it)."""
        if self.accuracy is None:
            return "not evaluated yet (Compare page)"
        text = f"{100 * self.accuracy:.0f}% right {self.where}"
        if self.chance is not None:
            text += f", guessing gets {100 * self.chance:.0f}%"
        if self.below_chance:
            text += ": no better than guessing, train it longer or pick another model"
        return text


def _measurements() -> list[dict[str, Any]]:
    """Finished categorical evaluations, newest first: model, data hash, accuracy, chance, n, where, time."""
    from core.jobs import runs

    out = []
    jobs = [j for j in runs.list_runs(area("evals")) if j.status.state == "done"]
    for job in sorted(jobs, key=lambda j: j.created, reverse=True)[:200]:
        req = job.config.get("request") or {}
        if not isinstance(req, dict) or req.get("method", "categorical") != "categorical":
            continue
        try:
            summary = runs.read_results(job.run_dir)["summary"]
            row = {"model": str(req["model"]), "data": str(summary["data_hash"]), "accuracy": float(summary["accuracy"]),
                   "chance": float(summary["chance"]), "n": int(summary["n"]), "created": job.created,
                   "where": f"on {int(summary['n'])} questions of {req.get('data')}"
                            + (f" ({req['split']})" if req.get("split") else "")}
        except (OSError, ValueError, KeyError, TypeError, StudioError):
            continue  # a damaged or foreign job folder says nothing
        out.append(row)
    return out


def recommended_model(names: list[str]) -> Pick:
    """The model to tutor with, from the offered `names` (see the module docstring)."""
    from core.models.defaults import finished_runs, tutor_model

    offered = set(names)
    measured = [m for m in _measurements() if m["model"] in offered]
    if not measured:
        return Pick(tutor_model(names))
    sets: dict[str, dict[str, Any]] = {}  # data hash -> {model: newest measurement}
    for m in measured:  # newest first: the first one of a model on a set is its newest
        sets.setdefault(m["data"], {}).setdefault(m["model"], m)
    newest = {d: max(r["created"] for r in rows.values()) for d, rows in sets.items()}
    best_set = max(sets, key=lambda d: (len(sets[d]), newest[d]))
    recency = {run: -i for i, (run, _, _) in enumerate(finished_runs())}  # newer runs rank higher
    rows = sets[best_set].values()
    top = max(rows, key=lambda r: (r["accuracy"], recency.get(r["model"], -10**6), r["created"]))
    return Pick(top["model"], top["accuracy"], top["chance"], top["n"], top["where"])
