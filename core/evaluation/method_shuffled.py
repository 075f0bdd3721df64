"""The `shuffled` evaluation method: categorical scoring with every question's options in a fixed seeded
order that differs from the official one. A model that learned which letter is usually right, not the
science, drops here; one that reads the options does not.

The permutation of a question depends only on the seed and its pid (`shuffle_question`); the right
answer moves with its option, so the gold letter of each prediction is the shuffled one.
"""

from __future__ import annotations

import random
from dataclasses import replace

from core.data.records import Question
from core.evaluation.methods import Method, register


def permutation(n: int, key: str) -> list[int]:
    """A seeded order of n options that is never the identity (new position -> old index)."""
    rng = random.Random(key)
    order = list(range(n))
    while order == list(range(n)):
        rng.shuffle(order)
    return order


def shuffle_question(q: Question, seed: int = 0) -> Question:
    """The question with its options in the fixed seeded order for (seed, pid); the answer follows."""
    order = permutation(len(q.choices), f"shuffle:{seed}:{q.pid}")
    return replace(q, choices=[q.choices[i] for i in order], answer=order.index(q.answer))


def run_shuffled(loaded, questions, fmt, settings, progress):
    from core.evaluation.categorical import run_categorical

    return run_categorical(loaded, [shuffle_question(q, settings.seed) for q in questions], fmt, settings, progress)


register(Method("shuffled", "Which choice, with the options shuffled",
                "The same reading with each question's options in another fixed order: a model that learned "
                "letters, not science, drops.", run_shuffled, 0.6,
                cache_key_part=lambda req: {"seed": req.seed}, offered=False))
