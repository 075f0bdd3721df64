"""Is a run learning the science or only which answer letter is common? The figures that tell.

A multiple-choice model can lower its loss a long way by learning the letter prior alone (ScienceQA's
base models answer "A" on most questions; a fine-tune first learns the gold letters' frequencies). So
training logs the loss on the answer letter alone (`answer_loss`, core.training.batching) and the
evaluation the share of its most common predicted letter, and both are read against two lines computed
from the run's own questions:

- `guessing_loss`: a uniform guess among each question's letters (the mean of ln(number of choices));
- `prior_loss`: the best a model that knows only the letters' frequencies (per number of choices) can do
  on these questions. With shuffled options every letter is equally likely, so this is the guessing line.

A letter loss that stays near these lines, or one letter taking most answers, means the model is
guessing from letter frequency (`letter_warning`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from core.data.records import LETTERS, Question

WARN_SHARE = 0.5  # one letter answers more than half the questions ...
WARN_EXCESS = 0.1  # ... and at least this much more often than it is right on them
GUESSING_WARNING = ("The model is still guessing from letter frequency: {letter} is its answer to {share:.0%} of the "
                    "evaluation questions but right on {gold:.0%}. Keep training or lower the rate.")


def guessing_loss(questions: Sequence[Question]) -> float | None:
    """Mean loss (nats) of a uniform guess among each question's letters."""
    return sum(math.log(len(q.choices)) for q in questions) / len(questions) if questions else None


def prior_loss(questions: Sequence[Question], shuffled: bool = False) -> float | None:
    """Mean loss of the letter prior fitted to these questions (the gold letter's frequency among the
    questions with the same number of choices): what learning letters alone can reach. With shuffled
    options the prior a run can learn is uniform: the guessing line."""
    if not questions or shuffled:
        return guessing_loss(questions)
    counts = Counter((len(q.choices), q.answer) for q in questions)
    per_n = Counter(len(q.choices) for q in questions)
    return -sum(math.log(counts[len(q.choices), q.answer] / per_n[len(q.choices)]) for q in questions) / len(questions)


def top_letter(preds: Iterable[int | None], golds: Iterable[int]) -> tuple[str, float, float] | None:
    """(the most common predicted letter, its share of the answers, the share of questions where it is
    the right one); None without predictions."""
    preds, golds = list(preds), list(golds)
    counts = Counter(p for p in preds if p is not None)
    if not counts:
        return None
    index, n = counts.most_common(1)[0]
    return LETTERS[index], n / len(preds), sum(g == index for g in golds) / len(golds)


def letter_warning(share: float | None, gold_share: float | None, letter: str = "one letter") -> str | None:
    """A plain sentence while one letter takes most answers, far more often than it is right; else None."""
    if share is None or gold_share is None:
        return None
    if share > WARN_SHARE and share - gold_share >= WARN_EXCESS:
        return GUESSING_WARNING.format(letter=letter, share=share, gold=gold_share)
    return None


def history_warning(hist: list[dict]) -> str | None:
    """The warning for a run's newest evaluation record (metrics.jsonl), if it calls for one."""
    last = next((r for r in reversed(hist) if isinstance(r.get("eval_top_letter_share"), (int, float))), None)
    gold = last.get("eval_top_letter_gold_share") if last else None
    if last is None or not isinstance(gold, (int, float)):  # metrics.jsonl is untrusted: numbers only
        return None
    letter = last.get("eval_top_letter")
    return letter_warning(last["eval_top_letter_share"], gold, letter if letter in tuple(LETTERS) else "one letter")
